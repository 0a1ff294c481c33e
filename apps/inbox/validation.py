"""Server-side validation of form submissions against their form-js schema: the one module that
both a request's start (``request_start``) and a task's completion (``task_complete``) call.

The browser validates too (form-js), but the server is the one that decides: ``validate.required``,
``min``, ``max``, ``minLength``, ``maxLength``, ``pattern``, ``validationType: email`` and the
options of selects, radios, checklists and tag lists. A text field whose model sets no
``maxLength`` is still capped (``DEFAULT_MAX_LENGTH``), so no form stores a novel in a variable.
"""

from __future__ import annotations

import math
import re
from typing import Any

MAX_PATTERN = 500
MAX_TEXT = 100_000
# the cap on text the model did not limit itself (form-js's own fields have no default limit)
DEFAULT_MAX_LENGTH = {"textfield": 1_000, "textarea": 10_000}

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
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or (isinstance(value, float) and not math.isfinite(value))
            ):
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
            allowed = _options(component)
            if allowed and value not in allowed:
                errors.append(
                    {
                        "field": key,
                        "message": f"{label} must be one of: {', '.join(map(str, allowed))}.",
                    }
                )
        elif kind in _LIST_TYPES:
            allowed = _options(component)
            if not isinstance(value, list):
                errors.append({"field": key, "message": f"{label} must be a list."})
            elif allowed and any(item not in allowed for item in value):
                errors.append(
                    {
                        "field": key,
                        "message": f"{label} allows only: {', '.join(map(str, allowed))}.",
                    }
                )
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
            longest = rules.get("maxLength") or DEFAULT_MAX_LENGTH.get(kind or "")
            if longest and len(value) > longest:
                errors.append(
                    {"field": key, "message": f"{label} allows at most {longest} characters."}
                )
            pattern = rules.get("pattern")
            if isinstance(pattern, str) and pattern and not _matches(pattern, value):
                errors.append(
                    {"field": key, "message": f"{label} does not have the expected format."}
                )
            if rules.get("validationType") == "email" and not _EMAIL.fullmatch(value):
                errors.append({"field": key, "message": f"{label} must be an e-mail address."})
    return errors


def _options(component: dict) -> list:
    """The static options of a select, radio, checklist or tag list ([] when they come from a
    variable: ``valuesKey`` / ``valuesExpression`` are not checked here)."""
    return [v.get("value") for v in component.get("values", []) or [] if isinstance(v, dict)]


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
