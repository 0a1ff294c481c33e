"""pytest plugin: counts the security corpus per category for docs/security.md.

Loaded with ``-p tests.security.plugin`` (``make security-report`` does it). Tests of the corpus
carry ``@pytest.mark.corpus(category)``; the older security tests elsewhere are counted through
``REFERENCED`` (their node ids, without parameters). With FLOWGATE_SECURITY_REPORT=<file> the counts
are written there as JSON at the end of the session; ``python -m tests.security.report <file>``
turns them into the table.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict

import pytest

from tests.security import corpus

# Security tests that live beside the code they test; counted, not duplicated.
REFERENCED: dict[str, str] = {
    "tests/engine_core/test_xml.py::test_any_doctype_is_rejected": "xml parser",
    "tests/engine_core/test_xml.py::test_external_entity_is_rejected": "xml parser",
    "tests/engine_core/test_xml.py::test_billion_laughs_is_rejected": "xml parser",
    "tests/engine_core/test_xml.py::test_quadratic_blowup_is_rejected": "xml parser",
    "tests/engine_core/test_xml.py::test_entity_declaration_without_doctype_word_is_rejected": (
        "xml parser"
    ),
    "tests/engine_core/test_xml.py::test_doctype_hidden_in_utf16_is_rejected": "xml parser",
    "tests/engine_core/test_xml.py::test_oversize_is_rejected_before_parsing": "xml parser",
    "tests/engine_core/test_xml.py::test_absurd_depth_is_rejected": "xml parser",
    "tests/engine_core/test_expressions.py::test_hostile_payloads_are_rejected_cleanly": (
        "expression evaluator"
    ),
    "tests/connectors/test_ssrf.py::test_internal_url_forms_are_refused_and_canary_sees_nothing": (
        "SSRF (HTTP connector)"
    ),
    "tests/connectors/test_ssrf.py::test_machine_names_resolving_to_loopback_are_refused": (
        "SSRF (HTTP connector)"
    ),
    "tests/connectors/test_ssrf.py::test_redirects_to_internal_targets_are_refused": (
        "SSRF (HTTP connector)"
    ),
    "tests/connectors/test_ssrf.py::test_a_name_resolving_to_any_internal_address_is_refused": (
        "SSRF (HTTP connector)"
    ),
}

_results: dict[str, dict] = defaultdict(
    lambda: {"inputs": 0, "passed": 0, "failed": 0, "skipped": 0, "5xx": 0, "statuses": {}}
)


def _category(item) -> tuple[str, str] | None:
    marker = item.get_closest_marker("corpus")
    if marker is not None:
        return marker.args[0], "tests/security"
    base = item.nodeid.split("[", 1)[0]
    if base in REFERENCED:
        return REFERENCED[base], base.split("::", 1)[0]
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    found = _category(item)
    if found is None:
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        category, source = found
        row = _results[category]
        row["source"] = source
        row["inputs"] += 1
        row[report.outcome] += 1
        for status in corpus.seen(item.nodeid):
            row["statuses"][str(status)] = row["statuses"].get(str(status), 0) + 1
            if status >= 500:
                row["5xx"] += 1


def pytest_sessionfinish(session, exitstatus):
    path = os.environ.get("FLOWGATE_SECURITY_REPORT")
    if path:
        with open(path, "w", encoding="utf-8") as out:
            json.dump(dict(_results), out, indent=1, sort_keys=True)
