"""Server-side validation of submitted data against a form-js schema."""

from __future__ import annotations

from apps.inbox.validation import form_errors

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
