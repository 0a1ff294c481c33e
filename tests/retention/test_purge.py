"""Retention: finished instances past their period are archived then purged in batches; legal
holds and "keep forever" policies protect; the audit chain stays verifiable; a changed archive
is caught against the chain."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone
from guardian.models import GroupObjectPermission, UserObjectPermission

from apps.accounts import permissions
from apps.accounts.roles import PERM_VIEW_INSTANCE
from apps.audit.models import AuditCheckpoint, AuditEvent
from apps.audit.services import chain_link_pending
from apps.audit.verification import chain_verify
from apps.common.actors import Actor
from apps.engine import services as engine
from apps.engine.models import Job, ProcessInstance
from apps.inbox.models import HumanTask, InboxEvent, TaskComment
from apps.inbox.services.requests import attachment_add
from apps.inbox.services.tasks import task_complete
from apps.reports.facts import task_facts_catch_up
from apps.reports.models import TaskFact
from apps.retention.archive import evidence_pack_read
from apps.retention.models import ArchivedInstance
from apps.retention.selectors import archive_check
from apps.retention.services import instance_hold_set, retention_policy_set, retention_purge

pytestmark = pytest.mark.django_db(transaction=True)
XML = (Path(__file__).parents[1] / "calendars" / "business.bpmn").read_bytes()
ADMIN = Actor.system("test")


def test_instances_past_the_portal_default_are_archived_then_purged(finished, settings):
    old, young = finished(40, n=3), finished(10)
    settings.FLOWGATE_RETENTION_DAYS = 30
    task_ids = list(HumanTask.objects.filter(instance_id__in=old).values_list("pk", flat=True))
    assert task_ids and permissions.holders(
        PERM_VIEW_INSTANCE, obj=ProcessInstance.objects.get(pk=old[0])
    )
    events_before = AuditEvent.objects.filter(instance_id__in=old).count()

    assert retention_purge(batch_size=2) == {"purged": 3, "batches": 2}

    assert set(ProcessInstance.objects.values_list("pk", flat=True)) == set(young)
    assert not HumanTask.objects.filter(instance_id__in=old).exists()
    assert not TaskComment.objects.filter(instance_id__in=old).exists()
    assert not Job.objects.filter(instance_id__in=old).exists()
    assert not InboxEvent.objects.filter(instance_id__in=old).exists()
    # no orphaned object permissions on the purged rows
    for table in (UserObjectPermission, GroupObjectPermission):
        for model, pks in (("processinstance", old), ("humantask", task_ids)):
            assert not table.objects.filter(
                object_pk__in=[str(i) for i in pks], content_type__model=model
            ).exists()
    # the instances' audit events are archived, then removed under signed checkpoints; the
    # chain still verifies and says how many were archived
    assert not AuditEvent.objects.filter(instance_id__in=old).exists()
    checkpoints = list(AuditCheckpoint.objects.order_by("id"))
    assert [c.instance_ids for c in checkpoints] == [old[:2], old[2:]]
    assert checkpoints[-1].archived_total == events_before
    assert AuditEvent.objects.filter(action="audit.events_archived").count() == 2
    chain_link_pending()
    result = chain_verify()
    assert result.intact, result.reason
    assert (result.archived, result.checkpoints) == (events_before, 2)
    # each archive holds the instance, its task, its comment and its audit events
    archived = ArchivedInstance.objects.get(instance_id=old[0])
    with default_storage.open(archived.name) as handle:
        lines = [json.loads(line) for line in handle.read().decode().splitlines()]
    kinds = [line["kind"] for line in lines]
    assert kinds[0] == "instance" and lines[0]["variables"] == {"amount": 5}
    assert lines[0]["format"] == "flowgate-archive/2" and "state" not in lines[0]
    assert {"task", "comment", "audit_event"} <= set(kinds)
    assert [c["body"] for c in lines if c["kind"] == "comment"] == ["please hurry"]
    assert kinds.count("audit_event") == archived.audit_events > 0
    # two purge runs, each audited with the archives' hashes
    runs = AuditEvent.objects.filter(action="retention.purged").order_by("position")
    assert [e.data["instances"] for e in runs] == [2, 1]
    assert (
        runs[0].data["archives"][0]["sha256"]
        == ArchivedInstance.objects.get(instance_id=old[0]).sha256
    )
    assert archive_check(old[0])["ok"] is True
    # a second run finds nothing more to do
    assert retention_purge() == {"purged": 0, "batches": 0}


def test_a_changed_archive_is_caught_against_the_chain(finished, settings):
    [old] = finished(40)
    settings.FLOWGATE_RETENTION_DAYS = 30
    retention_purge()
    chain_link_pending()
    archived = ArchivedInstance.objects.get(instance_id=old)
    assert archive_check(old) == {
        "ok": True,
        "name": archived.name,
        "sha256": archived.sha256,
        "chained": True,
    }
    path = Path(settings.MEDIA_ROOT) / archived.name
    original = path.read_text()
    # an archived audit event changed: caught by the file's hash and by its chain link, which
    # stayed when the event row was removed
    lines = [json.loads(line) for line in original.splitlines()]
    event = next(line for line in lines if line["kind"] == "audit_event")
    event["actor_label"] = "someone else"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert archive_check(old)["events_changed"] == [
        f"event {event['position']} does not match chain link {event['link__seq']}"
    ]
    path.write_text(original.replace("please hurry", "all fine"))
    assert archive_check(old)["reason"] == "archive_changed"
    # rewriting the (unchained) index to the new hash does not help
    forged = archive_check(old)
    ArchivedInstance.objects.filter(instance_id=old).update(sha256="0" * 64)
    assert forged["ok"] is False and archive_check(old)["ok"] is False
    path.unlink()
    assert archive_check(old)["reason"] == "archive_missing"
    with pytest.raises(Exception, match="do not match the audit chain"):
        call_command("retention_purge", "--check", str(old))


def test_policies_and_legal_holds(finished, settings):
    settings.FLOWGATE_RETENTION_DAYS = 30
    old = finished(40, n=3)
    retention_policy_set(process_key="business_sla", days=None, actor=ADMIN)  # keep forever
    assert retention_purge() == {"purged": 0, "batches": 0}
    retention_policy_set(process_key="business_sla", days=50, actor=ADMIN)
    assert retention_purge()["purged"] == 0  # 40 days old, period 50
    retention_policy_set(
        process_key="business_sla", days=7, legal_hold=True, reason="court case", actor=ADMIN
    )
    assert retention_purge()["purged"] == 0  # the process is on hold
    retention_policy_set(process_key="business_sla", days=7, actor=ADMIN)
    instance_hold_set(instance_id=old[1], hold=True, reason="audit 2027", actor=ADMIN)
    assert retention_purge()["purged"] == 2
    assert list(ProcessInstance.objects.values_list("pk", flat=True)) == [old[1]]
    instance_hold_set(instance_id=old[1], hold=False, actor=ADMIN)
    assert retention_purge()["purged"] == 1
    settings_events = AuditEvent.objects.filter(action="admin.settings_changed")
    assert [e.data["setting"] for e in settings_events.order_by("position")] == [
        "retention_policy",
        "retention_policy",
        "retention_policy",
        "retention_policy",
        "legal_hold",
        "legal_hold",
    ]


def test_running_instances_are_never_purged(finished, settings):
    settings.FLOWGATE_RETENTION_DAYS = 1
    finished(0)  # deploys; ended just now
    running = engine.instance_start(process_key="business_sla", variables={}, actor=ADMIN)
    ProcessInstance.objects.filter(pk=running.pk).update(
        created_at=timezone.now() - timedelta(days=400)
    )
    assert retention_purge()["purged"] == 0
    assert ProcessInstance.objects.filter(pk=running.pk).exists()


def test_the_command_counts_purges_and_checks(finished, settings, capsys):
    settings.FLOWGATE_RETENTION_DAYS = 30
    old = finished(40, n=2)
    call_command("retention_purge", "--dry-run")
    assert "2 finished instance(s) are due" in capsys.readouterr().out
    call_command("retention_purge", "--batch-size", "1", "--max-batches", "1")
    assert "purged 1 instance(s) in 1 batch(es)" in capsys.readouterr().out
    call_command("retention_purge")
    call_command("retention_purge", "--check", *map(str, old))
    assert capsys.readouterr().out.count("archive ok") == 2
    with pytest.raises(Exception, match="at least 1"):
        call_command("retention_purge", "--batch-size", "0")


def test_a_completed_request_with_an_attachment_is_purged_and_its_facts_stay(
    finished, settings, make_user
):
    finished(0)  # deploys the model
    worker = make_user("approver", username="worker")
    instance = engine.instance_start(
        process_key="business_sla", variables={}, actor=ADMIN, started_by=worker
    )
    upload = SimpleUploadedFile("note.txt", b"hello", content_type="text/plain")
    attachment = attachment_add(instance=instance, user=worker, upload=upload, actor=ADMIN)
    stored = Path(settings.MEDIA_ROOT) / attachment.file.name
    assert stored.exists()
    for activity in ("review", "night_check"):
        task = HumanTask.objects.get(instance=instance, activity_id=activity)
        task_complete(task_id=task.pk, user=worker, data={}, actor=Actor.for_user(worker))
    instance.refresh_from_db()
    assert instance.status == "completed"
    task_facts_catch_up()
    facts = TaskFact.objects.filter(instance_id=instance.pk).count()
    assert facts == 2
    ProcessInstance.objects.filter(pk=instance.pk).update(
        ended_at=timezone.now() - timedelta(days=10)
    )
    retention_policy_set(process_key="business_sla", days=7, actor=ADMIN)

    assert retention_purge()["purged"] == 1  # the fixture's cancelled one ended just now
    assert not ProcessInstance.objects.filter(pk=instance.pk).exists()
    assert not stored.exists()  # the attachment's file went after the commit
    assert TaskFact.objects.filter(instance_id=instance.pk).count() == facts  # reports keep it
    archived = ArchivedInstance.objects.get(instance_id=instance.pk)
    with default_storage.open(archived.name) as handle:
        lines = [json.loads(line) for line in handle.read().decode().splitlines()]
    [meta] = [line for line in lines if line["kind"] == "attachment"]
    assert (meta["name"], meta["size"], meta["content_type"]) == ("note.txt", 5, "text/plain")
    assert [t["status"] for t in lines if t["kind"] == "task"] == ["completed", "completed"]
    assert archive_check(instance.pk)["ok"] is True


def test_a_purged_instance_keeps_its_evidence_pack_in_the_archive(finished, settings, capsys):
    [old] = finished(40)
    settings.FLOWGATE_RETENTION_DAYS = 30
    events = list(
        AuditEvent.objects.filter(instance_id=old)
        .order_by("position")
        .values_list("position", "action")
    )
    retention_purge()
    assert not AuditEvent.objects.filter(instance_id=old).exists()
    archived = ArchivedInstance.objects.get(instance_id=old)
    # the archive's last line is the evidence package, as the audit page exports it
    pack = evidence_pack_read(archived.name)
    assert pack is not None
    with zipfile.ZipFile(io.BytesIO(pack)) as package:
        names = set(package.namelist())
        assert {"README.txt", "events.json", "events.csv", "proof.json"} <= names
        assert [n for n in names if n.startswith("bpmn/")]  # the model, kept after the purge
        packed = json.loads(package.read("events.json"))
        proof = json.loads(package.read("proof.json"))
    assert [(e["position"], e["action"]) for e in packed] == events
    assert proof["instance_id"] == old and proof["chain"] is None
    assert [p["position"] for p in proof["events"]] == [p for p, _ in events]
    assert all(p["hash"] for p in proof["events"])  # every archived event carries its link
    assert "retention_purge --check" in proof["notes"][0]
    # the chain still vouches for the archive, evidence package included
    chain_link_pending()
    assert archive_check(old)["ok"] is True
    call_command("retention_purge", "--check", str(old))
    assert capsys.readouterr().out == f"instance {old}: archive ok\n"
    # a changed evidence package is a changed archive
    path = Path(settings.MEDIA_ROOT) / archived.name
    lines = path.read_text().splitlines()
    last = json.loads(lines[-1])
    assert last["kind"] == "evidence_pack"
    last["zip_base64"] = base64.b64encode(b"PK forged").decode()
    path.write_text("\n".join([*lines[:-1], json.dumps(last)]) + "\n")
    assert archive_check(old)["reason"] == "archive_changed"
