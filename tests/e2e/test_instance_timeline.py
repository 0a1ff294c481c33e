"""The instance timeline in the browser (issue 23): a running instance waiting for a person shows
its steps in words, as bars and as a table, and the section passes axe in light and dark mode."""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.common.actors import Actor
from apps.engine import services as engine_services
from apps.processes import services as process_services
from tests.factories import UserFactory

DEMO_BPMN = Path(__file__).resolve().parents[2] / "apps" / "processes" / "demo_bpmn"

pytestmark = [pytest.mark.e2e, pytest.mark.embedded, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def instance():
    process_services.version_deploy(
        xml=(DEMO_BPMN / "expense_approval.bpmn").read_bytes(), actor=Actor.system("test")
    )
    return engine_services.instance_start(
        process_key="expense_approval",
        variables={"amount": 2500, "description": "Conference ticket"},
        actor=Actor.system("test"),
    )


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_an_auditor_reads_the_timeline_in_words_bars_and_a_table(
    make_page, login_as, instance, axe_check, scheme
):
    page = make_page(color_scheme=scheme)
    login_as(page, UserFactory(roles=["auditor"]))
    page.goto(f"/admin-reports/instances/{instance.pk}/")
    section = page.get_by_test_id("instance-timeline")
    assert section.get_by_role("heading", name="Timeline").is_visible()
    words = section.get_by_test_id("timeline-text").first.inner_text()
    assert words.startswith("waited for a person ") and words.endswith("(still going on)")
    bar = section.locator("rect.fg-tl-person").first
    assert bar.bounding_box()["width"] > 0
    table = section.get_by_test_id("timeline-table")
    assert not table.is_visible()
    section.get_by_text("The same as a table").click()
    assert table.is_visible()
    assert "still going on" in table.inner_text()
    assert axe_check(page, context="[data-testid=instance-timeline]") == []
    assert page.js_errors == []
