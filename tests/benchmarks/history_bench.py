"""History-size benchmark (issue 24): does today's work slow down with years of history?

Run with `python -m tests.benchmarks history` (not part of a plain `make bench`: it loads a large
history). Writes docs/benchmarks/history.md.

Two scratch databases next to the configured one, migrated and filled with the same live
workload (open approval tasks, by the inbox benchmark's generator):

- ``<name>_history_empty``: nothing else;
- ``<name>_history_full``: plus ``BENCH_HISTORY_INSTANCES`` finished instances (two completed
  tasks each, with their object permissions) and ``BENCH_HISTORY_EVENTS`` audit events per
  instance, generated with INSERT ... SELECT generate_series (chain links are synthetic: they
  keep the linker and the chain head consistent, not the hashes — the verification figures come
  from a real chain, in the ``verify`` part).

Measured alternately on both, ``BENCH_HISTORY_ROUNDS`` times (medians reported), in one run:

1. engine throughput, in process: start an instance of a two-approval process and complete
   both tasks through the services (durable commits, audit on), instances per second;
2. the inbox selector (open tasks for my roles, newest 50), p50/p95 over many repetitions;

then, on the full database, the retention purge of ``BENCH_HISTORY_PURGE`` history instances
(archive and purge measured apart: ``purge_bench``); and, in a third scratch database, full and
from-checkpoint verification of a real chain of ``BENCH_HISTORY_VERIFY`` events.
"""

from __future__ import annotations

import os
import platform
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from tests.benchmarks import audit_bench, inbox_bench  # shared helpers (timing, load)

HISTORY_INSTANCES = int(os.environ.get("BENCH_HISTORY_INSTANCES", "1000000"))
EVENTS_PER_INSTANCE = int(os.environ.get("BENCH_HISTORY_EVENTS", "10"))
LIVE_TASKS = int(os.environ.get("BENCH_HISTORY_LIVE_TASKS", "20000"))
ENGINE_INSTANCES = int(os.environ.get("BENCH_HISTORY_ENGINE", "100"))
REPEAT = int(os.environ.get("BENCH_HISTORY_REPEAT", "200"))
ROUNDS = int(os.environ.get("BENCH_HISTORY_ROUNDS", "3"))
PURGE = int(os.environ.get("BENCH_HISTORY_PURGE", "5000"))
VERIFY_EVENTS = int(os.environ.get("BENCH_HISTORY_VERIFY", "1000000"))
GOAL_RATIO = 1.10  # within 10% of the empty database
GOAL_PURGE_100K_SECONDS = 120.0
GOAL_VERIFY_10M_SECONDS = 60.0


class _Databases:
    """The empty and the full scratch database; ``use(name)`` points the connection at one."""

    def __init__(self) -> None:
        from django.db import connections

        self.connection = connections["default"]
        self.original = self.connection.settings_dict["NAME"]
        self.names = {kind: f"{self.original}_history_{kind}" for kind in ("empty", "full")}

    def _admin(self, sql: str) -> None:
        self.connection.close()
        self.connection.settings_dict["NAME"] = self.original
        with self.connection._nodb_cursor() as cursor:
            cursor.execute(sql)

    def use(self, kind: str) -> None:
        self.connection.close()
        self.connection.settings_dict["NAME"] = self.names[kind]

    def __enter__(self) -> _Databases:
        from django.core.management import call_command

        for name in self.names.values():
            self._admin(f'DROP DATABASE IF EXISTS "{name}"')
            self._admin(f'CREATE DATABASE "{name}"')
        for kind in self.names:
            self.use(kind)
            call_command("migrate", verbosity=0)
        return self

    def __exit__(self, *exc: object) -> None:
        for name in self.names.values():
            if not os.environ.get("BENCH_HISTORY_KEEP"):
                self._admin(f'DROP DATABASE IF EXISTS "{name}"')
        self.connection.close()
        self.connection.settings_dict["NAME"] = self.original


