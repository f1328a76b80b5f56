"""Project rules about who may import what, read with `ast` from every .py file of rpl and flows.

The pure core imports no framework; only storage imports the ORM, only the web package (and the demo
that drives it) the web framework and templates, only `flows/` Prefect; and `rpl` reaches `flows`
only through its composition root. Imports inside functions count as much as those at the top.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("rpl", "flows")

PURE = (
    "rpl/claims.py",
    "rpl/claim_details.py",
    "rpl/audit.py",
    "rpl/status.py",
    "rpl/bench.py",
    "rpl/credentials.py",
    "rpl/schema.py",
    "rpl/organisations.py",
    "rpl/accounts.py",
    "rpl/access.py",
    "rpl/passport.py",
    "rpl/verify.py",
    "rpl/dids.py",
    "rpl/keys.py",
    "rpl/multikey.py",
    "rpl/jsonio.py",
    "rpl/obclient.py",
    "rpl/sealing.py",
    "rpl/archive.py",
    "rpl/proofs/",
    "rpl/contexts/",
)
# The composition root turns settings into adapters; it is the one place that may import anything.
COMPOSITION_ROOTS = ("rpl/bootstrap.py", "rpl/cli.py")
# The one module under rpl/ that may import flows (to build the Prefect runner).
FLOWS_GATE = "rpl/bootstrap.py"
# Third-party frameworks, and the only places that may import each.
FRAMEWORK_HOMES: Mapping[str, tuple[str, ...]] = {
    "sqlmodel": ("rpl/storage/",),
    "sqlalchemy": ("rpl/storage/",),
    "fastapi": ("rpl/web/", "rpl/demo.py"),  # the demo drives the real app with TestClient
    "starlette": ("rpl/web/", "rpl/demo.py"),
    "jinja2": ("rpl/web/", "rpl/demo.py", "rpl/mail_templates.py"),  # pages; mail bodies
    "prefect": ("flows/",),
}
# What the pure core must not reach for, framework or not.
NOT_FOR_THE_CORE = (*FRAMEWORK_HOMES, "httpx", "flows", "rpl.storage", "rpl.web", "rpl.services")
# rpl/dids.py holds the did:web network adapter, which imports httpx when it is built.
LAZY_EXCEPTIONS = {("rpl/dids.py", "httpx")}


@dataclass(frozen=True)
class Import:
    module: str  # absolute dotted name
    line: int
    in_function: bool


# --- the scanner ---------------------------------------------------------------------------------


def module_name(path: str) -> str:
    parts = path.removesuffix(".py").split("/")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _absolute(node: ast.ImportFrom, path: str) -> str:
    if not node.level:
        return node.module or ""
    package = module_name(path).split(".")
    if not path.endswith("__init__.py"):
        package = package[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _dynamic_import(node: ast.Call) -> str | None:
    """`importlib.import_module("x")` or `__import__("x")` with a literal name."""
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if name not in ("import_module", "__import__") or not node.args:
        return None
    first = node.args[0]
    return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None


class _Collector(ast.NodeVisitor):
    def __init__(self, path: str) -> None:
        self.path = path
        self.depth = 0
        self.found: list[Import] = []

    def _add(self, module: str, node: ast.AST) -> None:
        self.found.append(Import(module, getattr(node, "lineno", 0), self.depth > 0))

    def _in_function(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _in_function

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = _absolute(node, self.path)
        if node.module:
            self._add(module, node)
        else:  # `from . import x`: each name may be a submodule
            for alias in node.names:
                self._add(f"{module}.{alias.name}", node)

    def visit_Call(self, node: ast.Call) -> None:
        dynamic = _dynamic_import(node)
        if dynamic is not None:
            self._add(dynamic, node)
        self.generic_visit(node)


def imports_in(source: str, path: str) -> list[Import]:
    collector = _Collector(path)
    collector.visit(ast.parse(source, filename=path))
    return collector.found


def project_sources() -> dict[str, str]:
    return {
        str(file.relative_to(ROOT)): file.read_text(encoding="utf-8")
        for package in PACKAGES
        for file in sorted((ROOT / package).rglob("*.py"))
    }


# --- the rules -----------------------------------------------------------------------------------


def _under(path: str, places: tuple[str, ...]) -> bool:
    return any(
        path == place or (place.endswith("/") and path.startswith(place)) for place in places
    )


def _names(module: str, target: str) -> bool:
    return module == target or module.startswith(target + ".")


def _problems(path: str, found: Import) -> Iterator[str]:
    where = f"{path}:{found.line} imports {found.module}"
    if _under(path, PURE):
        for banned in NOT_FOR_THE_CORE:
            lazy_ok = (path, banned) in LAZY_EXCEPTIONS and found.in_function
            if _names(found.module, banned) and not lazy_ok:
                yield f"{where}, but it is part of the pure core"
    if path.startswith("rpl/") and path != FLOWS_GATE and _names(found.module, "flows"):
        yield f"{where}; only the composition root {FLOWS_GATE} may reach flows"
    if _under(path, COMPOSITION_ROOTS):
        return
    for framework, homes in FRAMEWORK_HOMES.items():
        if _names(found.module, framework) and not _under(path, homes):
            yield f"{where}, which only {' and '.join(homes)} may import"


def violations(sources: Mapping[str, str]) -> list[str]:
    found = []
    for path, source in sources.items():
        for imported in imports_in(source, path):
            found += list(dict.fromkeys(_problems(path, imported)))
    return found


# --- the project keeps them ----------------------------------------------------------------------


def test_the_project_keeps_its_import_rules():
    problems = violations(project_sources())
    assert not problems, "import rules broken:\n" + "\n".join(problems)


def test_every_module_named_in_the_rules_exists():
    places = (*PURE, *COMPOSITION_ROOTS, *(h for homes in FRAMEWORK_HOMES.values() for h in homes))
    missing = [place for place in places if not (ROOT / place).exists()]
    assert not missing, f"the rules name modules that are gone: {missing}"


def test_the_scan_reads_the_real_files():
    sources = project_sources()
    assert "rpl/storage/database.py" in sources and "flows/runner.py" in sources
    httpx = [i for i in imports_in(sources["rpl/dids.py"], "rpl/dids.py") if i.module == "httpx"]
    assert httpx and all(i.in_function for i in httpx), "dids.py imports httpx lazily"


# --- the scanner can fail ------------------------------------------------------------------------

SYNTHETIC = """\
import os, fastapi.routing
from sqlmodel import Session
from . import sibling
from ..proofs import jcs

