"""The migration page (issue #21): mapping table, dry run, confirmation, result; operators only;
reached from the designer's version history and the console's filter."""

from __future__ import annotations

import pytest

from apps.common.actors import Actor
from apps.engine import operator_services
from apps.engine import services as engine
from apps.engine.models import MigrationRun, ProcessInstance
from apps.engine.runtime import migration
from apps.processes.models import ProcessVersion
from tests.engine.conftest import deploy  # noqa: F401 - shared fixture

pytestmark = pytest.mark.django_db(transaction=True)
URL = "/admin-reports/processes/leave/migrate/"


@pytest.fixture
def waiting(deploy):  # noqa: F811
    deploy("migrate_v1.bpmn")
    deploy("migrate_v2.bpmn")
    v1 = ProcessVersion.objects.get(definition__key="leave", number=1)
    return [
        engine.instance_start(version=v1, variables={"days": d}, actor=Actor.system("t"))
        for d in (1, 2)
    ]


def numbers(instances) -> list[int]:
    return [ProcessInstance.objects.get(pk=i.pk).version.number for i in instances]


def test_the_page_maps_same_ids_and_asks_for_the_rest(client, make_user, waiting):
    client.force_login(make_user("manager"))
    page = client.get(URL, {"from_version": 1, "to_version": 2}).content.decode()
    assert "2 instances running on v1" in page
    assert 'data-source="remind"' in page and 'data-source="review"' in page
    assert '<option value="remind" selected>' in page  # auto-mapped by id
    assert "choose" in page  # review has no element of the same id in v2


def test_dry_run_then_confirmed_migration(client, make_user, waiting):
    client.force_login(make_user("admin"))
    form = {"from_version": 1, "to_version": 2, "map_0": "remind", "map_1": ""}
    dry = client.post(URL, {**form, "action": "dry_run"}).content.decode()
    assert "Dry run: nothing was changed" in dry
    assert "0 can move, 2 cannot." in dry
    assert "has no counterpart" in dry
    assert numbers(waiting) == [1, 1]

    form["map_1"] = "check"
    unconfirmed = client.post(URL, {**form, "action": "migrate"}).content.decode()
    assert "Tick the confirmation box" in unconfirmed
    assert numbers(waiting) == [1, 1]

    queued = client.post(URL, {**form, "action": "migrate", "confirm": "on"})
    [run] = MigrationRun.objects.all()
    assert queued.url == f"/admin-reports/migrations/{run.pk}/"
    progress = client.get(queued.url).content.decode()
    assert "Queued: 0 of 2 handled" in progress
    assert 'hx-trigger="every 1s"' in progress
    assert numbers(waiting) == [1, 1]

    operator_services.migration_run_execute(run_id=run.pk)  # the worker

    fragment = client.get(queued.url, headers={"HX-Request": "true"}).content.decode()
    assert "2 moved, 0 refused." in fragment
    assert "hx-trigger" not in fragment  # finished: the page stops asking
    assert numbers(waiting) == [2, 2]


def test_only_operators_see_the_page(client, make_user, waiting):
    assert client.get(URL).status_code == 302  # to the login page
    for role in ("approver", "designer", "auditor"):
        client.force_login(make_user(role))
        assert client.get(URL).status_code == 403
        response = client.post(
            URL,
            {
                "from_version": 1,
                "to_version": 2,
                "map_1": "check",
                "action": "migrate",
                "confirm": "on",
            },
        )
        assert response.status_code == 403
    assert numbers(waiting) == [1, 1]
    assert not MigrationRun.objects.exists()


def test_version_history_and_console_link_to_the_page(client, make_user, waiting):
    client.force_login(make_user("designer", "manager"))
    history = client.get("/designer/leave/").content.decode()
    assert "2 instances running on this version" in history
    assert "/admin-reports/processes/leave/migrate/?from_version=1" in history
    console = client.get("/admin-reports/instances/", {"process_key": "leave", "version": 1})
    assert "/admin-reports/processes/leave/migrate/?from_version=1" in console.content.decode()


