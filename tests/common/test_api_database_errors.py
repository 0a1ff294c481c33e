"""A database that cannot write or cannot be reached answers a specific error, never a bare 500."""

from __future__ import annotations

from django.db import OperationalError

from apps.common.api_errors import exception_handler


def test_a_full_disk_is_507_storage_full():
    response = exception_handler(OperationalError("database or disk is full"), {})
    assert response.status_code == 507
    assert response.data == {
        "error": "storage_full",
        "message": "The server could not write to its storage (the disk is full or failing), so "
        "nothing was saved. Try again later; an administrator must free space.",
        "details": [],
    }


def test_a_failing_disk_is_507_too():
    assert exception_handler(OperationalError("disk I/O error"), {}).status_code == 507


def test_an_unreachable_database_is_503_with_retry_after():
    exc = OperationalError("connection failed: FATAL:  the database system is shutting down")
    response = exception_handler(exc, {})
    assert (response.status_code, response["Retry-After"]) == (503, "5")
    assert response.data["error"] == "database_unavailable"


def test_other_operational_errors_stay_unknown():
    assert exception_handler(OperationalError("no such table: x"), {}) is None
