"""The processed-context cache and lock that every use of pyld in rpl shares.

pyld keeps processed contexts in caches that are not thread-safe, and rpl keeps its own cache of
the bundled contexts so that nothing another pyld user put in pyld's process-wide cache can stand
in for them. Both JSON-LD paths (`rpl.proofs.rdfc`, `rpl.proofs.jsonld_compiled`) use this one.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from rpl.contexts import document_loader

DocumentLoader = Callable[[str, dict[str, Any]], dict[str, Any]]


class BoundedCache(OrderedDict[str, Any]):
    """pyld's resolved-context cache, with least recently used entries evicted.

    Bounded because inline contexts are cached too: a stream of hostile documents each with its
    own inline context must not grow memory without limit. Used only under `PYLD_LOCK`.
    """

    def __init__(self, maxsize: int) -> None:
        super().__init__()
        self.maxsize = maxsize

    def get(self, key: str, default: Any = None) -> Any:
        if key not in self:
            return default
        self.move_to_end(key)
        return self[key]

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        if len(self) > self.maxsize:
            self.popitem(last=False)


BUNDLED_CONTEXTS_CACHE = BoundedCache(maxsize=256)
# pyld keeps processed contexts in plain LRU caches inside the resolved contexts we cache, and
# those are not thread-safe; a web server verifying on several threads would otherwise see rare
# spurious KeyErrors. pyld is pure Python, so under the GIL the lock costs no parallelism.
PYLD_LOCK = threading.Lock()


def resolver_cache_for(loader: DocumentLoader) -> BoundedCache:
    # Only the bundled loader shares a cache across calls: its URLs always mean the same
    # documents. Any other loader gets a fresh cache, so two loaders never see each other's.
    return BUNDLED_CONTEXTS_CACHE if loader is document_loader else BoundedCache(maxsize=256)
