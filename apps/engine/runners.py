"""Per-process cache of compiled runners: the spec of a version is deserialized once per process.

Versions are immutable; the key is (id, checksum) so that a reused id (a rolled-back transaction
on SQLite) can never pick up another version's runner. The spec text is read only on a miss.

A process with call activities bound to the *latest* version of the called process embeds, at
deploy, the versions deployed then. An instance started after a newer version of a called process
was deployed records which versions it calls (``ProcessInstance.called_versions``); its runner is
compiled once for that combination and cached under it too.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping

from apps.engine import core
from apps.engine.business_calendars import timer_calendar_resolver
from apps.engine.core import ProcessRunner
from apps.processes.limits import engine_limits
from apps.processes.models import ProcessVersion

_CACHE_SIZE = 128
_cache: OrderedDict[tuple, ProcessRunner] = OrderedDict()
_lock = threading.Lock()


def runner_for_version(
    version_id: int, checksum: str, called: Mapping[str, int] | None = None
) -> ProcessRunner:
    """The runner of a version; ``called`` = {called process key: version id} that differ from
    the versions embedded at deploy. Raises ``core.EngineError`` if that combination does not
    compile."""
    key = (version_id, checksum, tuple(sorted(called.items())) if called else ())
    limits = engine_limits()
    with _lock:
        runner = _cache.get(key)
        if runner is not None:
            _cache.move_to_end(key)
            runner.limits = limits  # the settings of now (tests change them)
            return runner
    runner = ProcessRunner(_spec_json(version_id, called), limits=limits)
    runner.business_calendar = timer_calendar_resolver(version_id, checksum)
    with _lock:
        _cache[key] = runner
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return runner


def _spec_json(version_id: int, called: Mapping[str, int] | None) -> str:
    if not called:
        return (
            ProcessVersion.objects.filter(pk=version_id).values_list("spec_json", flat=True).get()
        )
    version = ProcessVersion.objects.select_related("definition").get(pk=version_id)
    chosen = {**(version.metadata.get("called_versions") or {}), **called}
    xml = dict(ProcessVersion.objects.filter(pk__in=chosen.values()).values_list("pk", "xml"))
    try:
        return core.compile_bpmn(
            version.xml,
            process_id=version.definition.key,
            called={key: xml[pk] for key, pk in chosen.items()},
            limits=engine_limits(),
        ).spec_json
    except (core.BpmnValidationError, KeyError) as exc:
        raise core.EngineError(
            f"Process version {version_id} cannot run with the called versions {dict(chosen)}: "
            f"{exc}"
        ) from None


def runner_for(version, called: Mapping[str, int] | None = None) -> ProcessRunner:
    """The runner of a deployed ProcessVersion."""
    return runner_for_version(version.pk, version.checksum, called)
