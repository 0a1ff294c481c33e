"""Moving instances to another version in the browser (issue #21): from the designer's version
history ("2 instances running on this version") to the migration page, a dry run that names
what blocks, a mapping chosen in the table, the confirmation, the progress page following the
worker, and the result."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from apps.common.actors import Actor
from apps.engine import operator_services
from apps.engine import services as engine_services
from apps.engine.models import MigrationRun, ProcessInstance
from apps.processes import services as process_services
from apps.processes.models import ProcessVersion
from tests.factories import UserFactory

BPMN = Path(__file__).resolve().parents[1] / "engine" / "bpmn"

pytestmark = [pytest.mark.e2e, pytest.mark.embedded, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def waiting():
    for name in ("migrate_v1.bpmn", "migrate_v2.bpmn"):
        result = process_services.version_deploy(
            xml=(BPMN / name).read_bytes(), actor=Actor.system("test")
        )
        assert result.deployed, result.version.problems
    v1 = ProcessVersion.objects.get(definition__key="leave", number=1)
    return [
        engine_services.instance_start(
            version=v1, variables={"days": d}, actor=Actor.system("test")
        )
        for d in (1, 2)
    ]


def test_an_operator_moves_the_instances_of_a_version_from_its_history(
    page, login_as, axe_check, waiting
):
    login_as(page, UserFactory(roles=["designer", "manager"]))
    page.goto("/designer/leave/")
    running = page.locator("[data-version='1'] [data-testid='version-running']")
    assert running.inner_text().startswith("2 instances running on this version")
    with page.expect_navigation():
        running.get_by_role("link", name="Move to another version").click()

    assert (
        page.get_by_test_id("migrate-running").inner_text().startswith("2 instances running on v1")
    )
    remind = page.get_by_label("New element for remind")
    review = page.get_by_label("New element for review")
    assert remind.input_value() == "remind"  # auto-mapped by id
    assert review.input_value() == ""  # no element of the same id: the operator chooses
    assert axe_check(page) == []

    with page.expect_navigation():
        page.get_by_role("button", name="Dry run").click()
    assert page.get_by_test_id("migrate-summary").inner_text() == "0 can move, 2 cannot."
    assert "'review' has no counterpart" in page.get_by_test_id("migrate-report").inner_text()

    page.get_by_label("New element for review").select_option("check")
    with page.expect_navigation():
        page.get_by_role("button", name="Dry run").click()
    assert page.get_by_test_id("migrate-summary").inner_text() == "2 can move, 0 cannot."
    assert {i.version.number for i in ProcessInstance.objects.filter(process_key="leave")} == {1}

    page.get_by_label("New element for review").select_option("check")
    page.get_by_label("Confirm: move the instances").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Migrate").click()
    assert page.get_by_test_id("migrate-summary").inner_text() == "Queued: 0 of 2 handled…"
    run = MigrationRun.objects.get()
    operator_services.migration_run_execute(
        run_id=run.pk
    )  # the worker; the page polls its progress
    expect(page.get_by_test_id("migrate-summary")).to_have_text("2 moved, 0 refused.")
    assert page.get_by_test_id("migration-run").get_attribute("data-status") == "finished"
    assert axe_check(page) == []
    assert page.js_errors == []

    page.get_by_role("link", name="All migrations").click()
    expect(page.get_by_test_id("migration-runs")).to_contain_text("v1 → v2")
    expect(page.get_by_test_id("migration-runs")).to_contain_text("Finished")
    assert axe_check(page) == []
    assert [
        i.version.number for i in ProcessInstance.objects.filter(pk__in=[w.pk for w in waiting])
    ] == [2, 2]


def test_the_console_s_migrate_button_moves_one_instance(page, login_as, waiting):
    first, second = waiting
    login_as(page, UserFactory(roles=["manager"]))
    page.goto(f"/admin-reports/instances/{first.pk}/")
    with page.expect_navigation():
        page.get_by_test_id("instance-migrate").click()
    assert (
        page.get_by_test_id("migrate-running")
        .inner_text()
        .startswith("This instance only (running, on v1).")
    )
    page.get_by_label("New element for review").select_option("check")
    with page.expect_navigation():
        page.get_by_role("button", name="Dry run").click()
    assert page.get_by_test_id("migrate-summary").inner_text() == "1 can move, 0 cannot."
    page.get_by_label("New element for review").select_option("check")
    page.get_by_label("Confirm: move the instances").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Migrate").click()
    operator_services.migration_run_execute(run_id=MigrationRun.objects.get().pk)
    expect(page.get_by_test_id("migrate-summary")).to_have_text("1 moved, 0 refused.")
    versions = {i.pk: i.version.number for i in ProcessInstance.objects.filter(process_key="leave")}
    assert versions == {first.pk: 2, second.pk: 1}
    assert page.js_errors == []
