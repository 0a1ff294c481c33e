"""Path traversal through uploads. File names are never used (the BPMN's own process id names the
process): a hostile file name is inert — the same file deploys as it would under any name, nothing
new is stored and no file is written. A hostile *process id* (which becomes the key in URLs and
file names) is refused before anything is stored. (Ids with '/' used to be kept as drafts and then
broke /designer/ for everyone with a 500: apps/processes/services.py now refuses them.)

Attachments (inbox) are stored by name, so there a hostile name must come out harmless: the
file lands in its request's own folder under a cleaned name, or the upload is refused as a type
that is not allowed; either way no file appears anywhere else, and the download names it safely.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.inbox.models import TaskAttachment
from tests.e2e.test_task_flow import PROCESS as FORM_PROCESS
from tests.security.conftest import PDF, api_client, page_client
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


ATTACHMENT_NAMES = [name.replace(".bpmn", "") + ".pdf" for name in FILE_NAMES] + [
    ".pdf",
    "con.pdf",
    "a\r\nContent-Type: text/html.pdf",
]


def _api_attach(client, world, name: str):
    upload = SimpleUploadedFile(name, PDF, content_type="application/pdf")
    return client.post(
        f"/api/v1/tasks/{world.approval_task.pk}/attachments/", {"file": upload}, format="multipart"
    )


def _page_attach(client, world, name: str):
    upload = SimpleUploadedFile(name, PDF, content_type="application/pdf")
    return client.post(f"/inbox/tasks/{world.approval_task.pk}/attach/", {"file": upload})


ATTACHERS = {"api": (api_client, _api_attach), "page": (page_client, _page_attach)}


def _all_files() -> set[Path]:
    """Every file under the media folder, and anything named like a traversal's target nearby."""
    media = Path(settings.MEDIA_ROOT)
    found = {p.resolve() for p in media.rglob("*") if p.is_file()} if media.exists() else set()
    roots = [Path(settings.VAR_DIR), Path(settings.BASE_DIR), Path("/tmp"), Path("/etc")]
    for root in roots:
        for pattern in ("*passwd*.pdf", "*win.ini*", "*authorized_keys*"):
            found |= {p.resolve() for p in root.glob(pattern)}
    return found


@pytest.mark.parametrize("via", ATTACHERS)
@pytest.mark.parametrize("name", ATTACHMENT_NAMES, ids=range(len(ATTACHMENT_NAMES)))
def test_hostile_attachment_name_lands_in_its_request_folder_or_is_refused(world, via, name):
    sign_in, attach = ATTACHERS[via]
    client = sign_in(world.people.alex)  # a candidate approver: allowed to attach
    folder = (Path(settings.MEDIA_ROOT) / "attachments" / str(world.approval.pk)).resolve()
    before = _all_files()
    with unchanged(attachments=..., audit_events=..., audit_pending=...):
        response = attach(client, world, name)
    new = _all_files() - before
    assert all(path.parent == folder for path in new), new
    stored = TaskAttachment.objects.exclude(pk=world.receipt.pk)
    if via == "api" and response.status_code == 400:
        refused(response, 400, "file_type")
        assert not new and not stored.exists()
        return
    if via == "api":
        refused(response, 201)
    else:
        refused(response, 302)
    if not stored.exists():  # the page refused it with a message on the task page
        assert not new
        return
    attachment = stored.get()
    for bad in ("/", "\\", "\x00", "\r", "\n"):  # a path or a header break; ".." alone is inert
        assert bad not in attachment.name, attachment.name
    assert len(new) == 1
    download = page_client(world.people.alex).get(
        f"/inbox/requests/{world.approval.pk}/files/{attachment.pk}/"
    )
    refused(download, 200)
    disposition = download["Content-Disposition"]
    assert "\r" not in disposition and "\n" not in disposition and "/" not in disposition
    assert b"".join(download.streaming_content) == PDF
