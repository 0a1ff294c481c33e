"""The alert rules shipped in docker/prometheus/alerts.yml: valid for promtool, their unit tests
pass (docker/prometheus/alerts.test.yml), every alert links to a runbook section that exists, and
every metric they name is one Flowgate exports (or Prometheus's own ``up``)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from apps.reports.metrics import exposition

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "docker" / "prometheus" / "alerts.yml"
RULE_TESTS = ROOT / "docker" / "prometheus" / "alerts.test.yml"
RUNBOOKS = ROOT / "docs" / "runbooks"
PROMTOOL = os.environ.get("PROMTOOL") or shutil.which("promtool")

needs_promtool = pytest.mark.skipif(
    not PROMTOOL, reason="promtool not installed (make setup installs it; or set PROMTOOL)"
)


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - a fixed local binary, our own files
        [PROMTOOL, *args], capture_output=True, timeout=60, check=False, cwd=RULES.parent
    )


@needs_promtool
def test_promtool_accepts_the_rules():
    result = promtool("check", "rules", RULES.name)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert "SUCCESS: 16 rules found" in result.stdout.decode()


@needs_promtool
def test_the_rules_unit_tests_pass():
    result = promtool("test", "rules", RULE_TESTS.name)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()


def alerts() -> list[tuple[str, str]]:
    """(alert name, runbook_url) of every alert, read from the YAML text."""
    text = RULES.read_text()
    names = re.findall(r"^\s+- alert: (\S+)$", text, re.M)
    urls = re.findall(r'^\s+runbook_url: "([^"]+)"$', text, re.M)
    assert len(names) == len(urls) == 12
    return list(zip(names, urls, strict=True))


def test_every_alert_has_a_runbook_page_listed_in_the_index():
    index = (RUNBOOKS / "README.md").read_text()
    pages = {path.stem for path in RUNBOOKS.glob("*.md")} - {"README"}
    named = set()
    for name, url in alerts():
        assert url == f"docs/runbooks/{name}.md", name
        page = (ROOT / url).read_text()
        assert page.splitlines()[0] == f"# {name}", name
        for part in ("**Means:**", "**Look:**", "**Do:**"):
            assert part in page, (name, part)
        assert f"]({name}.md)" in index, name
        named.add(name)
    assert pages == named  # no page without its alert


@pytest.mark.django_db
def test_every_metric_the_rules_use_is_exported(client):
    exported = {
        line.split()[2] for line in exposition().decode().splitlines() if line.startswith("# TYPE ")
    }
    # counters are exposed with _total, histograms with _bucket/_sum/_count
    families = exported | {f"{n}_total" for n in exported} | {f"{n}_bucket" for n in exported}
    used = set(re.findall(r"\b(flowgate_[a-z_]+)", RULES.read_text()))
    assert used - families == set()
