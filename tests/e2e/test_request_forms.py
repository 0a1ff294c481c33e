"""Start forms and task forms in the browser: the gallery's constraints, the approval form,
the tab order of a start page."""

from __future__ import annotations

import pytest

from apps.common.actors import Actor
from apps.engine.models import ProcessInstance
from apps.processes import services as process_services
from apps.processes.gallery import template_get
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.embedded, pytest.mark.django_db(transaction=True)]


def _deploy_template(slug: str):
    result = process_services.version_deploy(
        xml=template_get(slug=slug).xml(), actor=Actor.system("test")
    )
    assert result.deployed, result.version.problems
    return result.version


def test_the_expense_start_form_refuses_a_negative_amount(page, login_as):
    # given the gallery's expense process and a requester on its start form
    _deploy_template("expense_approval")
    login_as(page, UserFactory(username="requester", roles=["approver"]))
    page.goto("/requests/new/expense_approval/")
    page.get_by_label("Amount").wait_for()
    # when they ask for -50 (which the model would approve automatically)
    page.get_by_label("Amount").fill("-50")
    page.get_by_label("Description").fill("Refund")
    page.get_by_role("button", name="Submit request").click()
    # then the amount is marked and nothing starts
    page.get_by_text("Please correct 1 field(s) marked in the form.").wait_for()
    assert page.locator(".fjs-form-field-error").first.inner_text().strip() != ""
    assert page.get_by_label("Description").get_attribute("maxlength") in (None, "200")
    assert ProcessInstance.objects.count() == 0
    assert page.js_errors == []
