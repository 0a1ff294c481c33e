"""Shared fixtures. Integration tests (real worker) live behind the ``integration`` marker."""

from __future__ import annotations

import pytest
from django.conf import settings

from tests.factories import UserFactory


def pytest_collection_modifyitems(config, items):
    on_sqlite = settings.DB_VENDOR == "sqlite"
    for item in items:
        if on_sqlite and (
            item.get_closest_marker("postgres_only") or item.get_closest_marker("integration")
        ):
            item.add_marker(
                pytest.mark.skip(
                    reason="needs PostgreSQL + Redis (runs in the PostgreSQL pass of make test)"
                )
            )


@pytest.fixture(autouse=True, scope="session")
def _audit_table_flushable():
    """Let transactional tests' flush empty the append-only audit table (see tests/audit/support.py)."""
    from tests.audit.support import audit_table_flushable

    with audit_table_flushable():
        yield


@pytest.fixture(autouse=True)
def _own_audit_anchors(settings, tmp_path_factory):
    """Every test verifies its own chain against its own anchors: the default file in var/ holds
    the anchors of whatever else ran in this checkout (a local `make run` made the chain tests
    fail with "links were removed from the end"). tests/audit's fixture narrows it further."""
    settings.AUDIT_ANCHOR_PATH = str(tmp_path_factory.mktemp("anchors") / "anchors.jsonl")


@pytest.fixture
def user_factory():
    return UserFactory


@pytest.fixture
def make_user(db):
    def make(*roles: str, **kwargs):
        return UserFactory(roles=roles, **kwargs)

    return make
