"""`make bench`: engine, audit, reports, inbox and migration benchmarks on PostgreSQL + Redis, written to docs/benchmarks/."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import django


def _ensure_database(settings) -> None:
    """Create the benchmark database on first use (make bench on a fresh machine)."""
    import psycopg
    from psycopg import sql

    db = settings.DATABASES["default"]
    params = {
        "host": db["HOST"] or "127.0.0.1",
        "port": db["PORT"] or 5432,
        "user": db["USER"] or "postgres",
    }
    if db.get("PASSWORD"):
        params["password"] = db["PASSWORD"]
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (db["NAME"],)
        ).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db["NAME"])))


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    if settings.DB_VENDOR != "postgresql" or not settings.REDIS_URL:
        print("make bench needs DATABASE_URL (PostgreSQL) and REDIS_URL", file=sys.stderr)
        return 2
    _ensure_database(settings)
    call_command("migrate", verbosity=0)
    report_dir = Path(settings.BASE_DIR) / "docs" / "benchmarks"
    report_dir.mkdir(parents=True, exist_ok=True)
    only = set(sys.argv[1:])
    if not only or "engine" in only:
        from tests.benchmarks import engine_bench

        engine_bench.run(report_dir)
    if "profile" in only:  # not part of a plain `make bench`: cProfile slows the run
        from tests.benchmarks import engine_profile

        engine_profile.run(report_dir)
    if "tracing-profile" in only:  # not part of a plain `make bench`
        from tests.benchmarks import tracing_profile

        tracing_profile.run(report_dir)
    if "tracing-pairs" in only:  # not part of a plain `make bench`
        from tests.benchmarks import tracing_profile

        tracing_profile.pairs(report_dir)
    if not only or "audit" in only:
        from tests.benchmarks import audit_bench

        audit_bench.run(report_dir)
    if not only or "reports" in only:
        from tests.benchmarks import reports_bench

        reports_bench.run(report_dir)
    if not only or "dmn" in only:
        from tests.benchmarks import dmn_bench

        dmn_bench.run(report_dir)
    if not only or "inbox" in only:
        from tests.benchmarks import inbox_bench

        inbox_bench.run(report_dir)
    if not only or "migration" in only:
        from tests.benchmarks import migration_bench

        migration_bench.run(report_dir)
    if "history" in only:  # on request only: it loads a large history into scratch databases
        from tests.benchmarks import history_bench

        history_bench.run(report_dir)
    if "purge" in only:  # on request only: a scratch database with a purgeable history
        from tests.benchmarks import purge_bench

        purge_bench.run(report_dir)
    if "tracing" in only:  # on request only: it installs the OpenTelemetry SDK in this process
        from tests.benchmarks import tracing_bench

        tracing_bench.run(report_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
