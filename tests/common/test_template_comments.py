"""Django's ``{# ... #}`` comment is single-line: spread over two lines it is printed as text
(a new user saw "{# A read-only diagram with progress… #}" on every task page). Multi-line
comments must use ``{% comment %}``."""

from __future__ import annotations

import re
from pathlib import Path

from django.template import engines

_OPEN = re.compile(r"\{#(?![^\n]*?#\})")


def _template_files() -> list[Path]:
    files: list[Path] = []
    for engine in engines.all():
        for directory in engine.template_dirs:
            files.extend(p for p in Path(directory).rglob("*") if p.suffix in (".html", ".txt"))
    return sorted(set(files))


def test_templates_are_found():
    names = {p.name for p in _template_files()}
    assert {"base.html", "_diagram.html", "task.html"} <= names


def test_no_template_has_a_multi_line_hash_comment():
    offenders = []
    for path in _template_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if _OPEN.search(line):
                offenders.append(f"{path}:{number}")
    assert offenders == []
