"""What the designer's condition builder writes (static/src/designer/properties/conditions.js)
is checked and evaluated by the server's evaluator, which stays the authority."""

from __future__ import annotations

import pytest

from apps.engine.core.expressions import check, evaluate

# (expression as the builder writes it, variables, expected result)
CASES = [
    ("amount > 1000", {"amount": 1500}, True),
    ("amount > 1000", {"amount": 1000}, False),
    ("amount <= 1000", {"amount": 1000}, True),
    ("approved == True", {"approved": True}, True),
    ("approved == True", {"approved": "approved"}, False),
    ("amount > 1000 or region == 'EU'", {"amount": 5, "region": "EU"}, True),
    ("amount > 1000 and region == 'EU'", {"amount": 5000, "region": "US"}, False),
    ("contains(region, 'EU')", {"region": "EU-West"}, True),
    ("not contains(tags, 'vip')", {"tags": ["new"]}, True),
    ("code != '1000'", {"code": "1000"}, False),
    ("owner == None", {"owner": None}, True),
    ("name == 'O\\'Brien'", {"name": "O'Brien"}, True),
]


@pytest.mark.parametrize(("expression", "variables", "expected"), CASES)
def test_builder_expressions_check_and_evaluate_on_the_server(expression, variables, expected):
    assert check(expression) is None
    assert evaluate(expression, variables) is expected
