"""A designer uploads a DMN file on the process list and reads the deployed table."""

from __future__ import annotations

import pytest

from tests.engine_core.dmn.support import FILES
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_upload_a_dmn_file_and_read_its_table(page, live_server, login_as, axe_check):
    login_as(page, UserFactory(roles=["designer"]))
    page.goto(f"{live_server.url}/designer/")
    page.get_by_label("Upload a BPMN file").set_input_files(str(FILES / "approval.dmn"))
    page.get_by_role("button", name="Deploy").click()
    page.get_by_text("Deployed decisions: approval_level version 1").wait_for()
    page.get_by_role("link", name="Decisions").click()
    page.get_by_role("heading", name="Decisions", level=1).wait_for()
    assert axe_check(page) == []
    page.get_by_role("link", name="Approval level").click()
    table = page.get_by_role("table", name="Decision table approval_level version 1")
    table.wait_for()
    assert table.locator("tbody tr").count() == 3
    assert '"cfo"' in table.locator('tr[data-rule-id="Rule_cfo"]').inner_text()
    assert axe_check(page) == []
