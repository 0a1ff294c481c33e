"""Per-request / per-job context (request id, instance id) for logs and audit events."""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)
instance_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "instance_id", default=None
)
client_ip_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "client_ip", default=None
)


def new_request_id() -> str:
    return uuid.uuid4().hex


@contextmanager
def bound(*, request_id: str | None = None, instance_id: object | None = None) -> Iterator[None]:
    tokens = []
    if request_id is not None:
        tokens.append((request_id_var, request_id_var.set(request_id)))
    if instance_id is not None:
        tokens.append((instance_id_var, instance_id_var.set(str(instance_id))))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)
