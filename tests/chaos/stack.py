"""The whole portal as real processes, on servers this suite may break.

``Stack`` starts a private PostgreSQL cluster (initdb + pg_ctl, port 5442), a private Redis
(port 6395), a local flaky HTTP service, and the three processes of ``manage.py run_portal``
(uvicorn web, Celery worker, Celery beat) against them. It never touches the shared servers on
5432/6379. Used by the chaos suite (tests/chaos) and the load run (tests/load).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg
import requests

from apps.common.stack import portal_commands
from tests.chaos.flaky import FlakyServer

ROOT = Path(__file__).resolve().parents[2]
PG_PORT = int(os.environ.get("CHAOS_PG_PORT", "5442"))
REDIS_PORT = int(os.environ.get("CHAOS_REDIS_PORT", "6395"))
WEB_PORT = int(os.environ.get("CHAOS_WEB_PORT", "18500"))
HTTP_PORT = int(os.environ.get("CHAOS_HTTP_PORT", "18510"))
DB_NAME = "flowgate_chaos"
# Engine timing for the run: short leases so a dead worker's job comes back within seconds.
ENGINE_ENV = {
    "FLOWGATE_JOB_LEASE_SECONDS": "5",
    "FLOWGATE_JOB_LOST_AFTER_SECONDS": "3",
    "FLOWGATE_JOB_RETRY_BASE_SECONDS": "0.2",
    "FLOWGATE_JOB_RETRY_MAX_SECONDS": "1",
    # A killed worker's job is free again 5 s after its HTTP call's own timeout (2 s) instead of 15,
    # and the sweeper that hands it out again runs every second instead of every 5 (decision 046:
    # worker_kill recovered in 24-35 s against the 30 s bound with 17 s leases and 5 s sweeps).
    # A late result of the old worker is still refused (the result is applied only under its claim).
    "FLOWGATE_JOB_LEASE_MARGIN_SECONDS": "5",
    "FLOWGATE_JOB_SWEEP_EVERY_SECONDS": "1",
    # The HTTP connector's circuit breaker stays closed here: it deliberately delays calls to a
    # failing service (30 s cool-downs), which the scenarios' 30 s recovery bound cannot tell
    # from a slow recovery. Its own tests (tests/connectors, real processes) cover it.
    "FLOWGATE_HTTP_BREAKER_FAILURES": "1000000",
}
# The breaker scenario's own target: a path prefix of the flaky service that only it calls, keyed
# apart from the origin (host + path prefix, decision 039) with thresholds on the suite's time
# scale. The other scenarios call /work, under the origin's circuit, which stays closed.
BREAKER_PREFIX = "/breaker"
BREAKER_THRESHOLDS = {"failures": 2, "cooldown": 2, "probe": 10}


def pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return found[-1].parent if found else None


def missing_tools() -> str:
    """Why this machine cannot run the stack ("" when it can)."""
    if pg_bin() is None:
        return "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin"
    if shutil.which("redis-server") is None:
        return "no redis-server on PATH"
    return ""


def _as_postgres(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the postgres user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def wait_for(predicate, *, timeout: float, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


class PrivatePostgres:
    def __init__(self, base: Path, port: int = PG_PORT):
        self.base = base
        self.data = base / "pg"
        self.port = port
        self.bin = pg_bin()
        self.options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c max_connections=200"

    def _ctl(self, *args: str, timeout: float = 60) -> None:
        subprocess.run(  # noqa: S603
            _as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.data), *args]),
            check=True,
            capture_output=True,
            timeout=timeout,
        )

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.base, user="postgres")
        subprocess.run(  # noqa: S603
            _as_postgres(
                [str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"]
            ),
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self) -> None:
        self._ctl("-l", str(self.base / "pg.log"), "-w", "-o", self.options, "start")

    def stop(self) -> None:
        self._ctl("-m", "fast", "-w", "stop")

    def restart(self) -> None:
        self._ctl(
            "-l", str(self.base / "pg.log"), "-m", "fast", "-w", "-o", self.options, "restart"
        )

    def url(self, db: str = DB_NAME) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{db}"

    def create_database(self, name: str = DB_NAME) -> None:
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')


class PrivateRedis:
    def __init__(self, base: Path, port: int = REDIS_PORT):
        self.base = base
        self.port = port

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis.from_url(self.url, socket_connect_timeout=0.5).ping())
        except redis.exceptions.ConnectionError:
            return False

    def start(self) -> None:
        """Start empty: no RDB, no AOF (a restart loses every queued message)."""
        subprocess.run(  # noqa: S603
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "yes",
                "--dir",
                str(self.base),
                "--pidfile",
                str(self.base / "redis.pid"),
                "--logfile",
                str(self.base / "redis.log"),
            ],
            check=True,
        )
        wait_for(self.ping, timeout=10, what="private redis up")

    def stop(self) -> None:
        import redis

        try:
            redis.Redis.from_url(self.url).shutdown(nosave=True)
        except redis.exceptions.ConnectionError:
            pass
        wait_for(lambda: not self.ping(), timeout=10, what="private redis down")


class Component:
    """One portal process (web, worker or beat) in its own process group."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], log: Path):
        self.name, self.cmd, self.env, self.log = name, cmd, env, log
        self.proc: subprocess.Popen | None = None
        self.stopped = False  # stopped or killed on purpose: the supervisor leaves it alone

    def start(self) -> Component:
        self.proc = subprocess.Popen(  # noqa: S603
            self.cmd,
            cwd=ROOT,
            env=self.env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=open(self.log, "a"),  # noqa: SIM115
        )
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole process group: a crash, no clean-up."""
        self.stopped = True
        if self.alive():
            os.killpg(self.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        self.stopped = True
        if not self.alive():
            return
        os.killpg(self.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()


class Stack:
    def __init__(
        self,
        *,
        concurrency: int = 2,
        env: dict[str, str] | None = None,
        web_port: int = WEB_PORT,
        http_port: int = HTTP_PORT,
        log_prefix: str = "",
    ):
        self.log_prefix = log_prefix
        self.web_port = web_port
        self.http_port = http_port
        self.base = Path(tempfile.mkdtemp(prefix="flowgate-chaos-"))
        os.chmod(self.base, 0o755)  # noqa: S103 - the postgres user must reach its data dir
        (self.base / "var").mkdir()
        self.logs = ROOT / "var" / "chaos"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.pg = PrivatePostgres(self.base)
        self.redis = PrivateRedis(self.base)
        self.http = FlakyServer(http_port)
        self.concurrency = concurrency
        self.extra_env = env or {}
        self.components: dict[str, Component] = {}
        self.tokens: dict[str, str] = {}
        self._db: psycopg.Connection | None = None
        self._sessions: dict[str, requests.Session] = {}
        self.beats = 0
        self._checker: subprocess.Popen | None = None
        # Like docker/compose.yaml's `restart: unless-stopped`: a component that exits on its own
        # is started again (and noted), as a process supervisor would.
        self.restarts: list[str] = []
        self._fresh_logs: set[Path] = set()
        self._lock = threading.RLock()
        self._supervising = threading.Event()
        self._supervisor: threading.Thread | None = None

    # --- environment ------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in {"DATABASE_URL", "REDIS_URL", "TEST_DATABASE_NAME", "PYTEST_CURRENT_TEST"}
        }
        env.update(
            {
                "DJANGO_ENV": "test",
                "DJANGO_SETTINGS_MODULE": "portal.settings",
                "DATABASE_URL": self.pg.url(),
                "REDIS_URL": self.redis.url,
                "FLOWGATE_VAR_DIR": str(self.base / "var"),
                "FLOWGATE_HTTP_ALLOWLIST": f"127.0.0.1:{self.http_port}",
                "PYTHONPATH": str(ROOT),
                "LOG_LEVEL": "WARNING",
                "FLOWGATE_HTTP_BREAKER_TARGETS": json.dumps(
                    {f"http://127.0.0.1:{self.http_port}{BREAKER_PREFIX}": BREAKER_THRESHOLDS}
                ),
                **ENGINE_ENV,
                **self.extra_env,
            }
        )
        return env

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def manage(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> Stack:
        self.pg.init()
        self.pg.start()
        self.pg.create_database()
        self.redis.start()
        self.http.start()
        migrated = self.manage("migrate", "--noinput")
        if migrated.returncode:
            raise RuntimeError(f"migrate failed: {migrated.stderr[-2000:]}")
        provision = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "tests.chaos.provision"],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        if provision.returncode:
            raise RuntimeError(f"provisioning failed: {provision.stderr[-2000:]}")
        self.tokens = json.loads(provision.stdout)["tokens"]
        for name in ("web", "worker", "beat"):
            self.start_component(name)
        wait_for(self.web_healthy, timeout=60, what="the web process")
        self.supervise()
        return self

    def supervise(self) -> None:
        self._supervising.set()
        self._supervisor = threading.Thread(target=self._watch, daemon=True, name="supervisor")
        self._supervisor.start()

    def _watch(self) -> None:
        while self._supervising.is_set():
            with self._lock:
                for key, component in list(self.components.items()):
                    if component.stopped or component.alive():
                        continue
                    code = component.proc.returncode if component.proc else None
                    self.restarts.append(f"{key} exited by itself (code {code}); restarted")
                    component.stopped = True
                    replacement = Component(key, component.cmd, component.env, component.log)
                    self.components[key] = replacement.start()
            time.sleep(0.5)

    def commands(self) -> dict[str, list[str]]:
        return portal_commands(
            host="127.0.0.1", port=str(self.web_port), concurrency=str(self.concurrency)
        )

    def start_component(self, name: str, *, as_name: str | None = None) -> Component:
        """Start ``web``, ``worker`` or ``beat`` as run_portal does (``as_name``: a second copy)."""
        key = as_name or name
        cmd = list(self.commands()[name])
        if "INFO" in cmd:
            cmd[cmd.index("INFO")] = "WARNING"
        if name == "worker":
            cmd += ["-n", f"{key}@%h"]
        if name == "beat":
            self.beats += 1
            cmd += ["--schedule", str(self.base / f"celerybeat-{key}-{self.beats}")]
        with self._lock:
            log = self.logs / f"{self.log_prefix}{key}.log"
            if log not in self._fresh_logs:  # one log per session, appended across restarts
                log.write_text("")
                self._fresh_logs.add(log)
            component = Component(key, cmd, self.env(), log).start()
            self.components[key] = component
        return component

    def web_healthy(self) -> bool:
        try:
            return requests.get(f"{self.web_url}/healthz", timeout=2).status_code in (200, 503)
        except requests.RequestException:
            return False

    def stop(self) -> None:
        self._supervising.clear()
        if self._checker is not None:
            self._checker.kill()
            self._checker.wait(timeout=10)
        for component in self.components.values():
            component.stop()
        try:
            self.http.stop()
        except Exception:  # noqa: S110 - best effort during teardown
            pass
        if self._db is not None:
            self._db.close()
        for action in (self.redis.stop, self.pg.stop):
            try:
                action()
            except Exception:  # noqa: S110 - best effort during teardown
                pass
        shutil.rmtree(self.base, ignore_errors=True)

    # --- database reads (the test's own view, never through the portal) -------------------

    def sql(self, query: str, params: tuple = ()) -> list[tuple]:
        for attempt in range(30):
            try:
                if self._db is None or self._db.closed:
                    self._db = psycopg.connect(self.pg.url(), autocommit=True, connect_timeout=2)
                return self._db.execute(query, params).fetchall()
            except psycopg.OperationalError:
                self._db = None
                if attempt == 29:
                    raise
                time.sleep(0.5)
        return []

    def instances(self, tag: str) -> list[tuple[int, str, str]]:
        return self.sql(
            "SELECT id, business_key, status FROM engine_processinstance "
            "WHERE business_key LIKE %s ORDER BY id",
            (f"{tag}-%",),
        )

    def open_tasks(self, tag: str) -> list[int]:
        rows = self.sql(
            "SELECT t.id FROM inbox_humantask t JOIN engine_processinstance i "
            "ON i.id = t.instance_id WHERE t.status = 'open' AND i.business_key LIKE %s "
            "ORDER BY t.id",
            (f"{tag}-%",),
        )
        return [r[0] for r in rows]

    def jobs(self, tag: str, *, status: str | None = None) -> list[tuple[int, int, str, str]]:
        query = (
            "SELECT j.id, j.instance_id, j.status, j.locked_by FROM engine_job j "
            "JOIN engine_processinstance i ON i.id = j.instance_id WHERE i.business_key LIKE %s"
        )
        params: tuple = (f"{tag}-%",)
        if status:
            query += " AND j.status = %s"
            params += (status,)
        return self.sql(query + " ORDER BY j.id", params)

    # --- the REST API, as scripted users --------------------------------------------------

    def session(self, user: str) -> requests.Session:
        if user not in self._sessions:
            session = requests.Session()
            session.headers["Authorization"] = f"Token {self.tokens[user]}"
            self._sessions[user] = session
        return self._sessions[user]

    def api(self, user: str, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return self.session(user).request(method, f"{self.web_url}/api/v1{path}", **kwargs)

    # --- verdict ----------------------------------------------------------------------------

    def check_invariants(self) -> dict:
        """The invariant checker's report (a long-lived checker process: Django starts once)."""
        if self._checker is None or self._checker.poll() is not None:
            self._checker = subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", "tests.chaos.checker"],
                cwd=ROOT,
                env=self.env(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=open(self.logs / "checker.log", "a"),  # noqa: SIM115
                text=True,
            )
        try:
            self._checker.stdin.write("check\n")
            self._checker.stdin.flush()
            return json.loads(self._checker.stdout.readline())
        except (BrokenPipeError, json.JSONDecodeError) as exc:
            self._checker = None
            return {
                "ok": False,
                "instances": 0,
                "violations": [{"check": "checker", "message": f"checker failed: {exc}"}],
            }
