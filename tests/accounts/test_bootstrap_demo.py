from io import StringIO

import pytest
from django.core.management import call_command

from apps.accounts.models import User
from apps.audit.services import chain_link_pending
from apps.calendars.models import BusinessCalendar
from apps.invariants.checks import run_checks
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
    # a worked calendar example, created once, not the portal default (the demo's SLAs keep it)
    assert out.count("Business calendar: Head office") == 1
    calendar = BusinessCalendar.objects.get()
    assert (calendar.slug, calendar.holiday_country, calendar.is_default) == (
        "head-office",
        "GB",
        False,
    )
    assert calendar.fri == "09:00-12:30, 13:30-17:30"


def test_bootstrap_demo_refuses_production(settings):
    from django.core.management.base import CommandError

    settings.FLOWGATE_DEMO_ALLOWED = False
    with pytest.raises(CommandError, match="refused"):
        call_command("bootstrap_demo")
    assert not User.objects.exists()


def test_the_demo_satisfies_every_invariant_the_product_checks(settings, tmp_path):
    # the demo is what a new user first runs check_invariants against: it must come out clean
    # (it reported 281 violations: history without task.created / job.succeeded /
    # incident.opened events)
    settings.AUDIT_ANCHOR_PATH = str(tmp_path / "anchors.jsonl")
    call_command("bootstrap_demo")
    chain_link_pending()
    report = run_checks()
    assert [str(v) for v in report.violations] == []
    assert report.instances >= 150
    out = StringIO()
    call_command("check_invariants", stdout=out)
    assert out.getvalue().startswith(f"OK: {len(report.checks)} checks, 0 violations")
