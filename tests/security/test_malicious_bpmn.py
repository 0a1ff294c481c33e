"""Malicious BPMN through the deploy and validate API (JSON body and file upload): XXE, entity
bombs, DOCTYPE, oversize, deep nesting, script tasks and other executable content.

Each is refused with a specific 4xx and leaves no trace: no definition, no version (not even a
draft), no audit event. Payloads that are well-formed BPMN with a forbidden element (script task,
unknown connector) are kept as a *draft* by design (the designer keeps the file to fix it); for
those the test asserts exactly one draft, never a deployed version, and nothing else.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.security.conftest import api_client
from tests.security.corpus import corpus, refused, unchanged

pytestmark = [pytest.mark.django_db, corpus("malicious BPMN")]

HEAD = (
    b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    b'xmlns:flowgate="http://flowgate.dev/schema/bpmn/1.0" id="D" targetNamespace="urn:t">'
)


def process(body: bytes, key: bytes = b"evil") -> bytes:
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        + HEAD
        + b'<bpmn:process id="'
        + key
        + b'" isExecutable="true">'
        + b'<bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>'
        + body
        + b"</bpmn:process></bpmn:definitions>"
    )


def with_doctype(doctype: bytes, text: bytes = b"&x;") -> bytes:
    return (
        b'<?xml version="1.0"?>'
        + doctype
        + HEAD
        + b'<bpmn:process id="evil" name="'
        + text
        + b'" isExecutable="true"/></bpmn:definitions>'
    )


def billion_laughs() -> bytes:
    lines = [b'<!ENTITY x0 "lol">']
    for i in range(1, 10):
        lines.append(b'<!ENTITY x%d "%s">' % (i, b"&x%d;" % (i - 1) * 10))
    return with_doctype(b"<!DOCTYPE d [" + b"".join(lines) + b"]>", b"&x9;")


def deep(depth: int) -> bytes:
    return process(
        b"<bpmn:extensionElements>"
        + b"<a>" * depth
        + b"</a>" * depth
        + b"</bpmn:extensionElements>"
    )


SCRIPT_TASK = process(
    b'<bpmn:scriptTask id="t" scriptFormat="python"><bpmn:incoming>f1</bpmn:incoming>'
    b"<bpmn:script>__import__('os').system('touch /tmp/pwned')</bpmn:script></bpmn:scriptTask>"
    b'<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/>'
)

# (id, payload, expected status, expected error code or None, a draft is kept (well-formed BPMN))
UNSAFE: list[tuple[str, bytes, int, str, bool]] = [
    ("doctype-bare", with_doctype(b"<!DOCTYPE d>", b"x"), 400, "unsafe_xml", False),
    (
        "xxe-file",
        with_doctype(b'<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'),
        400,
        "unsafe_xml",
        False,
    ),
    (
        "xxe-http-metadata",
        with_doctype(b'<!DOCTYPE d [<!ENTITY x SYSTEM "http://169.254.169.254/latest/">]>'),
        400,
        "unsafe_xml",
        False,
    ),
    (
        "xxe-parameter-entity",
        with_doctype(b'<!DOCTYPE d [<!ENTITY % p SYSTEM "http://127.0.0.1:1/x.dtd"> %p;]>', b"x"),
        400,
        "unsafe_xml",
        False,
    ),
    (
        "external-dtd",
        with_doctype(b'<!DOCTYPE d SYSTEM "http://127.0.0.1:1/evil.dtd">', b"x"),
        400,
        "unsafe_xml",
        False,
    ),
    (
        "public-dtd",
        with_doctype(b'<!DOCTYPE d PUBLIC "-//EVIL//DTD" "file:///etc/shadow">', b"x"),
        400,
        "unsafe_xml",
        False,
    ),
    ("billion-laughs", billion_laughs(), 400, "unsafe_xml", False),
    (
        "quadratic-blowup",
        with_doctype(b'<!DOCTYPE d [<!ENTITY x "' + b"x" * 40_000 + b'">]>', b"&x;" * 40_000),
        400,
        "unsafe_xml",
        False,
    ),
    (
        "doctype-lowercase",
        with_doctype(b"<!doctype d [<!ELEMENT d ANY>]>", b"x"),
        400,
        "unsafe_xml",
        False,
    ),
    (
        "doctype-utf16",
        with_doctype(b'<!DOCTYPE d [<!ENTITY x "y">]>')
        .replace(b'<?xml version="1.0"?>', b'<?xml version="1.0" encoding="UTF-16"?>')
        .decode()
        .encode("utf-16"),
        400,
        "unsafe_xml",
        False,
    ),
    (
        "doctype-after-bom",
        b"\xef\xbb\xbf" + with_doctype(b'<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/hosts">]>'),
        400,
        "unsafe_xml",
        False,
    ),
    ("deep-nesting-10k", deep(10_000), 400, "unsafe_xml", False),
    ("deep-nesting-300", deep(300), 400, "unsafe_xml", False),
    ("not-xml", b"\x00\x01\x02 this is not xml", 400, None, False),
    ("truncated-xml", process(b"")[:-40], 422, "invalid_bpmn", False),
    ("empty", b"   ", 400, None, False),
    (
        "xinclude",
        process(
            b'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd" '
            b'parse="text"/>'
        ),
        422,
        "invalid_bpmn",
        True,
    ),
    ("script-task", SCRIPT_TASK, 422, "invalid_bpmn", True),
    (
        "script-task-javascript",
        SCRIPT_TASK.replace(b'scriptFormat="python"', b'scriptFormat="javascript"'),
        422,
        "invalid_bpmn",
        True,
    ),
    (
        "script-in-flow-condition",
        process(
            b'<bpmn:endEvent id="e"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>'
            b'<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="e"><bpmn:conditionExpression '
            b'language="python">__import__("os").system("id")</bpmn:conditionExpression>'
            b"</bpmn:sequenceFlow>"
        ),
        422,
        "invalid_bpmn",
        True,
    ),
    (
        "unknown-connector-path",
        process(
            b'<bpmn:serviceTask id="t" flowgate:connector="../../os.system">'
            b"<bpmn:incoming>f1</bpmn:incoming></bpmn:serviceTask>"
            b'<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/>'
        ),
        422,
        "invalid_bpmn",
        True,
    ),
]


def _size_cases() -> list[tuple[str, bytes, int, str, bool]]:
    big = process(b"<!--" + b"x" * (5 * 1024 * 1024 + 10) + b"-->")
    return [("oversized-6MiB", big, 400, "xml_too_large", False)]


CASES = UNSAFE + _size_cases()


def _deploy_json(client, payload: bytes):
    text = payload.decode("utf-8", errors="replace")
    return client.post("/api/v1/processes/deploy/", {"xml": text}, format="json")


def _deploy_upload(client, payload: bytes):
    upload = SimpleUploadedFile("evil.bpmn", payload, content_type="application/xml")
    return client.post("/api/v1/processes/deploy/", {"file": upload}, format="multipart")


def _validate_upload(client, payload: bytes):
    upload = SimpleUploadedFile("evil.bpmn", payload, content_type="application/xml")
    return client.post("/api/v1/processes/validate/", {"file": upload}, format="multipart")


# A UTF-16 file cannot travel as JSON text: that one goes by upload only.
DEPLOY_CASES = [
    pytest.param(send, p, s, c, d, id=f"{i}-{name}")
    for i, p, s, c, d in CASES
    for name, send in (("json", _deploy_json), ("upload", _deploy_upload))
    if not (send is _deploy_json and p.startswith(b"\xff\xfe"))
]


@pytest.mark.parametrize(("send", "payload", "status", "code", "draft"), DEPLOY_CASES)
def test_malicious_bpmn_is_refused_at_deploy(world, send, payload, status, code, draft):
    client = api_client(world.people.dana)
    # A refused file takes no version number, even when it is kept (as the person's draft).
    with unchanged(versions={"deployed": 2}, audit_events=..., audit_pending=..., definitions=...):
        response = send(client, payload)
    if send is _deploy_json and len(payload) > 5 * 1024 * 1024:  # over DATA_UPLOAD_MAX_MEMORY_SIZE
        status, code = 413, "request_too_large"
    refused(response, status, code)


@pytest.mark.parametrize(
    ("payload", "status", "code", "draft"),
    [pytest.param(p, s, c, d, id=i) for i, p, s, c, d in CASES],
)
def test_malicious_bpmn_is_refused_by_validate_and_nothing_is_stored(
    world, payload, status, code, draft
):
    client = api_client(world.people.dana)
    with unchanged():
        response = _validate_upload(client, payload)
    if status == 422:  # well-formed BPMN with a forbidden element: a 200 listing the problems
        refused(response, 200)
        assert response.json()["valid"] is False
        assert response.json()["problems"]
    else:
        refused(response, status, code)
