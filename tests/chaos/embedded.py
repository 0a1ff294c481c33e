"""The embedded default (SQLite + filesystem broker, no server) on a small tmpfs that fills up.

``EmbeddedStack`` mounts a 16 MB tmpfs as FLOWGATE_VAR_DIR (needs root), migrates and provisions
it, and runs the three processes of run_portal on it. ``disk_full_run`` fills the disk with a
ballast file, checks that starts are refused with a clear error and that nothing half-written
remains, frees the space and measures the recovery.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
import time
from pathlib import Path

import requests

from tests.chaos.scenarios import RunResult, Workload, settle, start_instance, start_workload
from tests.chaos.stack import HTTP_PORT, ROOT, WEB_PORT, Stack, wait_for

TMPFS_SIZE = "16m"


def can_mount() -> str:
    """Why a tmpfs cannot be mounted here ("" when it can)."""
    if os.geteuid() != 0:
        return "mounting a tmpfs needs root"
    probe = Path("/tmp/flowgate-chaos-mount-probe")
    probe.mkdir(exist_ok=True)
    done = subprocess.run(  # noqa: S603
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(probe)], capture_output=True
    )
    if done.returncode:
        return f"mount -t tmpfs failed: {done.stderr.decode().strip()}"
    subprocess.run(["umount", str(probe)], check=True)  # noqa: S603
    return ""


class EmbeddedStack(Stack):
    """run_portal on the embedded default: no DATABASE_URL, no REDIS_URL."""

    def __init__(self):
        super().__init__(web_port=WEB_PORT + 1, http_port=HTTP_PORT + 1, log_prefix="embedded-")
        self.var = self.base / "var"
        self.db_path = self.var / "flowgate.sqlite3"
        self.ballast = self.var / "ballast"

    def env(self) -> dict[str, str]:
        env = super().env()
        env["DATABASE_URL"] = ""
        env["REDIS_URL"] = ""
        return env

    def start(self) -> EmbeddedStack:
        subprocess.run(  # noqa: S603
            ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", str(self.var)],
            check=True,
        )
        self.http.start()
        migrated = self.manage("migrate", "--noinput")
        if migrated.returncode:
            raise RuntimeError(f"migrate failed: {migrated.stderr[-2000:]}")
        self.tokens = self._provision()
        for name in ("web", "worker", "beat"):
            self.start_component(name)
        wait_for(self.web_healthy, timeout=60, what="the embedded web process")
        self.supervise()
        return self

    def _provision(self) -> dict[str, str]:
        import json
        import sys

        done = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "tests.chaos.provision"],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode:
            raise RuntimeError(f"provisioning failed: {done.stderr[-2000:]}")
        return json.loads(done.stdout)["tokens"]

    def stop(self) -> None:
        self._supervising.clear()
        if self._checker is not None:
            self._checker.kill()
            self._checker.wait(timeout=10)
            self._checker = None
        for component in self.components.values():
            component.stop()
        try:
            self.http.stop()
        except Exception:  # noqa: S110 - best effort during teardown
            pass
        subprocess.run(["umount", "-l", str(self.var)], check=False)  # noqa: S603
        import shutil

        shutil.rmtree(self.base, ignore_errors=True)

    # --- reads straight from the SQLite file ------------------------------------------------

    def sql(self, query: str, params: tuple = ()) -> list[tuple]:
        query = query.replace("%s", "?")
        # Read-only, but through the WAL and its index like the portal's own connections: the main
        # file alone is not a database while a checkpoint is under way (one that a full disk cut
        # short is finished from the WAL later), so reading it with immutable=1 reported
        # "malformed" in the 7th run of the first FULL=1 session, a false alarm of the harness.
        mode = "ro"
        for attempt in range(20):
            try:
                with sqlite3.connect(
                    f"file:{self.db_path}?mode={mode}", uri=True, timeout=5
                ) as conn:
                    return conn.execute(query, params).fetchall()
            except sqlite3.OperationalError:
                if attempt == 19:
                    raise
                time.sleep(0.25)
        return []

    def integrity(self) -> str:
        return self.sql("PRAGMA integrity_check")[0][0]

    # --- the fault ----------------------------------------------------------------------------

    def fill_disk(self) -> int:
        """Write a ballast file until the tmpfs has no byte left; its size."""
        written = 0
        fd = os.open(self.ballast, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            for chunk in (1 << 20, 1 << 12, 1):
                block = b"\0" * chunk
                while True:
                    try:
                        written += os.write(fd, block)
                    except OSError as exc:
                        if exc.errno != errno.ENOSPC:
                            raise
                        break
        finally:
            os.close(fd)
        return written

    def free_disk(self) -> None:
        self.ballast.unlink(missing_ok=True)


def _page_write_on_a_full_disk(stack: EmbeddedStack) -> list[str]:
    """A person signing in on a full disk (the session and last login must be written) gets the
    507 page that says nothing was saved, not a 500."""
    browser = requests.Session()
    try:
        browser.get(f"{stack.web_url}/accounts/login/", timeout=10)
        response = browser.post(
            f"{stack.web_url}/accounts/login/",
            data={
                "username": "approver",
                "password": "approver-demo-pass",
                "csrfmiddlewaretoken": browser.cookies.get("csrftoken", ""),
            },
            headers={"Referer": f"{stack.web_url}/accounts/login/"},
            timeout=10,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        return [f"sign-in page on a full disk: no answer ({exc})"]
    if response.status_code == 302:
        return []  # there was room for the session after all
    if response.status_code != 507 or "nothing was saved" not in response.text:
        return [f"sign-in page on a full disk: {response.status_code} {response.text[:200]}"]
    return []


def disk_full_run(stack: EmbeddedStack, run: int, *, session: str) -> RunResult:
    work = Workload(tag=f"{session}-disk_full-{run}")
    restarts_before = len(stack.restarts)
    start_workload(stack, work, auto=2, human=1)
    accepted_before = set(work.keys)
    stack.fill_disk()
    refused: dict[str, str] = {}
    problems: list[str] = []
    for i in range(3):
        key = f"{work.tag}-{100 + i}"
        body = {
            "process_key": "chaos_order",
            "business_key": key,
            "variables": {"base": stack.http.url, "n": 100 + i, "timeout": 2},
        }
        try:
            response = stack.api(
                "designer", "POST", "/instances/", json=body, headers={"Idempotency-Key": key}
            )
        except requests.RequestException as exc:
            problems.append(f"start {key} on a full disk: no answer ({exc})")
            continue
        if response.status_code == 201:
            work.keys[key] = "chaos_order"  # there was room after all: it must finish too
            continue
        error = response.json() if "json" in response.headers.get("Content-Type", "") else {}
        refused[key] = f"{response.status_code} {error.get('error')}: {error.get('message')}"
        if response.status_code != 507 or error.get("error") != "storage_full":
            problems.append(
                f"start {key} on a full disk: {response.status_code} {response.text[:200]}"
            )
    problems += _page_write_on_a_full_disk(stack)
    time.sleep(2)
    stack.free_disk()
    fault_ended = time.monotonic()
    # Nothing half-written: the file is consistent and no refused start left a row behind.
    # Checked as soon as there is room again, before the refused starts are retried: a corrupt
    # page would still be there, while a reader opened on the full disk itself may have to
    # write the WAL index and then fails with "disk I/O error" (a harness false alarm in CI).
    integrity = stack.integrity()
    half = [key for _, key, _ in stack.instances(work.tag) if key in refused]
    if integrity != "ok":
        problems.append(f"SQLite integrity_check after a full disk: {integrity}")
    if half:
        problems.append(f"refused starts left instances behind: {half}")
    for key in refused:  # the client retries its refused starts with the same key
        start_instance(stack, work, key, "chaos_order", deadline=time.monotonic() + 30)
    finished = settle(stack, work, timeout=90)
    rows = stack.instances(work.tag)
    keys = [key for _, key, _ in rows]
    if sorted(keys) != sorted(work.keys):
        problems.append(f"instances {sorted(keys)} != requested {sorted(work.keys)}")
    if not accepted_before <= set(keys):
        problems.append(f"accepted instances lost: {sorted(accepted_before - set(keys))}")
    if stack.integrity() != "ok":
        problems.append("SQLite integrity_check failed after recovery")
    report = stack.check_invariants()
    problems += work.problems
    problems += [f"[{v['check']}] {v['message']}" for v in report["violations"]]
    return RunResult(
        scenario="disk_full",
        run=run,
        instances=len(rows),
        violations=len(problems),
        recovery_seconds=round(max(0.0, finished - fault_ended), 2),
        details=problems[:20] + [f"refused: {v}" for v in list(refused.values())[:1]],
        restarts=stack.restarts[restarts_before:],
    )
