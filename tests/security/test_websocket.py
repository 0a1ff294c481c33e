"""The live-update websocket through the real ASGI application (origin check, session auth,
routing): without a session, with a forged or dead session, from a foreign origin (and origin
look-alikes), or to an unknown path, the socket is refused before it is accepted.
"""

from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client

from portal.asgi import application
from tests.factories import UserFactory
from tests.inbox.test_live import memory_layer, run_async  # noqa: F401 - fixture and helper
from tests.security.corpus import corpus, observe

pytestmark = [pytest.mark.django_db(transaction=True), corpus("websocket")]

OURS = "http://testserver"
FOREIGN_ORIGINS = [
    "http://evil.example",
    "https://evil.example",
    "null",
    "http://testserver.evil.example",
    "http://evil.example/testserver",
    "http://testserver@evil.example",
    "http://evil-testserver",
    "file://",
    "chrome-extension://abcdefghijklmnop",
    "http://127.0.0.2",
]
# The close code a refused handshake gets: 1000 with no accept (origin), 4401 (no user).
REFUSED_BY_ORIGIN = 1000  # channels' OriginValidator: denied before the consumer runs
NO_USER = 4401


def _connect(*, origin: str | None, cookie: str | None, path: str = "/ws/inbox/"):
    headers = []
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if cookie is not None:
        headers.append((b"cookie", cookie.encode()))

    async def run():
        communicator = WebsocketCommunicator(application, path, headers=headers)
        try:
            connected, code = await communicator.connect(timeout=5)
        finally:
            await communicator.disconnect()
        return connected, code

    return run_async(run)


def _session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


def _assert_refused(result, code: int) -> None:
    connected, close_code = result
    observe(403 if not connected else 101)
    assert (connected, close_code) == (False, code)


def test_without_a_session_from_our_origin():
    _assert_refused(_connect(origin=OURS, cookie=None), NO_USER)


@pytest.mark.parametrize("origin", FOREIGN_ORIGINS)
def test_with_a_valid_session_from_a_foreign_origin(origin):
    cookie = _session_cookie(UserFactory(roles=["approver"]))
    _assert_refused(_connect(origin=origin, cookie=cookie), REFUSED_BY_ORIGIN)


def test_with_a_valid_session_and_no_origin_header():
    cookie = _session_cookie(UserFactory(roles=["approver"]))
    _assert_refused(_connect(origin=None, cookie=cookie), REFUSED_BY_ORIGIN)


def test_without_a_session_from_a_foreign_origin():
    _assert_refused(_connect(origin="http://evil.example", cookie=None), REFUSED_BY_ORIGIN)


@pytest.mark.parametrize(
    "cookie",
    ["sessionid=forged0000000000000000000000000", "sessionid=", "sessionid=../../etc/passwd"],
    ids=["forged", "empty", "traversal"],
)
def test_with_a_forged_session(cookie):
    _assert_refused(_connect(origin=OURS, cookie=cookie), NO_USER)


def test_with_the_session_of_a_deactivated_user():
    user = UserFactory(roles=["approver"])
    cookie = _session_cookie(user)
    user.is_active = False
    user.save(update_fields=["is_active"])
    _assert_refused(_connect(origin=OURS, cookie=cookie), NO_USER)


def test_with_a_session_that_signed_out():
    client = Client()
    client.force_login(UserFactory(roles=["approver"]))
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    client.logout()
    _assert_refused(_connect(origin=OURS, cookie=cookie), NO_USER)


@pytest.mark.corpus("controls")
def test_control_a_valid_session_from_our_origin_is_accepted():
    cookie = _session_cookie(UserFactory(roles=["approver"]))
    assert _connect(origin=OURS, cookie=cookie) == (True, None)