def test_a_version_with_too_many_instances_says_so(client, make_user, waiting, monkeypatch):
    monkeypatch.setattr(migration, "MAX_BATCH", 1)
    client.force_login(make_user("manager"))
    page = client.get(URL, {"from_version": 1, "to_version": 2}).content.decode()
    assert "moves at most 1 instances at once" in page
    assert "nothing to map" not in page


def test_one_deployed_version_says_what_to_do_instead_of_offering_a_move(client, make_user, deploy):  # noqa: F811
    """Found using the page: with one version the page offered v1 -> v1, said "N instances
    running" and then "No instance of v1 is running", with a Migrate button."""
    deploy("migrate_v1.bpmn")
    client.force_login(make_user("manager"))
    page = client.get(URL).content.decode()
    assert 'data-testid="migrate-only-version"' in page
    assert "deploy a new version in the" in page and 'href="/designer/leave/"' in page
    assert 'value="migrate"' not in page


def test_the_same_version_twice_is_not_offered_as_a_move(client, make_user, waiting):
    client.force_login(make_user("manager"))
    page = client.get(URL, {"from_version": 1, "to_version": 1}).content.decode()
    assert 'data-testid="migrate-same-version"' in page
    assert 'value="migrate"' not in page


def test_the_instance_page_s_migrate_button_moves_that_instance_only(client, make_user, waiting):
    first, second = waiting
    client.force_login(make_user("manager"))
    console = client.get(f"/admin-reports/instances/{first.pk}/").content.decode()
    assert f'href="{URL}?instance={first.pk}" data-testid="instance-migrate"' in console

    page = client.get(URL, {"instance": first.pk}).content.decode()
    assert "This instance only (running, on v1)" in page
    assert f'<input type="hidden" name="instance" value="{first.pk}">' in page
    assert '<option value="2" selected>' in page  # to the latest version
    form = {
        "instance": first.pk,
        "from_version": 1,
        "to_version": 2,
        "map_0": "remind",
        "map_1": "check",
    }
    dry = client.post(URL, {**form, "action": "dry_run"}).content.decode()
    assert "1 can move, 0 cannot." in dry
    queued = client.post(URL, {**form, "action": "migrate", "confirm": "on"})
    [run] = MigrationRun.objects.all()
    assert (queued.status_code, run.instance_ids) == (302, [first.pk])
    operator_services.migration_run_execute(run_id=run.pk)
    assert numbers(waiting) == [2, 1]

    assert client.get(URL, {"instance": 999999}).status_code == 404
    assert client.get(URL, {"instance": "x"}).status_code == 404


def test_the_migrations_list_shows_each_run_with_its_progress_and_filters(
    client, make_user, waiting
):
    manager = make_user("manager")
    client.force_login(manager)
    empty = client.get("/admin-reports/migrations/").content.decode()
    assert "No migrations yet" in empty
    run = operator_services.migration_run_start(
        process_key="leave",
        from_version=1,
        to_version=2,
        mapping={"review": "check"},
        user=manager,
    )
    operator_services.migration_run_execute(run_id=run.pk)

    listing = client.get("/admin-reports/migrations/").content.decode()
    assert f'href="/admin-reports/migrations/{run.pk}/"' in listing
    assert "v1 → v2" in listing
    assert f">{manager.username}<" in listing
    assert '<progress max="2" value="2"' in listing  # both instances handled
    other = client.get("/admin-reports/migrations/", {"process_key": "invoice"}).content.decode()
    assert "No migrations of this process" in other
    assert f"/admin-reports/migrations/{run.pk}/" not in other
    assert "/admin-reports/migrations/" in client.get("/admin-reports/").content.decode()


def test_only_operators_see_the_migrations_list(client, make_user):
    assert client.get("/admin-reports/migrations/").status_code == 302
    for role in ("approver", "designer", "auditor"):
        client.force_login(make_user(role))
        assert client.get("/admin-reports/migrations/").status_code == 403
        index = client.get("/admin-reports/")
        assert "/admin-reports/migrations/" not in index.content.decode()
