"""The process list shows what apps above the designer say about each process (the SLO state
from reports) through the designer's badge hook: reports registers its provider in
ReportsConfig.ready(); the designer never imports reports."""

from __future__ import annotations

from datetime import timedelta

import pytest
from lxml import html as lhtml

from apps.common.actors import Actor
from apps.designer import hooks
from apps.reports.designer_badges import slo_process_badges
from apps.reports.services import slo_set
from tests.reports import dataset as ds

pytestmark = pytest.mark.django_db
ADMIN = Actor.system("test")


def _badges(client) -> dict[str, list[tuple[str, str, str]]]:
    doc = lhtml.fromstring(client.get("/designer/").content.decode())
    return {
        row.get("data-process-key"): [
            (b.get("data-badge"), b.get("data-badge-state"), b.text_content())
            for b in row.xpath(".//span[@data-badge]")
        ]
        for row in doc.xpath("//tr[@data-process-key]")
    }


def test_reports_registers_the_slo_badge_provider():
    assert slo_process_badges in hooks.process_badge_providers


def test_the_list_shows_slo_at_risk_and_exhausted(client, make_user):
    now = ds.fixed_now()
    ds.version_for("risky")
    ds.version_for("edge")
    slo_set(process_key="risky", objective_percent=90, target_seconds=1000, actor=ADMIN)
    two_days = now - timedelta(days=2)
    for _ in range(36):
        ds.instance("risky", created=two_days, ended=two_days + ds.seconds(500))
    for _ in range(3):
        ds.instance("risky", created=two_days, ended=two_days + ds.seconds(2000))
    slo_set(process_key="edge", objective_percent="50", target_seconds=100, actor=ADMIN)
    start = now - timedelta(hours=2)
    ds.instance("edge", created=start, ended=start + ds.seconds(101))
    ds.instance("calm", created=start, ended=start + ds.seconds(1))  # no SLO: no badge

    client.force_login(make_user("designer"))
    assert _badges(client) == {
        "calm": [],
        "edge": [("slo", "exhausted", "SLO budget exhausted")],
        "risky": [("slo", "at_risk", "SLO at risk")],
    }


def test_a_failing_provider_costs_its_badges_not_the_page(client, make_user, monkeypatch):
    def broken(keys):
        raise RuntimeError("reports database down")

    def extra(keys):
        return {
            key: hooks.Badge(label="Reviewed", tone="info", kind="review", state="yes")
            for key in keys
        } | {"elsewhere": hooks.Badge(label="x", tone="info", kind="x", state="x")}

    monkeypatch.setattr(hooks.process_badge_providers, "_receivers", [broken, extra])
    ds.instance("calm", created=ds.fixed_now(), ended=ds.fixed_now())
    client.force_login(make_user("designer"))
    assert _badges(client) == {"calm": [("review", "yes", "Reviewed")]}
