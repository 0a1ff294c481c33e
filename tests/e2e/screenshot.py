"""Writes docs/screenshot.png (the README screenshot): the home page of a signed-in admin.

Not collected by the normal suite (the file name has no test_ prefix). Run it explicitly:

    DJANGO_ENV=test DATABASE_URL= REDIS_URL= .venv/bin/python -m pytest tests/e2e/screenshot.py -q
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_write_readme_screenshot(page, login_as):
    user = UserFactory(
        username="ada", first_name="Ada", last_name="Lovelace", roles=["admin", "designer"]
    )
    page.set_viewport_size({"width": 1280, "height": 480})
    login_as(page, user)

    page.screenshot(path=str(DOCS / "screenshot.png"), full_page=False)

    assert (DOCS / "screenshot.png").stat().st_size > 10_000


def test_write_designer_screenshot(page, login_as):
    from tests.e2e.test_bundles import USER_TASK_XML, open_designer

    page.set_viewport_size({"width": 1280, "height": 640})
    open_designer(page, xml_status=200, xml=USER_TASK_XML)
    page.evaluate(
        """() => {
            const m = window.FlowgateDesigner.modeler;
            m.get('selection').select(m.get('elementRegistry').get('Approve'));
            m.get('canvas').zoom(1.2);
        }"""
    )
    page.screenshot(path=str(DOCS / "screenshot-designer.png"), full_page=False)

    assert (DOCS / "screenshot-designer.png").stat().st_size > 10_000
