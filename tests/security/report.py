"""Writes the corpus table of docs/security.md from the counts tests/security/plugin.py saved.

    python -m tests.security.report var/security-report.json docs/security.md

Replaces the text between ``<!-- corpus-table:start -->`` and ``<!-- corpus-table:end -->``.
"""

from __future__ import annotations

import json
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

START, END = "<!-- corpus-table:start -->", "<!-- corpus-table:end -->"


def render(results: dict, *, database: str) -> str:
    rows = sorted(
        ((name, row) for name, row in results.items() if name != "controls"),
        key=lambda item: (item[1]["source"] != "tests/security", item[0]),
    )
    lines = [
        f"Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node() or 'this machine'}"
        f" ({database}) by `make security-report`.",
        "",
        "| category | tests | malicious inputs | refused cleanly | failed | 5xx | statuses seen |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    total = {"inputs": 0, "passed": 0, "failed": 0, "5xx": 0}
    for name, row in rows:
        statuses = ", ".join(
            f"{code} ×{n}" for code, n in sorted(row["statuses"].items(), key=lambda i: i[0])
        )
        failed = row["failed"] + row.get("skipped", 0)
        lines.append(
            f"| {name} | `{row['source']}` | {row['inputs']} | {row['passed']} | {failed} | "
            f"{row['5xx']} | {statuses or '— (no HTTP: unit level)'} |"
        )
        for key in ("inputs", "passed", "5xx"):
            total[key] += row[key]
        total["failed"] += failed
    lines.append(
        f"| **total** | | **{total['inputs']}** | **{total['passed']}** | **{total['failed']}** |"
        f" **{total['5xx']}** | |"
    )
    own = sum(row["inputs"] for _, row in rows if row["source"] == "tests/security")
    lines += ["", f"Of these, {own} inputs are in `tests/security/` (the rest are referenced)."]
    controls = results.get("controls")
    if controls:
        lines.append(
            f"Positive controls (the same requests done right go through): "
            f"{controls['passed']} of {controls['inputs']} passed."
        )
    return "\n".join(lines)


def main(report_path: str, doc_path: str, database: str = "PostgreSQL") -> None:
    results = json.loads(Path(report_path).read_text(encoding="utf-8"))
    doc = Path(doc_path)
    text = doc.read_text(encoding="utf-8")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    doc.write_text(f"{head}{START}\n{render(results, database=database)}\n{END}{tail}", "utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:])
