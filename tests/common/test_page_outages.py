"""Pages, like the API, answer a full disk with 507 and an unreachable database with 503: a page
that says nothing was saved and renders without the database, never a bare 500.

The fault is injected at the database driver's edge with Django's ``execute_wrapper`` (every query
fails as SQLite or PostgreSQL words it); the chaos suite (tests/chaos) does the same with a real
full disk and a real PostgreSQL restart.
"""

from __future__ import annotations

import contextlib
import errno

import pytest
from django.db import OperationalError, connection
from django.test import Client, RequestFactory

from apps.common.api_errors import server_error
from apps.common.outages import outage_of
from tests.factories import UserFactory

FULL = "database or disk is full"
DOWN = "server closed the connection unexpectedly"


@contextlib.contextmanager
def every_query_fails(message: str):
    def fail(execute, sql, params, many, context):
        raise OperationalError(message)

    with connection.execute_wrapper(fail):
        yield


@pytest.fixture
def signed_in(db):
    client = Client(raise_request_exception=False)
    client.force_login(UserFactory(username="olive", roles=["approver"]))
    return client


@pytest.mark.parametrize(
    ("message", "status", "title"),
    [(FULL, 507, b"storage is full"), (DOWN, 503, b"database is not reachable")],
)
def test_a_page_answers_the_outage_not_500(signed_in, message, status, title):
    with every_query_fails(message):
        response = signed_in.get("/inbox/")
    assert response.status_code == status
    assert title in response.content
    assert b"nothing was saved" in response.content
    assert response["X-Request-ID"].encode() in response.content  # quotable in a report
    if status == 503:
        assert response["Retry-After"] == "5"


def test_a_form_post_on_a_full_disk_is_507_and_saves_nothing(db):
    client = Client(raise_request_exception=False)
    user = UserFactory(username="olive", password="a long enough password 1")
    with every_query_fails(FULL):
        response = client.post(
            "/accounts/login/", {"username": "olive", "password": "a long enough password 1"}
        )
    assert response.status_code == 507
    user.refresh_from_db()
    assert user.last_login is None


def test_the_api_keeps_its_json_shape(signed_in):
    with every_query_fails(DOWN):
        response = signed_in.get("/api/v1/tasks/")
    assert response.status_code == 503
    assert response.json()["error"] == "database_unavailable"


def test_the_500_handler_knows_an_outage_raised_outside_a_view():
    """An outage raised by middleware (saving a session, say) reaches Django's 500 handler."""
    request = RequestFactory().get("/inbox/")
    try:
        raise OperationalError(FULL)
    except OperationalError:
        response = server_error(request)
    assert response.status_code == 507
    api = RequestFactory().post("/api/v1/instances/")
    try:
        raise OperationalError(DOWN)
    except OperationalError:
        response = server_error(api)
    assert (response.status_code, response["Retry-After"]) == (503, "5")


def test_an_ordinary_error_is_still_a_500_page():
    request = RequestFactory().get("/inbox/")
    try:
        raise ValueError("a bug")
    except ValueError:
        response = server_error(request)
    assert response.status_code == 500


def test_classification():
    assert outage_of(OSError(errno.ENOSPC, "No space left on device")).code == "storage_full"
    assert outage_of(OperationalError("disk I/O error")).code == "storage_full"
    assert outage_of(OperationalError("no such table: x")) is None
    assert outage_of(OSError(errno.ENOENT, "gone")) is None


@pytest.mark.postgres_only
def test_a_real_unreachable_postgresql_gives_the_503_page(signed_in, settings):
    """Not injected: the connection is pointed at a port where nothing listens."""
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict["PORT"] = "1"
    try:
        response = signed_in.get("/inbox/")
    finally:
        connection.close()
        connection.settings_dict.update(saved)
    assert response.status_code == 503
    assert b"database is not reachable" in response.content