def _live(version_id: int, requester_id: int) -> None:
    """The live workload of both databases, by the inbox benchmark's generator (open approval
    tasks for ten roles, 10% of the tasks open): ``LIVE_TASKS`` tasks on a tenth as many
    instances."""
    inbox_bench._generate(
        version_id, requester_id, tasks=LIVE_TASKS, instances=max(1, LIVE_TASKS // 10)
    )


INSTANCE_COLUMNS = (
    "version_id, process_key, business_key, status, state, variables, steps, waits, "
    "called_versions, started_by_id, created_at, updated_at, ended_at, is_test_run, trace_id, "
    "traceparent, outcome, outcome_reason"
)
TASK_COLUMNS = (
    "instance_id, task_id, activity_id, name, process_key, documentation, candidate_groups, "
    "candidate_users, status, priority, is_approval, outcome_variable, requested_by_id, data, "
    "outcome, created_at, due_at, delegation, comment_required_on_reject, escalation, "
    "sla_warning_at, sla_breach_at, completed_at, allow_same_approver, multi_instance_id, "
    "info_question, paused_seconds"
)


def _history(
    version_id: int, requester_id: int, *, instances: int = 0, events: bool = True
) -> dict:
    """Finished instances (``instances``, default ``BENCH_HISTORY_INSTANCES``) with their tasks,
    grants and (``events``) synthetic audit events, by generate_series."""
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection

    from apps.audit.models import AuditChainHead
    from apps.inbox.models import HumanTask

    ct = ContentType.objects.get_for_model(HumanTask).pk
    perms = list(
        Permission.objects.filter(
            content_type_id=ct, codename__in=["view_humantask", "work_humantask"]
        ).values_list("pk", flat=True)
    )
    group = Group.objects.get(name="role1").pk  # not the measured user's role
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO engine_processinstance ({INSTANCE_COLUMNS})
            SELECT %s, 'bench_history', 'H-' || g, 'completed', '{{}}', '{{"amount": 1}}'::jsonb,
                   3, 0, '{{}}'::jsonb, %s, now() - interval '3 years' + g * interval '1 minute',
                   now(), now() - interval '3 years' + g * interval '1 minute' + interval '1 day',
                   false, '', '', 'completed', ''
            FROM generate_series(1, %s) g
            """,  # noqa: S608 - constant column list
            [version_id, requester_id, instances or HISTORY_INSTANCES],
        )
        cursor.execute(
            f"""
            INSERT INTO inbox_humantask ({TASK_COLUMNS})
            SELECT i.id, 'hist-' || k, CASE k WHEN 1 THEN 'gate_one' ELSE 'gate_two' END,
                   'History task', 'bench_history', '', '["role1"]'::jsonb, '[]'::jsonb,
                   'completed', 50, true, 'outcome', %s, '{{}}'::jsonb, 'approved',
                   i.created_at + k * interval '1 hour', i.created_at + interval '1 day', '',
                   false, '', NULL, NULL, i.created_at + k * interval '2 hours', false, '', '', 0
            FROM engine_processinstance i CROSS JOIN generate_series(1, 2) k
            WHERE i.process_key = 'bench_history'
            """,  # noqa: S608 - constant column list
            [requester_id],
        )
        cursor.execute(
            """
            INSERT INTO guardian_groupobjectpermission (object_pk, content_type_id, group_id,
                permission_id)
            SELECT t.id::text, %s, %s, p.id
            FROM inbox_humantask t CROSS JOIN unnest(%s::int[]) AS p(id)
            WHERE t.process_key = 'bench_history'
            """,
            [ct, group, perms],
        )
        if not events:
            cursor.execute("ANALYZE")
            return {"seconds": time.perf_counter() - started}
        cursor.execute(
            """
            INSERT INTO audit_auditevent (time, actor_kind, actor_id, actor_label, on_behalf_of,
                action, process_key, version_id, instance_id, task_id, job_id, before, after,
                data, request_id, client_address, mac)
            SELECT i.created_at + k * interval '1 minute', 'user', '1', 'bench', '',
                   (ARRAY['instance.started', 'step.entered', 'task.created', 'task.claimed',
                          'task.approved', 'step.completed', 'task.created', 'task.approved',
                          'step.completed', 'instance.completed'])[1 + (k - 1) %% 10],
                   'bench_history', %s, i.id, NULL, NULL, NULL, '{"status": "done"}'::jsonb,
                   '{"n": 1}'::jsonb, md5(i.id::text || '-' || k), '10.0.0.1',
                   'hist.' || i.id || '.' || k
            FROM engine_processinstance i CROSS JOIN generate_series(1, %s) k
            WHERE i.process_key = 'bench_history'
            ORDER BY i.id, k
            """,
            [version_id, EVENTS_PER_INSTANCE],
        )
        head = AuditChainHead.objects.filter(pk=1).values_list("position").first()
        base = head[0] if head else 0
        # synthetic links (md5-based, 64 hex digits): the chain head continues after them
        cursor.execute(
            """
            INSERT INTO audit_auditlink (seq, event_id, prev_hash, hash)
            SELECT %s + n, position, md5((%s + n - 1)::text) || md5('x' || (%s + n - 1)),
                   md5((%s + n)::text) || md5('x' || (%s + n))
            FROM (SELECT position, row_number() OVER (ORDER BY position) AS n
                  FROM audit_auditevent e
                  WHERE NOT EXISTS (SELECT 1 FROM audit_auditlink l WHERE l.event_id = e.position)
                 ) AS waiting
            """,
            [base] * 5,
        )
        cursor.execute("SELECT max(seq) FROM audit_auditlink")
        last = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO audit_auditchainhead (id, position, hash) VALUES "
            "(1, %s, md5(%s::text) || md5('x' || %s)) ON CONFLICT (id) DO UPDATE "
            "SET position = EXCLUDED.position, hash = EXCLUDED.hash",
            [last, last, last],
        )
        cursor.execute("TRUNCATE audit_auditpending")
        cursor.execute("ANALYZE")
        seconds = time.perf_counter() - started
        sizes = {}
        for table in (
            "audit_auditevent",
            "audit_auditlink",
            "engine_processinstance",
            "inbox_humantask",
            "guardian_groupobjectpermission",
        ):
            cursor.execute(
                "SELECT count(*), pg_total_relation_size(%s) FROM " + table,  # noqa: S608
                [table],
            )
            rows, size = cursor.fetchone()
            sizes[table] = (rows, size)
    return {"seconds": seconds, "sizes": sizes}


def _engine_round(version, requester, approver, finance) -> float:
    """Instances per second: start, approve twice, through the services (in process)."""
    from apps.common.actors import Actor
    from apps.engine import services as engine
    from apps.inbox.models import HumanTask
    from apps.inbox.services.tasks import task_complete

    started = time.perf_counter()
    for n in range(ENGINE_INSTANCES):
        instance = engine.instance_start(
            version=version, variables={"n": n}, actor=Actor.for_user(requester),
            started_by=requester,
        )  # fmt: skip
        for user in (approver, finance):
            task = HumanTask.objects.get(instance_id=instance.pk, status="open")
            task_complete(
                task_id=task.pk, user=user, data={"approved": True}, actor=Actor.for_user(user)
            )
    return ENGINE_INSTANCES / (time.perf_counter() - started)


def _selector_round(approver) -> dict:
    from apps.inbox import selectors

    return inbox_bench._timed(lambda: selectors.newest_open_for_roles(user=approver), REPEAT)


def _users():
    from django.contrib.auth.models import Group

    from apps.accounts.models import User

    requester, _ = User.objects.get_or_create(username="bench-requester")
    approver, _ = User.objects.get_or_create(username="bench-approver")
    finance, _ = User.objects.get_or_create(username="bench-finance")
    return requester, approver, finance, Group


def _prepare(databases: _Databases, kind: str) -> None:
    from apps.common.actors import Actor
    from apps.processes.services import version_deploy

    databases.use(kind)
    version = version_deploy(xml=inbox_bench.PROCESS, actor=Actor.system("bench")).version
    requester, approver, finance, group = _users()
    _live(version.pk, requester.pk)
    approver.groups.add(group.objects.get(name="approver"))
    finance.groups.add(group.objects.get(name="finance"))


def _measure(databases: _Databases, kind: str) -> tuple[float, dict]:
    from apps.accounts.models import User
    from apps.processes.models import ProcessVersion

    databases.use(kind)
    version = ProcessVersion.objects.get(definition__key="bench_inbox")
    requester, approver, finance = (
        User.objects.get(username=f"bench-{n}") for n in ("requester", "approver", "finance")
    )
    return _engine_round(version, requester, approver, finance), _selector_round(approver)


def _purge(databases: _Databases) -> dict:
    from django.test import override_settings
    from django.utils import timezone

    from apps.audit.models import AuditCheckpoint
    from apps.common.actors import Actor
    from apps.retention.services import retention_policy_set, retention_purge

    databases.use("full")
    retention_policy_set(process_key="bench_history", days=30, actor=Actor.system("bench"))
    checkpoints_before = AuditCheckpoint.objects.count()
    batch = 500
    # archives go to a scratch media root (local filesystem storage, as in development)
    with tempfile.TemporaryDirectory() as media, override_settings(MEDIA_ROOT=media):
        started = time.perf_counter()
        result = retention_purge(
            now=timezone.now(), batch_size=batch, max_batches=max(1, PURGE // batch)
        )
        seconds = time.perf_counter() - started
    removed = sum(
        AuditCheckpoint.objects.order_by("id")[checkpoints_before:].values_list(
            "removed", flat=True
        )
    )
    return {"purged": result["purged"], "seconds": seconds, "events_removed": removed}


def _verify() -> dict:
    """A real chain of VERIFY_EVENTS events: full verification, then from a checkpoint."""
    from django.db import connection

    from apps.audit.actions import AuditAction
    from apps.audit.checkpoints import verified_checkpoint_write
    from apps.audit.services import chain_link_pending, record
    from apps.audit.verification import chain_verify

    with audit_bench._ScratchDatabase():
        record(AuditAction.LOGIN, data={"bench": True})
        chain_link_pending()
        fill = audit_bench.fill_chain_to(VERIFY_EVENTS)
        with connection.cursor() as cursor:  # the fill chose positions itself
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('audit_auditevent', 'position'), "
                "(SELECT max(position) FROM audit_auditevent))"
            )
        started = time.perf_counter()
        full = chain_verify(anchor_file=Path(os.devnull))
        full_seconds = time.perf_counter() - started
        if not full.intact:
            raise RuntimeError(f"benchmark chain is not intact: {full.summary()}")
        verified_checkpoint_write(result=full)
        for n in range(1000):  # a day's worth of new events after the checkpoint, say
            record(AuditAction.TASK_CLAIMED, task_id=n)
        chain_link_pending()
        started = time.perf_counter()
        incremental = chain_verify(anchor_file=Path(os.devnull), from_checkpoint=True)
        incremental_seconds = time.perf_counter() - started
        if not incremental.intact:
            raise RuntimeError(f"checkpointed verification failed: {incremental.summary()}")
    return {
        "events": full.events,
        "fill_seconds": fill,
        "full_seconds": full_seconds,
        "incremental_events": incremental.events - incremental.checked_from,
        "incremental_seconds": incremental_seconds,
    }


def run(report_dir: Path) -> dict:
    with inbox_bench._LoadSampler() as load:
        results = _run()
    results["load"] = (min(load.samples), max(load.samples))
    _write(report_dir / "history.md", results)
    return results


def _run() -> dict:
    from apps.accounts.models import User
    from apps.processes.models import ProcessVersion

    results: dict = {"engine": {"empty": [], "full": []}, "selector": {"empty": [], "full": []}}
    with _Databases() as databases:
        for kind in ("empty", "full"):
            _prepare(databases, kind)
        databases.use("full")
        print("history bench: generating the history …", flush=True)
        version = ProcessVersion.objects.get(definition__key="bench_inbox")
        results["history"] = _history(version.pk, User.objects.get(username="bench-requester").pk)
        for round_no in range(ROUNDS):
            order = ("empty", "full") if round_no % 2 == 0 else ("full", "empty")
            for kind in order:
                rate, selector = _measure(databases, kind)
                results["engine"][kind].append(rate)
                results["selector"][kind].append(selector)
                print(f"history bench: round {round_no + 1} {kind}: {rate:.1f}/s, "
                      f"selector p95 {selector['p95']:.2f} ms", flush=True)  # fmt: skip
        results["purge"] = _purge(databases)
        print(f"history bench: purge {results['purge']}", flush=True)
    if VERIFY_EVENTS:
        results["verify"] = _verify()
        print(f"history bench: verify {results['verify']}", flush=True)
    return results


METHOD = [
    "## Method and caveats",
    "",
    "- The machine is shared (2 cores, several sessions running tests and benchmarks at once): "
    "the load average above says how noisy the run was. The empty and full databases are "
    "measured alternately (empty/full, then full/empty, ...) so that drifting load hits both; "
    "compare the ratios, not the absolute figures, and the per-round figures for the noise.",
    "- Engine throughput here is in process (the services the API calls: start, then two "
    "approvals, each its own durable transaction with its audit events), not `make bench`'s "
    "Celery workers: the question is whether the history slows the database work down.",
    "- The history's audit links are synthetic (consistent seq / prev_hash, not real hashes): "
    "the linker and the chain head work on them; the verification figures come from a real chain "
    "in a third scratch database.",
    "- The purge archives to a scratch directory (local filesystem storage), 500 instances per "
    "transaction, each batch also writing a signed checkpoint and removing the archived events.",
    "- Run at the full scale (1M instances, 10M events) with the defaults: "
    "`python -m tests.benchmarks history`; the figures above used the BENCH_HISTORY_* sizes "
    "stated at the top.",
    "",
]


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def _write(path: Path, r: dict) -> None:
    from django.db import connection

    engine = {k: _median(v) for k, v in r["engine"].items()}
    p95 = {k: _median([s["p95"] for s in v]) for k, v in r["selector"].items()}
    p50 = {k: _median([s["p50"] for s in v]) for k, v in r["selector"].items()}
    engine_ratio = engine["empty"] / engine["full"] if engine["full"] else 0.0
    p95_ratio = p95["full"] / p95["empty"] if p95["empty"] else 0.0
    purge = r["purge"]
    per_instance = purge["seconds"] / purge["purged"] if purge["purged"] else 0.0
    sizes = r["history"]["sizes"]
    lines = [
        "# History-size benchmark",
        "",
        f"Generated by `tests/benchmarks/history_bench.py` "
        f"(`python -m tests.benchmarks history`) on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — "
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"PostgreSQL {connection.pg_version // 10000}. Machine load (1-minute average) "
        f"{r['load'][0]:.1f}–{r['load'][1]:.1f} during the run.",
        "",
        f"History: {HISTORY_INSTANCES:,} finished instances, {sizes['audit_auditevent'][0]:,} "
        f"audit events; live workload {LIVE_TASKS:,} tasks; {ROUNDS} alternating rounds.",
        "",
        "| measure | empty | with history | ratio | goal | met |",
        "|---|---|---|---|---|---|",
        f"| engine, instances/s (start + 2 approvals, in process) | {engine['empty']:.1f} | "
        f"{engine['full']:.1f} | {engine_ratio:.2f}× slower | ≤ {GOAL_RATIO:.2f}× | "
        f"{'yes' if engine_ratio <= GOAL_RATIO else 'no'} |",
        f"| inbox selector p95, ms | {p95['empty']:.2f} | {p95['full']:.2f} | "
        f"{p95_ratio:.2f}× | ≤ {GOAL_RATIO:.2f}× | {'yes' if p95_ratio <= GOAL_RATIO else 'no'} |",
        f"| inbox selector p50, ms | {p50['empty']:.2f} | {p50['full']:.2f} | — | — | — |",
        "",
        "Per round (engine instances/s; selector p95 ms): "
        + "; ".join(
            f"{kind}: {', '.join(f'{v:.1f}' for v in r['engine'][kind])} / "
            f"{', '.join(format(s['p95'], '.2f') for s in r['selector'][kind])}"
            for kind in ("empty", "full")
        )
        + ".",
        "",
        "## Purge",
        "",
        f"{purge['purged']:,} history instances archived and purged (500 per batch, their "
        f"{purge['events_removed']:,} audit events removed under checkpoints) in "
        f"{purge['seconds']:.1f} s: {per_instance * 1000:.1f} ms per instance, an extrapolated "
        f"{per_instance * 100000:.0f} s for 100,000 (goal < {GOAL_PURGE_100K_SECONDS:.0f} s: "
        f"{'yes' if per_instance * 100000 < GOAL_PURGE_100K_SECONDS else 'no'}).",
        "",
    ]
    if "verify" in r:
        v = r["verify"]
        rate = v["events"] / v["full_seconds"]
        lines += [
            "## Verification",
            "",
            f"A real chain of {v['events']:,} events (written in {v['fill_seconds']:.0f} s by "
            f"bulk INSERT): full verification {v['full_seconds']:.1f} s ({rate:,.0f} events/s, "
            f"an extrapolated {10_000_000 / rate:.0f} s for 10M); from the signed checkpoint "
            f"written after it, with {v['incremental_events']:,} new events: "
            f"{v['incremental_seconds']:.2f} s (goal for 10M with checkpoints: < "
            f"{GOAL_VERIFY_10M_SECONDS:.0f} s).",
            "",
        ]
    lines += [
        "## Table sizes with the history",
        "",
        "| table | rows | total size |",
        "|---|---|---|",
        *(
            f"| {table} | {rows:,} | {size / 1e6:,.0f} MB |"
            for table, (rows, size) in sizes.items()
        ),
        "",
        f"History generated in {r['history']['seconds']:.0f} s (generate_series).",
        "",
        *METHOD,
    ]
    path.write_text("\n".join(lines))
