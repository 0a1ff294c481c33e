"""Server-side validation of submitted data against a form-js schema."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.common.actors import Actor
from apps.engine.models import ProcessInstance
from apps.inbox.model_rules import _rules_for_xml
from apps.inbox.validation import form_errors
from apps.processes.gallery import template_get, templates_list
from apps.processes.services import version_deploy
from tests.api.helpers import assert_error

SCHEMA = {
    "components": [
        {
            "type": "number",
            "key": "amount",
            "label": "Amount",
            "validate": {"required": True, "min": 1, "max": 10000},
        },
        {
            "type": "textfield",
            "key": "iban",
            "label": "IBAN",
            "validate": {"pattern": "[A-Z]{2}[0-9]{2}[A-Z0-9]{4,30}"},
        },
        {
            "type": "textfield",
            "key": "mail",
            "label": "E-mail",
            "validate": {"validationType": "email"},
        },
        {
            "type": "textarea",
            "key": "why",
            "label": "Why",
            "validate": {"minLength": 3, "maxLength": 10},
        },
        {
            "type": "select",
            "key": "kind",
            "label": "Kind",
            "values": [{"value": "travel"}, {"value": "food"}],
        },
        {"type": "checkbox", "key": "urgent", "label": "Urgent"},
        {
            "type": "group",
            "components": [
                {
                    "type": "textfield",
                    "key": "nested",
                    "label": "Nested",
                    "validate": {"required": True},
                }
            ],
        },
    ]
}


def test_a_valid_submission_has_no_errors():
    data = {
        "amount": 5,
        "iban": "DE44500105175407324931",
        "mail": "a@b.example",
        "why": "trip",
        "kind": "travel",
        "urgent": False,
        "nested": "x",
    }
    assert form_errors(SCHEMA, data) == []


def test_each_rule_names_its_field():
    data = {
        "amount": "5",
        "iban": "de44",
        "mail": "nope",
        "why": "a",
        "kind": "boat",
        "urgent": "yes",
    }
    assert form_errors(SCHEMA, data) == [
        {"field": "amount", "message": "Amount must be a number."},
        {"field": "iban", "message": "IBAN does not have the expected format."},
        {"field": "mail", "message": "E-mail must be an e-mail address."},
        {"field": "why", "message": "Why needs at least 3 characters."},
        {"field": "kind", "message": "Kind must be one of: travel, food."},
        {"field": "urgent", "message": "Urgent must be true or false."},
        {"field": "nested", "message": "Nested is required."},
    ]


def test_ranges_and_required():
    assert form_errors(SCHEMA, {"amount": 0, "nested": "x"}) == [
        {"field": "amount", "message": "Amount must be at least 1."}
    ]
    assert form_errors(SCHEMA, {"amount": 10001, "nested": "x"}) == [
        {"field": "amount", "message": "Amount must be at most 10000."}
    ]
    assert form_errors(SCHEMA, {"nested": "x"}) == [
        {"field": "amount", "message": "Amount is required."}
    ]


def test_list_options_non_finite_numbers_and_the_default_text_cap():
    schema = {
        "components": [
            {
                "type": "checklist",
                "key": "tags",
                "label": "Tags",
                "values": [{"value": "a"}, {"value": "b"}],
            },
            {"type": "number", "key": "n", "label": "N"},
            {"type": "textfield", "key": "short", "label": "Short"},
            {"type": "textarea", "key": "long", "label": "Long"},
        ]
    }
    assert (
        form_errors(schema, {"tags": ["a", "b"], "short": "x" * 1000, "long": "y" * 10_000}) == []
    )
    assert form_errors(
        schema,
        {"tags": ["a", "z"], "n": float("nan"), "short": "x" * 1001, "long": "y" * 10_001},
    ) == [
        {"field": "tags", "message": "Tags allows only: a, b."},
        {"field": "n", "message": "N must be a number."},
        {"field": "short", "message": "Short allows at most 1000 characters."},
        {"field": "long", "message": "Long allows at most 10000 characters."},
    ]


# --- the gallery's forms, enforced by the server on start (one module for start and tasks) -----


@pytest.fixture
def gallery_expense(db):
    result = version_deploy(
        xml=template_get(slug="expense_approval").xml(), actor=Actor.system("test")
    )
    assert result.deployed, result.version.problems
    return result.version


@pytest.mark.django_db
def test_the_expense_template_refuses_a_negative_amount_and_a_novel(gallery_expense, make_user):
    # given a requester and the gallery's expense process
    client = APIClient()
    client.force_authenticate(make_user("approver", username="req"))
    before = ProcessInstance.objects.count()

    def post(data):
        return client.post(
            "/api/v1/requests/", {"process_key": "expense_approval", "data": data}, format="json"
        )

    # when they submit -50 (which the model would approve automatically) or 20,000 characters
    negative = post({"amount": -50, "description": "Refund"})
    novel = post({"amount": 50, "description": "x" * 20_000})
    # then both are refused with an error on the field, and nothing starts
    assert assert_error(negative, 400, "invalid_form")["details"] == [
        {"field": "amount", "message": "Amount must be at least 0.01."}
    ]
    assert assert_error(novel, 400, "invalid_form")["details"] == [
        {"field": "description", "message": "Description allows at most 200 characters."}
    ]
    assert ProcessInstance.objects.count() == before
    assert post({"amount": 50, "description": "Taxi"}).status_code == 201


def test_every_gallery_start_form_limits_its_fields():
    # every input of every template's start form is required and bounded (range, length or
    # options), so a template deployed as is does not take -50 or 20,000 characters
    for template in templates_list():
        rules = _rules_for_xml(template.slug, template.xml(), template.slug)
        form = rules.start_form
        if form is None:
            continue
        for component in form["components"]:
            rules_ = component.get("validate", {})
            assert rules_.get("required") is True, (template.slug, component["key"])
            bounded = (
                ("min" in rules_ and "max" in rules_)
                or "maxLength" in rules_
                or component.get("values")
            )
            assert bounded, (template.slug, component["key"])
