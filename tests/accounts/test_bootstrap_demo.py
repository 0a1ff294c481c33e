import pytest
from django.core.management import call_command

from apps.accounts.models import User
from apps.processes.models import ProcessVersion

pytestmark = pytest.mark.django_db


def test_bootstrap_demo_is_idempotent_and_prints_logins(capsys):
    call_command("bootstrap_demo")
    call_command("bootstrap_demo")
    out = capsys.readouterr().out
    assert "approver   approver-demo-pass" in out
    assert set(User.objects.values_list("username", flat=True)) >= {
        "designer",
        "approver",
        "approver2",
        "manager",
        "auditor",
        "admin",
    }
    assert User.objects.get(username="manager").role_names() == {"manager", "approver"}
    keys = sorted(ProcessVersion.objects.values_list("definition__key", "number"))
    assert keys == [
        ("access_request", 1),
        ("change_request", 1),
        ("expense_approval", 1),
        ("incident_response", 1),
        ("order_fulfilment", 1),
        ("server_provisioning", 1),
    ]


def test_bootstrap_demo_refuses_production(settings):
    from django.core.management.base import CommandError

    settings.FLOWGATE_DEMO_ALLOWED = False
    with pytest.raises(CommandError, match="refused"):
        call_command("bootstrap_demo")
    assert not User.objects.exists()
