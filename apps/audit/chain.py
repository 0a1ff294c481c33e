"""The canonical encoding and hash of a chain link (pure functions, no database access).

Link ``seq``'s hash is SHA-256 over compact, sorted-key JSON of every stored field of its event
(including the event's ``position``) plus the link's ``seq`` and ``prev_hash``. Values are
normalized *before* they are stored, so what the database gives back encodes to exactly the same
bytes:

- floats with an integral value become ints (PostgreSQL ``jsonb`` prints ``1e16`` as an integer),
  NaN/Infinity become strings (``jsonb`` rejects them);
- NUL characters in strings are replaced (``jsonb`` rejects them);
- anything that is not JSON (dates, decimals, UUIDs, sets ...) becomes its string form.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

GENESIS_HASH = "0" * 64

# The event columns that are hashed, in the order the verifier reads them.
EVENT_FIELDS: tuple[str, ...] = (
    "position",
    "time",
    "actor_kind",
    "actor_id",
    "actor_label",
    "on_behalf_of",
    "action",
    "process_key",
    "version_id",
    "instance_id",
    "task_id",
    "job_id",
    "before",
    "after",
    "data",
    "request_id",
    "client_address",
)
# Everything hashed for one link.
HASHED_FIELDS: tuple[str, ...] = ("seq", *EVENT_FIELDS, "prev_hash")


def normalize_json(value: Any) -> Any:
    """A JSON-safe copy of ``value`` that survives a round trip through jsonb unchanged."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value.is_integer():
            return int(value)
        return value
    if isinstance(value, Mapping):
        return {str(normalize_json(k)): normalize_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normalize_json(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((normalize_json(v) for v in value), key=repr)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return normalize_json(str(value))


def format_time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_encoder = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_bytes(fields: Mapping[str, Any]) -> bytes:
    """The exact bytes that are hashed for one link (``fields`` holds HASHED_FIELDS)."""
    payload = {name: fields[name] for name in HASHED_FIELDS}
    payload["time"] = format_time(payload["time"])
    return _encoder.encode(payload).encode("utf-8")


def event_hash(fields: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_bytes(fields)).hexdigest()
