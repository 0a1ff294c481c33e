"""The report pages fit a 1280 px desktop window with the demo's figures in them: wide tables
scroll inside their own box (reachable with the keyboard), the page itself never scrolls
sideways."""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.common.actors import Actor
from apps.processes.services import version_deploy
from apps.reports.demo import report_demo_seed
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
DEMO_BPMN = Path(__file__).resolve().parents[2] / "apps" / "processes" / "demo_bpmn"

OVERFLOWING = """() => {
    const width = document.documentElement.clientWidth;
    return [...document.querySelectorAll("main *")]
        .filter((el) => el.getBoundingClientRect().right > width + 1)
        .filter((el) => !el.closest(".table-responsive"))
        .map((el) => el.tagName + (el.dataset.testid ? "[" + el.dataset.testid + "]" : ""));
}"""


def test_the_sla_dashboard_does_not_scroll_sideways_on_a_desktop(page, login_as, axe_check):
    version_deploy(
        xml=(DEMO_BPMN / "expense_approval.bpmn").read_bytes(), actor=Actor.system("test")
    )
    UserFactory(username="manager", roles=["manager"])  # approves the history, as in the demo
    report_demo_seed()
    login_as(page, UserFactory(username="olga", roles=["manager"]))

    page.goto("/admin-reports/sla/")
    page.wait_for_selector("html[data-reports-ready='1']")

    assert page.locator("[data-testid='sla-users'] tbody tr").count() >= 1
    assert page.evaluate(OVERFLOWING) == []
    assert page.evaluate(
        "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    # the boxes that do scroll can be reached and scrolled with the keyboard
    assert axe_check(page) == []
    assert page.js_errors == []


REPORT_PAGES = [
    "/admin-reports/sla/",
    "/admin-reports/heatmap/",
    "/admin-reports/incidents/",
    "/admin-reports/instances/",
    "/admin-reports/slo/",
    "/admin-reports/",
]


def test_the_report_pages_fit_a_390_px_phone(make_page, login_as):
    # given the demo's figures and a manager on a 390 px wide phone
    version_deploy(
        xml=(DEMO_BPMN / "expense_approval.bpmn").read_bytes(), actor=Actor.system("test")
    )
    UserFactory(username="manager", roles=["manager"])
    report_demo_seed()
    page = make_page(viewport={"width": 390, "height": 844})
    login_as(page, UserFactory(username="olga", roles=["manager"]))
    widths = {}
    for path in REPORT_PAGES:
        page.goto(path)
        page.wait_for_load_state("load")
        page.wait_for_timeout(300)  # charts and the heatmap size themselves after load
        widths[path] = (
            page.evaluate("() => document.documentElement.scrollWidth"),
            page.evaluate(OVERFLOWING),
        )
    # then no page scrolls sideways: wide tables scroll inside their own region
    assert widths == {path: (390, []) for path in REPORT_PAGES}
    assert page.js_errors == []
