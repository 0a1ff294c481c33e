"""/favicon.ico exists (browsers ask for it on every page) and the layout links the icon."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_favicon_ico_is_served_from_the_site_root(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] in {"image/x-icon", "image/vnd.microsoft.icon"}
    body = b"".join(response.streaming_content)
    assert body[:6] == b"\x00\x00\x01\x00\x03\x00"  # an ICO with three images


def test_the_layout_links_the_icons(client):
    page = client.get("/accounts/login/").content.decode()
    assert '<link rel="icon" href="/static/flowgate/favicon.svg" type="image/svg+xml">' in page
    assert '<link rel="icon" href="/favicon.ico" sizes="16x16 32x32 48x48">' in page
    svg = client.get("/static/flowgate/favicon.svg")
    assert svg.status_code == 200
    assert b"<circle" in b"".join(svg.streaming_content)
