"""What a deploy tells the layers above it, without importing them (``apps.common.hooks``).

The engine connects a receiver at start-up (``apps.engine.apps``) that replaces the timer-start
schedules of the process with the new version's.
"""

from __future__ import annotations

from typing import Any

from apps.common.hooks import RAISE, hook


@hook("processes.version_deployed", errors=RAISE)
def version_deployed(*, version: Any) -> object:
    """``version`` is now deployed. Sent inside the deploy's transaction; a receiver's error
    rolls the deploy back."""
