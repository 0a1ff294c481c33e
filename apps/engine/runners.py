"""Per-process cache of compiled runners: the spec of a version is deserialized once per process."""

from __future__ import annotations

import threading
from collections import OrderedDict

from apps.engine.core import ProcessRunner

_CACHE_SIZE = 128
_cache: OrderedDict[tuple[int, str], ProcessRunner] = OrderedDict()
_lock = threading.Lock()


def runner_for(version) -> ProcessRunner:
    """The runner of a deployed ProcessVersion. Versions are immutable, so caching by id is safe."""
    key = (version.pk, version.checksum)
    with _lock:
        runner = _cache.get(key)
        if runner is not None:
            _cache.move_to_end(key)
            return runner
    runner = ProcessRunner(version.spec_json)
    with _lock:
        _cache[key] = runner
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return runner
