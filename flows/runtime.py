"""Where a flow finds the application's adapters.

In the embedded default the app hands its own container over (`use`), so flows run in-process against
the same database and keys. A worker process in the distributed set-up has no app: the first flow it
runs builds a container from the `RPL_…` settings in its environment.
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_container: Any = None


def use(container: Any) -> None:
    global _container
    with _lock:
        _container = container


def container() -> Any:
    global _container
    with _lock:
        if _container is None:
            from rpl.bootstrap import bootstrap
            from rpl.config import Settings

            _container = bootstrap(Settings.from_env(), runner="inline")
        return _container
