"""Per-process cache of compiled runners: the spec of a version is deserialized once per process.

Versions are immutable; the key is (id, checksum) so that a reused id (a rolled-back transaction
on SQLite) can never pick up another version's runner. The spec text is read only on a miss.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from apps.engine.core import ProcessRunner

_CACHE_SIZE = 128
_cache: OrderedDict[tuple[int, str], ProcessRunner] = OrderedDict()
_lock = threading.Lock()


def runner_for_version(version_id: int, checksum: str) -> ProcessRunner:
    key = (version_id, checksum)
    with _lock:
        runner = _cache.get(key)
        if runner is not None:
            _cache.move_to_end(key)
            return runner
    from apps.processes.models import ProcessVersion

    spec_json = (
        ProcessVersion.objects.filter(pk=version_id).values_list("spec_json", flat=True).get()
    )
    runner = ProcessRunner(spec_json)
    with _lock:
        _cache[key] = runner
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return runner


def runner_for(version) -> ProcessRunner:
    """The runner of a deployed ProcessVersion."""
    return runner_for_version(version.pk, version.checksum)
