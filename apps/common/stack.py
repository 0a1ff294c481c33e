"""The command lines of the portal's three processes, built in one place.

``manage.py run_portal``, the integration tests' workers, the benchmarks and the fault-injection
suite all start the same programs; docker/compose.yaml runs the same commands.
"""

from __future__ import annotations

import sys


def web_command(*, host: str = "127.0.0.1", port: int | str = 8000) -> list[str]:
    """The ASGI web server (uvicorn; Channels-capable). ``--no-proxy-headers``: uvicorn never
    believes X-Forwarded-For (by default it does, from 127.0.0.1); Flowgate reads forwarded headers
    only from TRUSTED_PROXIES, in one place (apps/common/proxies.py)."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "portal.asgi:application",
        "--host",
        host,
        "--port",
        str(port),
        "--no-access-log",
        "--no-proxy-headers",
    ]


def worker_command(
    *,
    concurrency: int | str = 2,
    loglevel: str = "INFO",
    pool: str = "prefork",
    name: str | None = None,
    heartbeat: bool = True,
) -> list[str]:
    """A Celery worker. Gossip and mingle are off: workers share nothing but the broker and the
    database. ``name`` becomes ``<name>@<host>``; ``heartbeat=False`` for short-lived test workers."""
    cmd = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "portal",
        "worker",
        "--loglevel",
        loglevel,
        "--concurrency",
        str(concurrency),
        "--pool",
        pool,
        "--without-gossip",
        "--without-mingle",
    ]
    if not heartbeat:
        cmd.append("--without-heartbeat")
    if name:
        cmd += ["-n", f"{name}@%h"]
    return cmd


def beat_command(*, loglevel: str = "INFO") -> list[str]:
    """Celery beat: timers, the job sweeper, audit linking and heartbeats."""
    return [sys.executable, "-m", "celery", "-A", "portal", "beat", "--loglevel", loglevel]


def portal_commands(
    *, host: str = "127.0.0.1", port: int | str = 8000, concurrency: int | str = 2
) -> dict[str, list[str]]:
    """The whole portal: web, worker and beat (``run_portal`` and the chaos suite)."""
    return {
        "web": web_command(host=host, port=port),
        "worker": worker_command(concurrency=concurrency),
        "beat": beat_command(),
    }