class Thing:
    def method(self):
        import prefect
        from starlette.responses import Response
        return importlib.import_module("jinja2")

async def later():
    import flows.runner
"""


def test_the_scanner_finds_imports_at_any_depth_and_resolves_relative_ones():
    found = imports_in(SYNTHETIC, "rpl/web/thing.py")

    assert [(i.module, i.line, i.in_function) for i in found] == [
        ("os", 1, False),
        ("fastapi.routing", 1, False),
        ("sqlmodel", 2, False),
        ("rpl.web.sibling", 3, False),
        ("rpl.proofs", 4, False),
        ("prefect", 8, True),
        ("starlette.responses", 9, True),
        ("jinja2", 10, True),
        ("flows.runner", 13, True),
    ]


def test_relative_imports_in_a_package_init_resolve_against_the_package():
    found = imports_in("from .dataintegrity import add_proof\n", "rpl/proofs/__init__.py")
    assert found == [Import("rpl.proofs.dataintegrity", 1, False)]


def test_every_broken_rule_is_reported_with_its_file_and_line():
    problems = violations(
        {
            "rpl/claims.py": "def f():\n    import fastapi\n",
            "rpl/dids.py": "import httpx\n",
            "rpl/cli.py": "from flows.runner import PrefectRunner\n",
            "rpl/services/jobs.py": "from flows.runner import PrefectRunner\nimport sqlalchemy\n",
            "flows/runner.py": "from jinja2 import Environment\n",
            "rpl/web/app.py": "import prefect.client\n",
        }
    )

    assert problems == [
        "rpl/claims.py:2 imports fastapi, but it is part of the pure core",
        "rpl/claims.py:2 imports fastapi, which only rpl/web/ and rpl/demo.py may import",
        "rpl/dids.py:1 imports httpx, but it is part of the pure core",
        "rpl/cli.py:1 imports flows.runner; "
        "only the composition root rpl/bootstrap.py may reach flows",
        "rpl/services/jobs.py:1 imports flows.runner; "
        "only the composition root rpl/bootstrap.py may reach flows",
        "rpl/services/jobs.py:2 imports sqlalchemy, which only rpl/storage/ may import",
        "flows/runner.py:1 imports jinja2, which only rpl/web/ and rpl/demo.py and rpl/mail_templates.py may import",
        "rpl/web/app.py:1 imports prefect.client, which only flows/ may import",
    ]


@pytest.mark.parametrize(
    ("path", "source"),
    [
        ("rpl/dids.py", "def adapter():\n    import httpx\n"),
        ("rpl/storage/tables.py", "from sqlmodel import Field\nimport sqlalchemy as sa\n"),
        ("rpl/web/app.py", "from fastapi import FastAPI\nfrom jinja2 import Environment\n"),
        ("rpl/demo.py", "from fastapi.testclient import TestClient\n"),
        ("rpl/bootstrap.py", "from sqlalchemy.engine import Engine\nfrom flows.runner import R\n"),
        ("rpl/cli.py", "import uvicorn\nimport prefect\n"),
        ("flows/attestation.py", "from prefect import flow\nfrom rpl.services import jobs\n"),
    ],
)
def test_what_the_rules_allow_is_not_reported(path: str, source: str):
    assert violations({path: source}) == []
