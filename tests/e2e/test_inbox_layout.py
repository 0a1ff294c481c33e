"""The requester's and approver's pages fit a 390 px phone: wide tables scroll inside their
own box, the page never scrolls sideways."""

from __future__ import annotations

import pytest

from apps.common.actors import Actor
from apps.inbox import services as inbox_services
from apps.inbox.models import HumanTask
from apps.processes.gallery import template_get
from apps.processes.services import version_deploy
from tests.e2e.test_reports_layout import OVERFLOWING
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.embedded, pytest.mark.django_db(transaction=True)]


def test_inbox_and_request_pages_fit_a_390_px_phone(make_page, login_as):
    # given an open expense approval with a long description
    assert version_deploy(
        xml=template_get(slug="expense_approval").xml(), actor=Actor.system("t")
    ).deployed
    requester = UserFactory(username="requester", roles=["approver"])
    boss = UserFactory(username="boss", roles=["manager"])
    instance = inbox_services.request_start(
        user=requester,
        process_key="expense_approval",
        data={"amount": 2500, "description": "Conference ticket, hotel and flights " * 5},
        actor=Actor.for_user(requester),
    )
    task = HumanTask.objects.get(instance=instance)
    paths = {
        boss: ["/inbox/", f"/inbox/tasks/{task.pk}/", "/inbox/settings/"],
        requester: [
            "/requests/",
            "/requests/new/",
            "/requests/new/expense_approval/",
            f"/requests/{instance.pk}/",
        ],
    }
    widths = {}
    for user, pages in paths.items():
        page = make_page(viewport={"width": 390, "height": 844})
        login_as(page, user)
        for path in pages:
            page.goto(path)
            page.wait_for_load_state("load")
            page.wait_for_timeout(300)  # the diagram and the forms mount after load
            widths[path] = (
                page.evaluate("() => document.documentElement.scrollWidth"),
                page.evaluate(OVERFLOWING),
            )
        assert page.js_errors == []
    # then none scrolls sideways
    assert widths == {path: (390, []) for pages in paths.values() for path in pages}
