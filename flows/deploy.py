"""`python -m flows.deploy [--pool rpl] [--source DIR]`: register rpl's deployments on the Prefect
server named by PREFECT_API_URL, creating the `process` work pool when it is missing.

Run it once per release (again is harmless: deployments are updated in place), then start workers
with `prefect worker start --pool rpl --type process` in an environment holding the app's `RPL_…`
settings. infra/one-machine.sh, infra/compose.yaml and infra/k8s/ do both.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path

from flows.deployments import DEPLOYMENT, PROJECT, register


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m flows.deploy", description=__doc__)
    parser.add_argument(
        "--pool", default=os.environ.get("RPL_WORK_POOL", "rpl"), help="process work pool"
    )
    parser.add_argument(
        "--source", type=Path, default=PROJECT, help="project folder the workers can read"
    )
    args = parser.parse_args(argv)
    ids = asyncio.run(register(args.pool, args.source.resolve()))
    for name, deployment_id in ids.items():
        print(f"{name}/{DEPLOYMENT}\t{deployment_id}\tpool {args.pool}")


if __name__ == "__main__":
    main()
