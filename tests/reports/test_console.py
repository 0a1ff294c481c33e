"""Search by a variable's value: equality on the JSON value, the GIN index in PostgreSQL."""

from __future__ import annotations

import pytest
from django.db import connection

from apps.reports.console import InstanceSearch, instance_search
from tests.reports import dataset as ds

pytestmark = pytest.mark.django_db


def _found(variable: str, value: str) -> list[str]:
    search = InstanceSearch(variable=variable, value=value)
    return sorted(i.business_key for i in instance_search(search=search))


def test_search_by_value_matches_the_value_not_a_part_of_it():
    now = ds.fixed_now()
    for key, variables in {
        "number": {"amount": 5000},
        "float": {"amount": 5000.0},
        "text": {"amount": "5000"},
        "list": {"amount": [5000]},
        "object": {"amount": {"v": 5000}},
        "other": {"total": 5000},
        "flag": {"approved": True},
        "lookup-name": {"contains": "x"},
    }.items():
        ds.instance("exp", created=now, business_key=key, variables=variables)
    assert _found("amount", "5000") == ["float", "number", "text"]
    assert _found("amount", "5000.0") == ["float", "number"]
    assert _found("amount", "500") == []
    assert _found("approved", "true") == ["flag"]
    assert _found("contains", "x") == ["lookup-name"]


@pytest.mark.postgres_only
def test_search_by_value_uses_the_gin_index():
    qs = instance_search(search=InstanceSearch(variable="amount", value="4321"))
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table: make the choice visible
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "instance_variables_gin" in plan, plan
