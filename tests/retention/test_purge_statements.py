"""A purge batch is set-based: the SQL statements it issues do not grow with the number of
instances in it (decision 038, addendum), and the audit chain verifies afterwards."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.audit.services import chain_link_pending
from apps.audit.verification import chain_verify
from apps.engine.models import ProcessInstance
from apps.inbox.models import HumanTask
from apps.retention.models import ArchivedInstance
from apps.retention.services import retention_purge

pytestmark = pytest.mark.django_db(transaction=True)


def _statements_of_one_batch(ids: list[int]) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert retention_purge(batch_size=len(ids)) == {"purged": len(ids), "batches": 1}
    assert not ProcessInstance.objects.filter(pk__in=ids).exists()
    assert not HumanTask.objects.filter(instance_id__in=ids).exists()
    assert ArchivedInstance.objects.filter(instance_id__in=ids).count() == len(ids)
    return len(queries)


def test_a_purge_batch_issues_as_many_statements_for_six_instances_as_for_two(finished, settings):
    settings.FLOWGATE_RETENTION_DAYS = 30
    _statements_of_one_batch(finished(40))  # warm-up: content types and other caches
    two = _statements_of_one_batch(finished(40, n=2))
    six = _statements_of_one_batch(finished(40, n=6))
    assert six == two, (two, six)
    assert two < 70  # a fixed budget per batch, whatever its size (58 today)

    chain_link_pending()
    result = chain_verify()
    assert result.intact, result.reason
    assert result.checkpoints == 3
    out = StringIO()
    call_command("audit_verify", stdout=out)
    assert "intact" in out.getvalue().lower()
