"""Production settings refuse to start without a secret key, allowed hosts and a real database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOOD = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": "x" * 60,
    "ALLOWED_HOSTS": "flowgate.example.com",
    "DATABASE_URL": "postgres://flowgate@db.example.com:5432/flowgate",
    "FLOWGATE_SECRET_KEYS": "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY=",
    "FLOWGATE_AUDIT_KEYS": "audit-key-for-tests-only-0123456789abcdef",
}


def load_settings(**overrides: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in GOOD and k != "REDIS_URL"}
    env.update(GOOD)
    env.update(overrides)
    env = {k: v for k, v in env.items() if v != "<unset>"}
    return subprocess.run(  # noqa: S603
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='portal.settings'; "
            "from django.conf import settings; print(settings.DEBUG, settings.DB_VENDOR)",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_complete_production_settings_load():
    result = load_settings()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False postgresql"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"SECRET_KEY": "<unset>"}, "Production needs SECRET_KEY"),
        ({"SECRET_KEY": "short"}, "Production needs SECRET_KEY"),
        ({"ALLOWED_HOSTS": "<unset>"}, "Production needs ALLOWED_HOSTS"),
        ({"DATABASE_URL": "<unset>"}, "Production needs DATABASE_URL pointing at PostgreSQL"),
        (
            {"DATABASE_URL": "sqlite:////tmp/x.sqlite3"},
            "Production needs DATABASE_URL pointing at PostgreSQL",
        ),
        ({"FLOWGATE_SECRET_KEYS": "<unset>"}, "Production needs FLOWGATE_SECRET_KEYS"),
        ({"FLOWGATE_AUDIT_KEYS": "<unset>"}, "Production needs FLOWGATE_AUDIT_KEYS"),
        ({"FLOWGATE_AUDIT_KEYS": "short-key"}, "Production needs FLOWGATE_AUDIT_KEYS"),
    ],
)
def test_production_refuses_to_start_without(override, message):
    result = load_settings(**override)
    assert result.returncode != 0
    assert message in result.stderr


@pytest.mark.parametrize(("debug", "expected"), [("<unset>", "False"), ("true", "True")])
def test_the_embedded_default_runs_with_debug_off_unless_asked(debug, expected):
    result = load_settings(
        DJANGO_ENV="development",
        SECRET_KEY="<unset>",
        ALLOWED_HOSTS="<unset>",
        DATABASE_URL="",
        FLOWGATE_SECRET_KEYS="<unset>",
        DEBUG=debug,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{expected} sqlite"
