"""Path traversal through uploads. File names are never used (the BPMN's own process id names the
process): a hostile file name is inert — the same file deploys as it would under any name, nothing
new is stored and no file is written. A hostile *process id* (which becomes the key in URLs and
file names) is refused before anything is stored. (Ids with '/' used to be kept as drafts and then
broke /designer/ for everyone with a 500: apps/processes/services.py now refuses them.)

Attachments (inbox) land in another branch: add their upload endpoint to ``UPLOADERS``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.e2e.test_task_flow import PROCESS as FORM_PROCESS
from tests.security.conftest import api_client, page_client
from tests.security.corpus import corpus, refused, unchanged

pytestmark = [pytest.mark.django_db, corpus("upload path traversal")]

FILE_NAMES = [
    "../../etc/passwd",
    "..\\..\\..\\windows\\win.ini",
    "/etc/passwd",
    "....//....//etc/passwd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "..%c0%af..%c0%afetc%c0%afpasswd",
    "a\x00.bpmn",
    "x" * 5000 + ".bpmn",
    "evil\u202egnp.bpmn",
    "~/.ssh/authorized_keys",
]

PROCESS_IDS = [
    "../../etc/passwd",
    "a/b",
    "..",
    "a\\b",
    "a b",
    "a&quot;b",
    "a;b",
    "a&#10;Set-Cookie: x=1",
    "%2e%2e%2f",
    "x" * 201,
]


def _files() -> set[Path]:
    roots = [Path(settings.VAR_DIR), Path(settings.BASE_DIR) / "media", Path("/tmp")]
    return {p for root in roots if root.exists() for p in root.glob("*passwd*")}


def _api_upload(client, name: str, content: bytes):
    upload = SimpleUploadedFile(name, content, content_type="application/xml")
    return client.post("/api/v1/processes/deploy/", {"file": upload}, format="multipart")


def _page_upload(client, name: str, content: bytes):
    upload = SimpleUploadedFile(name, content, content_type="application/xml")
    return client.post("/designer/upload/", {"file": upload}, follow=True)


# (how to sign in, how to upload); the client is made before the checks (signing in is audited).
UPLOADERS = {"api": (api_client, _api_upload), "page": (page_client, _page_upload)}


@pytest.mark.parametrize("via", UPLOADERS)
@pytest.mark.parametrize("name", FILE_NAMES, ids=range(len(FILE_NAMES)))
def test_hostile_file_name_is_inert(world, via, name):
    sign_in, upload = UPLOADERS[via]
    client = sign_in(world.people.dana)
    before = _files()
    with unchanged():  # the same file as the deployed 'expense': nothing new
        response = upload(client, name, FORM_PROCESS.encode())
    assert _files() == before
    if via == "api":
        refused(response, 200)
        assert response.json()["key"] == "expense"
    else:
        refused(response, 200)
        assert response.redirect_chain[-1][0] == "/designer/expense/"
        assert "Deployed expense version 1." in response.content.decode()


def _with_process_id(process_id: str) -> bytes:
    return FORM_PROCESS.replace('id="expense"', f'id="{process_id}"', 1).encode()


@pytest.mark.parametrize("process_id", PROCESS_IDS, ids=range(len(PROCESS_IDS)))
def test_hostile_process_id_is_refused_before_anything_is_stored_api(world, process_id):
    client = api_client(world.people.dana)
    with unchanged():
        response = _api_upload(client, "p.bpmn", _with_process_id(process_id))
    body = refused(response, 422, "invalid_process_id")
    assert "cannot be a process key" in body["message"]


@pytest.mark.parametrize("process_id", PROCESS_IDS, ids=range(len(PROCESS_IDS)))
def test_hostile_process_id_is_refused_before_anything_is_stored_page(world, process_id):
    client = page_client(world.people.dana)
    with unchanged():
        response = _page_upload(client, "p.bpmn", _with_process_id(process_id))
    refused(response, 200)  # back on the designer list, which still renders, with the message
    assert response.redirect_chain[-1][0] == "/designer/"
    assert "cannot be a process key" in response.content.decode()
