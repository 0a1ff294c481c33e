"""`make load`: Locust, headless and time-bounded, against the real stack; writes
docs/benchmarks/load.md.

The stack is tests/chaos/stack.py's (uvicorn web, Celery worker, Celery beat, a private
PostgreSQL cluster and Redis, a local HTTP service for the service tasks). In the same run: the
engine's steps per second while the load runs, and bare in-process SpiffWorkflow on the same
automatic process (tests/benchmarks/engine_bench.py), so that their ratio compares like with like.

    python -m tests.load.run [--users 24] [--spawn-rate 4] [--seconds 120]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "var" / "load"
DOC = ROOT / "docs" / "benchmarks" / "load.md"
STEPS_PER_AUTOMATIC_INSTANCE = 3  # order_fulfilment: prepare, left, right


def _machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{mem_kb / 1024 / 1024:.1f} GB RAM"
    except (OSError, ValueError, IndexError):
        memory = "RAM unknown"
    return (
        f"{os.cpu_count()} CPU cores ({model or 'unknown model'}), {memory}, {platform.platform()}"
    )


def _pg_version(stack) -> str:
    return stack.sql("SHOW server_version")[0][0]


def _counts(stack) -> dict[str, int]:
    rows = stack.sql(
        "SELECT (SELECT count(*) FROM engine_job WHERE status = 'done'), "
        "(SELECT count(*) FROM engine_processinstance WHERE status = 'completed'), "
        "(SELECT count(*) FROM engine_processinstance)"
    )[0]
    return {"jobs_done": rows[0], "completed": rows[1], "instances": rows[2]}


def _bare_rate(stack) -> dict:
    from tests.benchmarks.engine_bench import bare_spiff_rate

    spec = stack.sql(
        "SELECT v.spec_json FROM processes_processversion v JOIN processes_processdefinition d "
        "ON d.id = v.definition_id WHERE d.key = 'order_fulfilment' ORDER BY v.number DESC LIMIT 1"
    )[0][0]
    return bare_spiff_rate(spec, 1000)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=int(os.environ.get("LOAD_USERS", "24")))
    parser.add_argument("--spawn-rate", type=float, default=4)
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("LOAD_SECONDS", "120")))
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("DJANGO_ENV", "test")
    django.setup()
    from tests.chaos.scenarios import Workload, settle, start_workload
    from tests.chaos.stack import Stack

    OUT.mkdir(parents=True, exist_ok=True)
    stack = Stack(log_prefix="load-")
    stack.http.fail_rate = 0.05
    try:
        stack.start()
        warm = Workload(tag="load-warmup")
        start_workload(stack, warm, auto=2, human=1)
        settle(stack, warm, timeout=120)
        bare_before = _bare_rate(stack)
        before = _counts(stack)
        env = dict(os.environ)
        env["LOAD_TOKENS"] = json.dumps(stack.tokens)
        env["LOAD_SERVICE_URL"] = stack.http.url
        keys_file = OUT / "accepted-keys.txt"
        keys_file.write_text("")
        env["LOAD_KEYS_FILE"] = str(keys_file)
        env["LOAD_STATS_FILE"] = str(OUT / "stats.json")
        prefix = OUT / "locust"
        started = time.monotonic()
        subprocess.run(  # noqa: S603
            [
                sys.executable,
                "-m",
                "locust",
                "-f",
                str(ROOT / "tests" / "load" / "locustfile.py"),
                "--headless",
                "--users",
                str(args.users),
                "--spawn-rate",
                str(args.spawn_rate),
                "--run-time",
                f"{args.seconds}s",
                "--host",
                stack.web_url,
                "--csv",
                str(prefix),
                "--only-summary",
                "--stop-timeout",
                "10",
            ],
            cwd=ROOT,
            env=env,
            check=False,
            stdout=open(OUT / "locust.log", "w"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
        )
        window = time.monotonic() - started
        after = _counts(stack)
        bare_after = _bare_rate(stack)
        # Let the work in flight finish (human tasks left open stay open: they wait on a person).
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            busy = stack.sql(
                "SELECT count(*) FROM engine_job WHERE status IN ('pending', 'running')"
            )[0][0]
            timers = stack.sql(
                "SELECT count(*) FROM engine_timer WHERE fired_at IS NULL AND NOT cancelled"
            )[0][0]
            if busy == 0 and timers == 0:
                break
            time.sleep(1)
        report = stack.check_invariants()
        stats = json.loads((OUT / "stats.json").read_text())
        accepted = set(keys_file.read_text().split())
        in_db = {
            key
            for (key,) in stack.sql(
                "SELECT business_key FROM engine_processinstance WHERE business_key LIKE 'load-%%' "
                "AND business_key NOT LIKE 'load-warmup-%%'"
            )
        }
        states = dict(
            stack.sql(
                "SELECT status, count(*) FROM engine_processinstance "
                "WHERE business_key LIKE 'load-%%' AND business_key NOT LIKE 'load-warmup-%%' "
                "GROUP BY status"
            )
        )
        result = {
            "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": _machine(),
            "postgres": _pg_version(stack),
            "users": args.users,
            "seconds": args.seconds,
            "loadavg": [round(x, 1) for x in os.getloadavg()],
            "window": window,
            "stats": stats,
            "before": before,
            "after": after,
            "bare": [bare_before, bare_after],
            "invariants": report,
            "accepted": len(accepted),
            "in_db": len(in_db),
            "lost": sorted(accepted - in_db),
            "unacknowledged": sorted(in_db - accepted),
            "states": states,
            "restarts": stack.restarts,
        }
        (OUT / "result.json").write_text(json.dumps(result, indent=1))
        write_doc(result)
        print(f"wrote {DOC}")
    finally:
        stack.stop()


def write_doc(r: dict) -> None:
    stats = r["stats"]
    rows = stats["endpoints"]
    total = stats["total"]
    five_xx = 0
    failure_lines = []
    for error in stats["errors"]:
        failure_lines.append(
            f"  - `{error['name']}` × {error['occurrences']}: {error['error'][:160]}"
        )
        if any(f"{code}:" in error["error"] for code in range(500, 600)):
            five_xx += error["occurrences"]
    jobs = r["after"]["jobs_done"] - r["before"]["jobs_done"]
    completed = r["after"]["completed"] - r["before"]["completed"]
    steps_per_s = jobs / r["window"]
    bare_steps = [b["instances_per_s"] * STEPS_PER_AUTOMATIC_INSTANCE for b in r["bare"]]
    bare = sum(bare_steps) / len(bare_steps)
    inv = r["invariants"]
    lines = [
        "# Load test",
        "",
        f"Measured {r['when']} by `make load` (`tests/load/run.py`): Locust, headless, "
        f"{r['users']} simulated users for {r['seconds']} s against the real stack — uvicorn web, "
        "one Celery worker (prefork, concurrency 2), Celery beat, PostgreSQL "
        f"{r['postgres']} and Redis (private instances started by the run), plus a local HTTP "
        "service for the HTTP service tasks (5% of its answers are 503, retried).",
        "",
        f"**Machine**: {r['machine']}; load average at the end of the run "
        f"{' / '.join(str(x) for x in r.get('loadavg', []))} (1 / 5 / 15 min). Locust itself, "
        "the web server, the worker, beat, PostgreSQL and Redis all run on these cores, so the "
        "figures are a floor, not a capacity rating. Settings: `DJANGO_ENV=test` (no API rate "
        "limit), job leases 5 s.",
        "",
        "## Users",
        "",
        "| user | weight | does |",
        "|---|---:|---|",
        "| designer | 1 | signs in, opens the designer's process list, lists processes and "
        "versions, validates a BPMN model |",
        "| requester | 3 | signs in, opens the catalog and My requests pages, starts approval "
        "requests (human task + HTTP call) and orders (HTTP call, 2 s timer, booking) with an "
        "Idempotency-Key, reads them back |",
        "| approver | 2 | signs in, opens the inbox page, lists the inbox, approves/rejects a "
        "task (a 409 when another approver won the race counts as a correct answer) |",
        "| API client | 2 | starts automatic orders (`order_fulfilment`, 3 steps) back to back, "
        "lists incidents, opens the SLA dashboard page |",
        "",
        "## Results per endpoint",
        "",
        "| endpoint | requests | failures | req/s | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def line(name: str, s: dict) -> str:
        return (
            f"| {name} | {s['requests']} | {s['failures']} | {s['rps']:.1f} | {s['p50']:.0f} | "
            f"{s['p95']:.0f} | {s['p99']:.0f} | {s['max']:.0f} |"
        )

    for s in sorted(rows, key=lambda s: -s["requests"]):
        lines.append(line(f"`{s['name']}`", s))
    lines.append(line("**all**", total))
    lines += [
        "",
        "## Verdict",
        "",
        f"- **5xx answers: {five_xx}** (goal 0). Failures of any kind: {total['failures']}"
        + (":" if failure_lines else "."),
        *failure_lines,
        f"- **Lost instances: {len(r['lost'])}** (goal 0): {r['accepted']} starts answered 201, "
        f"{r['accepted'] - len(r['lost'])} of them are in the database; "
        f"{len(r['unacknowledged'])} more exist whose 201 the client did not receive "
        "(in flight when Locust stopped). By state after the run: "
        f"{', '.join(f'{k} {v}' for k, v in sorted(r['states'].items()))} "
        "(running ones wait on an approver).",
        f"- **Invariant checker after the run: {len(inv['violations'])} violations** over "
        f"{inv['instances']} instances"
        + ("." if inv["ok"] else ": " + "; ".join(v["message"] for v in inv["violations"][:10])),
        f"- Components restarted by the supervisor: {len(r['restarts'])}"
        + (f" ({'; '.join(r['restarts'])})" if r["restarts"] else "")
        + ".",
        "",
        "## Engine throughput under load vs bare SpiffWorkflow (same run)",
        "",
        f"- Engine steps (jobs done) while the load ran: **{jobs} in {r['window']:.0f} s = "
        f"{steps_per_s:.1f} steps/s**, {completed} instances completed.",
        f"- Bare in-process SpiffWorkflow on `order_fulfilment` (no database, no broker; "
        f"`tests/benchmarks/engine_bench.bare_spiff_rate`, before and after the load): "
        f"{', '.join(f'{b:.0f}' for b in bare_steps)} steps/s.",
        f"- Share: **{steps_per_s / bare:.1%}** of bare SpiffWorkflow. Under load the engine also "
        "serves every HTTP request of the run on the same 2 cores, and its step rate is bounded by "
        "what the users start (it is not driven to saturation here); `make bench` "
        "(docs/benchmarks/engine.md) measures the saturated rate.",
        "",
        "Raw data: `var/load/` (Locust CSV files, `result.json`).",
    ]
    DOC.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
