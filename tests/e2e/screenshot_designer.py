"""Writes the screenshots of docs/designer.md (docs/designer/*.png).

Not collected by the normal suite (no test_ prefix). Run it explicitly:

    DJANGO_ENV=test DATABASE_URL= REDIS_URL= .venv/bin/python -m pytest tests/e2e/screenshot_designer.py -q
"""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.processes import gallery
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "designer"


def _shot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)
    assert (SHOTS / f"{name}.png").stat().st_size > 10_000


@pytest.mark.parametrize("slug", [t.slug for t in gallery.templates_list()])
def test_template_screenshots(page, login_as, slug):
    page.set_viewport_size({"width": 1400, "height": 900})
    login_as(page, UserFactory(roles=["designer"]))
    page.goto(f"/designer/new/{slug}/")
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")
    page.locator("#designer-canvas").scroll_into_view_if_needed()
    _shot(page, f"template-{slug}")


def test_gallery_screenshot(page, login_as):
    page.set_viewport_size({"width": 1280, "height": 800})
    login_as(page, UserFactory(roles=["designer"]))
    page.goto("/designer/new/")
    _shot(page, "gallery")
