"""What a deploy tells the layers above it, without importing them.

The engine registers a listener at start-up (``apps.engine.apps``) that replaces the timer-start
schedules of the process with the new version's. Listeners run inside the deploy's transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

VersionListener = Callable[..., Any]
_deployed_listeners: list[VersionListener] = []


def version_deployed_listener_register(listener: VersionListener) -> None:
    """Called once at start-up by each app that reacts to deploys (idempotent)."""
    if listener not in _deployed_listeners:
        _deployed_listeners.append(listener)


def version_deployed(*, version: Any) -> None:
    """Tell the listeners that ``version`` is now deployed. Requires: inside the deploy's
    transaction."""
    for listener in _deployed_listeners:
        listener(version=version)
