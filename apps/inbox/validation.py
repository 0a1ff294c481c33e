"""Server-side validation of task form submissions against their form-js schema.

The browser validates too, but the server is the one that decides.
"""

from __future__ import annotations

import re
from typing import Any

MAX_PATTERN = 500
MAX_TEXT = 100_000

_NUMBER_TYPES = {"number"}
_BOOL_TYPES = {"checkbox"}
_CHOICE_TYPES = {"select", "radio"}
_LIST_TYPES = {"checklist", "taglist"}
_INPUT_TYPES = {
    "textfield",
    "textarea",
    "number",
    "checkbox",
    "select",
    "radio",
    "datetime",
    "checklist",
    "taglist",
}


def _components(schema: dict) -> list[dict]:
    found = []
    for component in schema.get("components", []) or []:
        if not isinstance(component, dict):
            continue
        if component.get("components"):  # groups
            found.extend(_components(component))
        if component.get("key") and component.get("type") in _INPUT_TYPES:
            found.append(component)
    return found


def form_errors(schema: dict | None, data: dict[str, Any]) -> list[dict]:
    """[{"field", "message"}] for every problem; [] when the submission is acceptable."""
    if not schema:
        return []
    errors = []
    for component in _components(schema):
        key = component["key"]
        label = component.get("label") or key
        rules = component.get("validate") or {}
        value = data.get(key)
        empty = value is None or value == "" or value == []
        if empty:
            if rules.get("required"):
                errors.append({"field": key, "message": f"{label} is required."})
            continue
        kind = component.get("type")
        if kind in _NUMBER_TYPES:
            if isinstance(value, bool) or not isinstance(value, int | float):
                errors.append({"field": key, "message": f"{label} must be a number."})
                continue
            if rules.get("min") is not None and value < rules["min"]:
                errors.append(
                    {"field": key, "message": f"{label} must be at least {rules['min']}."}
                )
            if rules.get("max") is not None and value > rules["max"]:
                errors.append({"field": key, "message": f"{label} must be at most {rules['max']}."})
        elif kind in _BOOL_TYPES:
            if not isinstance(value, bool):
                errors.append({"field": key, "message": f"{label} must be true or false."})
        elif kind in _CHOICE_TYPES:
            allowed = [v.get("value") for v in component.get("values", []) if isinstance(v, dict)]
            if allowed and value not in allowed:
                errors.append(
                    {
                        "field": key,
                        "message": f"{label} must be one of: {', '.join(map(str, allowed))}.",
                    }
                )
        elif kind in _LIST_TYPES:
            if not isinstance(value, list):
                errors.append({"field": key, "message": f"{label} must be a list."})
        elif not isinstance(value, str):
            errors.append({"field": key, "message": f"{label} must be text."})
        else:
            if rules.get("minLength") and len(value) < rules["minLength"]:
                errors.append(
                    {
                        "field": key,
                        "message": f"{label} needs at least {rules['minLength']} characters.",
                    }
                )
            if rules.get("maxLength") and len(value) > rules["maxLength"]:
                errors.append(
                    {
                        "field": key,
                        "message": f"{label} allows at most {rules['maxLength']} characters.",
                    }
                )
            pattern = rules.get("pattern")
            if isinstance(pattern, str) and pattern and not _matches(pattern, value):
                errors.append(
                    {"field": key, "message": f"{label} does not have the expected format."}
                )
            if rules.get("validationType") == "email" and not _EMAIL.fullmatch(value):
                errors.append({"field": key, "message": f"{label} must be an e-mail address."})
    return errors


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _matches(pattern: str, value: str) -> bool:
    """form-js ``validate.pattern``: the whole value must match. Over-long patterns or values
    never match (a bounded check, not a regex denial of service)."""
    if len(pattern) > MAX_PATTERN or len(value) > MAX_TEXT:
        return False
    try:
        return re.fullmatch(pattern, value) is not None
    except re.error:
        return True  # the model's pattern is broken; the browser could not enforce it either
