"""bootstrap_demo_instances: sample expense instances in every state, once."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.engine.models import Incident, ProcessInstance
from apps.inbox.models import HumanTask, TaskStatus

pytestmark = pytest.mark.django_db


def test_sample_instances_in_every_state_once(capsys):
    call_command("bootstrap_demo_instances")
    call_command("bootstrap_demo_instances")
    out = capsys.readouterr().out
    assert "DEMO-1 laptop: waiting for a manager; DEMO-2 taxi: completed" in out
    assert "Demo instances: already there" in out
    states = dict(ProcessInstance.objects.values_list("business_key", "status"))
    assert states == {
        "DEMO-1 laptop": "running",
        "DEMO-2 taxi": "completed",
        "DEMO-3 hotel": "suspended",
        "DEMO-4 duplicate": "cancelled",
        "DEMO-5 lunch": "running",
        "DEMO-6 firewall": "running",
    }
    # An approver's first login has work: the change request's three CAB votes.
    change = ProcessInstance.objects.get(business_key="DEMO-6 firewall")
    votes = HumanTask.objects.filter(instance=change, status=TaskStatus.OPEN)
    assert votes.count() == 3
    assert {role for task in votes for role in task.candidate_groups} == {"approver"}
    incident = Incident.objects.get()
    assert (incident.instance.business_key, incident.activity_id) == (
        "DEMO-5 lunch",
        "notify_requester",
    )


def test_refused_in_production(settings):
    settings.FLOWGATE_DEMO_ALLOWED = False
    with pytest.raises(CommandError, match="refused"):
        call_command("bootstrap_demo_instances")
    assert not ProcessInstance.objects.exists()
