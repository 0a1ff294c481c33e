"""Who may start a process: the model's start restriction, read from a deployed version's XML.

process: flowgate:candidateStarterGroups (or camunda:candidateStarterGroups): roles, comma
         separated; flowgate:candidateStarterUsers (or camunda:...): user names. Neither: anyone
         signed in may start it.

The engine's one start service (``apps.engine.runtime.instances.instance_start``) applies it to
every entry point; the request catalog reads it to list what a user may start. Read once per
version (cached by checksum: the XML of a version never changes).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from apps.engine.core.xml import parse_xml

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
FLOWGATE_NS = "http://flowgate.dev/schema/bpmn/1.0"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"


def _attr(node: Any, name: str) -> str | None:
    value = node.get(f"{{{FLOWGATE_NS}}}{name}")
    return value if value is not None else node.get(f"{{{CAMUNDA_NS}}}{name}")


def _names(text: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


@dataclass(frozen=True)
class StartRestriction:
    groups: tuple[str, ...] = ()
    users: tuple[str, ...] = ()

    @property
    def restricted(self) -> bool:
        return bool(self.groups or self.users)

    def allows(self, *, username: str, roles: set[str]) -> bool:
        if not self.restricted:
            return True
        return username in self.users or bool(roles & set(self.groups))

    def describe(self) -> str:
        parts = []
        if self.groups:
            parts.append("role " + ", ".join(self.groups))
        if self.users:
            parts.append("user " + ", ".join(self.users))
        return " or ".join(parts) or "anyone"


@dataclass(frozen=True)
class StartRestrictions:
    """Several restrictions that must all allow a start (a version's own and its process's
    latest deployed version's)."""

    each: tuple[StartRestriction, ...]

    @property
    def restricted(self) -> bool:
        return any(r.restricted for r in self.each)

    def allows(self, *, username: str, roles: set[str]) -> bool:
        return all(r.allows(username=username, roles=roles) for r in self.each)

    def describe(self) -> str:
        return " and ".join(dict.fromkeys(r.describe() for r in self.each if r.restricted))


def starters_of(process: Any) -> StartRestriction:
    """The start restriction on a parsed ``bpmn:process`` element."""
    return StartRestriction(
        groups=_names(_attr(process, "candidateStarterGroups")),
        users=_names(_attr(process, "candidateStarterUsers")),
    )


@lru_cache(maxsize=512)
def _restriction_for_xml(checksum: str, xml: str, process_key: str) -> StartRestriction:
    del checksum  # the cache key
    root = parse_xml(xml)
    chosen = None
    for process in root.iterfind(f"{{{BPMN_NS}}}process"):
        if process.get("id") == process_key or chosen is None:
            chosen = process
    return StartRestriction() if chosen is None else starters_of(chosen)


def start_restriction(version: Any) -> StartRestriction:
    """The start restriction of a ProcessVersion (``xml``, ``checksum``, ``definition.key``).
    A version whose XML cannot be read counts as restricted to admins: fail closed."""
    try:
        return _restriction_for_xml(version.checksum, version.xml, version.definition.key)
    except Exception:  # noqa: BLE001 - deployed XML parsed before; never start on a doubt
        return StartRestriction(groups=("admin",))
