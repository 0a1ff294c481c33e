"""Oversized and malformed request bodies on every JSON write endpoint: too large (413), invalid
UTF-8, truncated JSON, wrong content types (415), deep nesting, NaN / Infinity / overflowing
numbers, NUL characters and lone surrogates, giant integers. Each is a specific 4xx and changes
nothing. (Deep nesting, 1e999, NUL and surrogates were 500s: apps/common/api_parsers.py.)

To cover a new endpoint, add it to ``ENDPOINTS``: (name, url(world), user, JSON template with
``V`` where a free-form value goes).
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.security.conftest import api_client
from tests.security.corpus import corpus, refused, unchanged

pytestmark = [pytest.mark.django_db, corpus("malformed bodies")]

ENDPOINTS: list[tuple[str, object, str, bytes]] = [
    (
        "start",
        lambda w: "/api/v1/instances/",
        "rita",
        b'{"process_key":"expense","variables":{"x":V}}',
    ),
    (
        "complete",
        lambda w: f"/api/v1/tasks/{w.form_task.pk}/complete/",
        "alex",
        b'{"data":{"reason":"ok","x":V}}',
    ),
    ("message", lambda w: "/api/v1/messages/", "alex", b'{"name":"go","variables":{"x":V}}'),
    ("token", lambda w: "/api/v1/tokens/", "session:alex", b'{"name":V}'),  # tokens need a session
    ("deploy", lambda w: "/api/v1/processes/deploy/", "dana", b'{"xml":V}'),
]
JSON = "application/json"
PARSE_ERROR = (400, "parse_error")

# A hostile value put where the endpoint takes free-form JSON: (id, value, expected).
VALUES: list[tuple[str, bytes, tuple[int, str]]] = [
    ("deep-array-100k", b"[" * 100_000 + b"]" * 100_000, PARSE_ERROR),
    ("deep-array-65", b"[" * 65 + b"]" * 65, PARSE_ERROR),
    ("deep-object-200", b'{"a":' * 200 + b"1" + b"}" * 200, PARSE_ERROR),
    ("nan", b"NaN", PARSE_ERROR),
    ("infinity", b"-Infinity", PARSE_ERROR),
    ("overflow-1e999", b"1e999", PARSE_ERROR),
    ("nul-in-text", b'"a\\u0000b"', PARSE_ERROR),
    ("lone-surrogate", b'"\\ud800"', PARSE_ERROR),
    ("integer-5000-digits", b"9" * 5000, PARSE_ERROR),
]

# Whole hostile bodies: (id, body(template), content type, expected).
BODIES: list[tuple[str, object, str, tuple[int, str]]] = [
    (
        "over-5MiB",
        lambda t: t.replace(b"V", b'"' + b"a" * (5 * 1024 * 1024 + 1) + b'"'),
        JSON,
        (413, "request_too_large"),
    ),
    ("invalid-utf8", lambda t: t.replace(b"V", b'"\xff\xfe\xc3\x28"'), JSON, PARSE_ERROR),
    ("truncated", lambda t: t.replace(b"V", b'"x"')[:-3], JSON, PARSE_ERROR),
    (
        "text-plain",
        lambda t: t.replace(b"V", b'"x"'),
        "text/plain",
        (415, "unsupported_media_type"),
    ),
    ("xml", lambda t: b"<x>1</x>", "application/xml", (415, "unsupported_media_type")),
    (
        "charset-utf16-no-bom",
        lambda t: t.replace(b"V", b'"x"'),
        JSON + "; charset=utf-16",
        PARSE_ERROR,
    ),
    (
        "charset-bz2",
        lambda t: t.replace(b"V", b'"x"'),
        JSON + "; charset=bz2_codec",
        PARSE_ERROR,
    ),
    ("multipart-no-boundary", lambda t: b"--x", "multipart/form-data", PARSE_ERROR),
    ("top-level-array", lambda t: b"[" + t.replace(b"V", b'"x"') + b"]", JSON, (400, "invalid")),
]


def _post(world, url, who, body: bytes, content_type: str):
    if who.startswith("session:"):
        client = APIClient()
        client.force_login(getattr(world.people, who.removeprefix("session:")))
    else:
        client = api_client(getattr(world.people, who))
    with unchanged():
        response = client.generic("POST", url(world), body, content_type=content_type)
    return response


@pytest.mark.parametrize(
    ("url", "who", "template"), [pytest.param(u, w, t, id=n) for n, u, w, t in ENDPOINTS]
)
@pytest.mark.parametrize(("value", "expected"), [pytest.param(v, e, id=i) for i, v, e in VALUES])
def test_hostile_json_value_is_refused(world, url, who, template, value, expected):
    response = _post(world, url, who, template.replace(b"V", value), JSON)
    refused(response, *expected)


@pytest.mark.parametrize(
    ("url", "who", "template"), [pytest.param(u, w, t, id=n) for n, u, w, t in ENDPOINTS]
)
@pytest.mark.parametrize(
    ("make", "content_type", "expected"), [pytest.param(m, c, e, id=i) for i, m, c, e in BODIES]
)
def test_malformed_body_is_refused(world, url, who, template, make, content_type, expected):
    response = _post(world, url, who, make(template), content_type)
    refused(response, *expected)
