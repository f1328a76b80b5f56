"""infra/compose.yaml and infra/k8s/ hold together: every reference names something defined, every
rpl process gets the distributed settings, and the tools parse them where they are installed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

INFRA = Path(__file__).resolve().parents[2] / "infra"
K8S = INFRA / "k8s"
RPL_PROCESSES = {"app", "prefect-worker", "dask-worker", "setup"}


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((INFRA / "compose.yaml").read_text()))


def manifests() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == on_disk, "kustomization.yaml must list every manifest file, and only those"
    return [
        doc
        for name in kustomization["resources"]
        for doc in yaml.safe_load_all((K8S / name).read_text())
        if doc
    ]


def test_compose_services_depend_on_services_that_exist_and_share_one_image() -> None:
    services = compose()["services"]
    assert {"postgres", "prefect-server", "dask-scheduler"} | RPL_PROCESSES <= set(services)
    for name, service in services.items():
        for needed in service.get("depends_on", {}):
            assert needed in services, f"{name} depends on unknown service {needed}"
        if name != "postgres":
            assert service["image"] == "rpl:latest"
            assert service["build"]["dockerfile"] == "infra/Dockerfile"
    assert (INFRA / "Dockerfile").is_file() and (INFRA / "postgres-init.sql").is_file()


def test_compose_gives_every_rpl_process_the_distributed_settings() -> None:
    services = compose()["services"]
    for name in RPL_PROCESSES:
        env = services[name]["environment"]
        assert env["RPL_RUNNER"] == "deployments", name
        for setting in ("PREFECT_API_URL", "RPL_DASK_ADDRESS"):
            host = urlparse(env[setting]).hostname
            assert host in services, f"{name}: {setting} names no service ({host})"
        assert "postgres:5432/rpl" in env["RPL_DATABASE_URL"]
    prefect_db = services["prefect-server"]["environment"]["PREFECT_API_DATABASE_CONNECTION_URL"]
    assert prefect_db.startswith("postgresql+asyncpg://") and prefect_db.endswith("/prefect")
    assert "--pool rpl" in " ".join(services["setup"]["command"])
    assert services["prefect-worker"]["command"][1:7] == [
        "worker",
        "start",
        "--pool",
        "rpl",
        "--type",
        "process",
    ]


def _docker_compose() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    return None


def test_docker_compose_accepts_the_file(tmp_path: Path) -> None:
    command = _docker_compose()
    if command is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed")
    env = {"PATH": str(Path(shutil.which(command[0]) or "").parent), "RPL_MASTER_KEY": "k"}
    result = subprocess.run(
        [*command, "-f", str(INFRA / "compose.yaml"), "config", "--quiet"],
        capture_output=True,
        text=True,
        env={**env, "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    # Without the master key it refuses, rather than start workers that cannot sign.
    refused = subprocess.run(
        [*command, "-f", str(INFRA / "compose.yaml"), "config", "--quiet"],
        capture_output=True,
        text=True,
        env={"PATH": env["PATH"], "HOME": str(tmp_path)},
    )
    assert refused.returncode != 0 and "RPL_MASTER_KEY" in refused.stderr


def _workloads(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        d["metadata"]["name"]: d for d in docs if d["kind"] in ("Deployment", "StatefulSet", "Job")
    }


def test_k8s_references_name_objects_that_exist() -> None:
    docs = manifests()
    names = {(d["kind"], d["metadata"]["name"]) for d in docs}
    workloads = _workloads(docs)
    for name, workload in workloads.items():
        pod = workload["spec"]["template"]
        if workload["kind"] != "Job":
            assert (
                workload["spec"]["selector"]["matchLabels"].items()
                <= pod["metadata"]["labels"].items()
            ), name
        for container in pod["spec"]["containers"]:
            for source in container.get("envFrom", []):
                kind = "ConfigMap" if "configMapRef" in source else "Secret"
                ref = source.get("configMapRef") or source["secretRef"]
                assert (kind, ref["name"]) in names, f"{name}: no {kind} {ref['name']}"
            for var in container.get("env", []):
                if "valueFrom" in var:
                    assert ("Secret", var["valueFrom"]["secretKeyRef"]["name"]) in names
        for volume in pod["spec"].get("volumes", []):
            if "persistentVolumeClaim" in volume:
                claim = volume["persistentVolumeClaim"]["claimName"]
                assert ("PersistentVolumeClaim", claim) in names, name
            if "configMap" in volume:
                assert ("ConfigMap", volume["configMap"]["name"]) in names, name


def test_k8s_services_reach_pods_and_ports_that_exist() -> None:
    docs = manifests()
    pods = [w["spec"]["template"] for w in _workloads(docs).values()]
    for service in (d for d in docs if d["kind"] == "Service"):
        selector = service["spec"]["selector"].items()
        matching = [p for p in pods if selector <= p["metadata"]["labels"].items()]
        assert matching, f"service {service['metadata']['name']} selects no pod"
        ports = {
            port["name"]
            for pod in matching
            for container in pod["spec"]["containers"]
            for port in container.get("ports", [])
        }
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in ports, service["metadata"]["name"]


def test_k8s_rpl_processes_get_the_distributed_settings() -> None:
    docs = manifests()
    [config] = [
        d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "rpl-config"
    ]
    services = {d["metadata"]["name"] for d in docs if d["kind"] == "Service"}
    assert config["data"]["RPL_RUNNER"] == "deployments"
    for setting in ("PREFECT_API_URL", "RPL_DASK_ADDRESS"):
        assert urlparse(config["data"][setting]).hostname in services, setting
    workloads = _workloads(docs)
    for name in ("app", "prefect-worker", "dask-worker", "rpl-setup"):
        [container] = workloads[name]["spec"]["template"]["spec"]["containers"]
        assert container["image"] == "rpl"
        refs = {next(iter(s.values()))["name"] for s in container["envFrom"]}
        assert refs == {"rpl-config", "rpl-secrets"}, name
    [secret] = [d for d in docs if d["kind"] == "Secret"]
    assert {"RPL_MASTER_KEY", "RPL_DATABASE_URL", "PREFECT_API_DATABASE_CONNECTION_URL"} <= set(
        secret["stringData"]
    )


def test_kubectl_builds_the_kustomization() -> None:
    if not shutil.which("kubectl"):
        pytest.skip("kubectl is not installed")
    result = subprocess.run(
        ["kubectl", "kustomize", str(K8S)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    kinds = [d["kind"] for d in yaml.safe_load_all(result.stdout) if d]
    assert kinds.count("Deployment") == 5 and "Job" in kinds and "StatefulSet" in kinds
