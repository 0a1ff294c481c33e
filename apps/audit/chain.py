"""The canonical encoding and hash of a chain link, and the writer MAC of an event (pure
functions, no database access; the MAC's keys come from apps.audit.keys).

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
import hmac
import json
import math
from collections.abc import Iterable, Mapping
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
# The trace context of the request or step that wrote the event (migration 0007, decision 039).
# Hashed (and covered by the writer MAC) only when set: events written before these columns
# existed, or outside any trace, encode to exactly the bytes they always did, so their links
# still verify; an event that has them cannot lose or change them without breaking its link.
TRACE_FIELDS: tuple[str, ...] = ("trace_id", "span_id")
# Every stored column the hash may cover, in the order the verifier reads them.
STORED_FIELDS: tuple[str, ...] = (*EVENT_FIELDS, *TRACE_FIELDS)


def _with_trace(payload: dict[str, Any], fields: Mapping[str, Any]) -> dict[str, Any]:
    for name in TRACE_FIELDS:
        if fields.get(name):
            payload[name] = fields[name]
    return payload


def normalize_json(value: Any) -> Any:
    """A JSON-safe copy of ``value`` that survives a round trip through jsonb unchanged."""
    # The plain JSON types by exact type first: every audit event goes through here twice
    # (built, then sealed), and these are nearly all it holds.
    kind = type(value)
    if kind is str:
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if value is None or kind is int or kind is bool:
        return value
    if kind is dict:
        return {
            (k if type(k) is str and "\x00" not in k else str(normalize_json(k))): normalize_json(v)
            for k, v in value.items()
        }
    if kind is list:
        return [normalize_json(v) for v in value]
    return _normalize_other(value)


def _normalize_other(value: Any) -> Any:
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


def _time_text(value: dt.datetime | str) -> str:
    """``time`` as hashed; the verifier formats it once for the hash and the MAC."""
    return value if type(value) is str else format_time(value)  # type: ignore[arg-type]


_encoder = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_bytes(fields: Mapping[str, Any]) -> bytes:
    """The exact bytes that are hashed for one link (``fields`` holds HASHED_FIELDS)."""
    payload = _with_trace({name: fields[name] for name in HASHED_FIELDS}, fields)
    payload["time"] = _time_text(payload["time"])
    return _encoder.encode(payload).encode("utf-8")


def event_hash(fields: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_bytes(fields)).hexdigest()


# --- the writer MAC ------------------------------------------------------------------------------

# What the writer MAC covers: every stored field but ``position`` (the database assigns it during
# the INSERT), plus a random nonce stored in the MAC. The nonce makes every MAC unique, so a copy
# of a genuine row is refused by the unique index on ``mac`` (and flagged by verification).
MAC_FIELDS: tuple[str, ...] = EVENT_FIELDS[1:]  # plus TRACE_FIELDS when set


def mac_bytes(fields: Mapping[str, Any], nonce: str) -> bytes:
    """The exact bytes the writer MAC of an event covers."""
    payload = _with_trace({name: fields[name] for name in MAC_FIELDS}, fields)
    payload["time"] = _time_text(payload["time"])
    payload["nonce"] = nonce
    return _encoder.encode(payload).encode("utf-8")


def _digest(secret: bytes, fields: Mapping[str, Any], nonce: str) -> str:
    return hmac.new(secret, mac_bytes(fields, nonce), hashlib.sha256).hexdigest()


def mac_make(fields: Mapping[str, Any], *, key_id: str, secret: bytes, nonce: str) -> str:
    """The stored writer MAC: ``<key id>.<nonce>.<HMAC-SHA256 hex>``."""
    return f"{key_id}.{nonce}.{_digest(secret, fields, nonce)}"


def mac_problem(fields: Mapping[str, Any], mac: str | None, keys: Mapping[str, bytes]) -> str:
    """Why ``mac`` does not prove that Flowgate's writer wrote ``fields`` ("" when it does)."""
    if not mac:
        return "it carries no writer MAC"
    parts = mac.split(".")
    if len(parts) != 3:
        return "its writer MAC is malformed"
    key, nonce, digest = parts
    secret = keys.get(key)
    if secret is None:
        return f"its writer MAC names key {key!r}, which is not in FLOWGATE_AUDIT_KEYS"
    if not hmac.compare_digest(_digest(secret, fields, nonce), digest):
        return "its writer MAC does not match its content"
    return ""


# --- checkpoints of archived stretches of the chain ----------------------------------------------

# What a checkpoint's MAC covers (apps.audit.models.AuditCheckpoint; decision 038).
CHECKPOINT_FIELDS: tuple[str, ...] = (
    "time",
    "up_to_seq",
    "up_to_hash",
    "removed",
    "archived_total",
    "archived_digest",
    "instance_ids",
)
_DIGEST_MODULUS = 1 << 256
EMPTY_DIGEST = "0" * 64


def checkpoint_bytes(fields: Mapping[str, Any]) -> bytes:
    """The exact bytes a checkpoint's MAC covers."""
    payload = {name: fields[name] for name in CHECKPOINT_FIELDS}
    payload["time"] = _time_text(payload["time"])
    payload["kind"] = "flowgate-audit-checkpoint/1"
    return _encoder.encode(payload).encode("utf-8")


def checkpoint_mac_make(fields: Mapping[str, Any], *, key_id: str, secret: bytes) -> str:
    digest = hmac.new(secret, checkpoint_bytes(fields), hashlib.sha256).hexdigest()
    return f"{key_id}.{digest}"


def checkpoint_mac_problem(fields: Mapping[str, Any], mac: str, keys: Mapping[str, bytes]) -> str:
    """Why ``mac`` does not prove that Flowgate wrote the checkpoint ``fields`` ("" if it does)."""
    key, _, digest = (mac or "").partition(".")
    secret = keys.get(key)
    if not digest:
        return "its MAC is missing or malformed"
    if secret is None:
        return f"its MAC names key {key!r}, which is not in FLOWGATE_AUDIT_KEYS"
    expected = hmac.new(secret, checkpoint_bytes(fields), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, digest):
        return "its MAC does not match its content"
    return ""


def archived_digest_add(digest: str, seqs: Iterable[int]) -> str:
    """The set digest of archived chain positions, with ``seqs`` added.

    A sum of SHA-256 values modulo 2**256 (a multiset hash): it can be extended one purge at a
    time, in any order, and the verifier recomputes it from the links whose event is gone. The
    cumulative digest lives in a signed checkpoint, so a different set of missing events with
    the same count (one more deleted, one archived event put back) does not match.
    """
    total = int(digest, 16) + sum(archived_element(seq) for seq in seqs)
    return archived_digest_text(total)


def archived_element(seq: int) -> int:
    """One archived chain position's share of the set digest."""
    return int.from_bytes(hashlib.sha256(b"flowgate-archived-link:%d" % seq).digest())


def archived_digest_text(total: int) -> str:
    return f"{total % _DIGEST_MODULUS:064x}"
