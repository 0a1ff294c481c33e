#!/usr/bin/env python3
"""mypy over all of apps/ and portal/, against a per-module baseline that may only shrink.

    DJANGO_ENV=test .venv/bin/python .ci/mypy_baseline.py            # check (make lint)
    DJANGO_ENV=test .venv/bin/python .ci/mypy_baseline.py --update   # after fixing errors

The baseline (.ci/mypy-baseline.txt) lists, per module, how many mypy errors it may still have;
a module not listed may have none. The check fails when a module has more errors than listed
(it prints them), and when it has fewer (the baseline must follow the fix down, so the errors
fixed cannot come back unnoticed). ``--update`` writes the current counts, and refuses to write
a count higher than the listed one. Goal: an empty file.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / ".ci" / "mypy-baseline.txt"
TARGETS = ["apps", "portal"]
ERROR = re.compile(r"^(?P<path>[^:\s]+\.py):\d+(?::\d+)?: error: ")


def run_mypy() -> tuple[Counter[str], dict[str, list[str]]]:
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [sys.executable, "-m", "mypy", *TARGETS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    last = (result.stdout.strip().splitlines() or [""])[-1]
    if result.returncode not in (0, 1) or not last.startswith(("Found ", "Success")):
        sys.stdout.write(result.stdout + result.stderr)
        sys.exit("mypy did not finish: see above")
    counts: Counter[str] = Counter()
    lines: dict[str, list[str]] = {}
    for line in result.stdout.splitlines():
        match = ERROR.match(line)
        if match:
            counts[match["path"]] += 1
            lines.setdefault(match["path"], []).append(line)
    return counts, lines


def read_baseline() -> dict[str, int]:
    allowed = {}
    if BASELINE.exists():
        for line in BASELINE.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                path, count = line.split()
                allowed[path] = int(count)
    return allowed


def write_baseline(counts: Counter[str]) -> None:
    header = (
        "# mypy errors each module may still have (.ci/mypy_baseline.py); only ever lower.\n"
        f"# total: {sum(counts.values())}\n"
    )
    body = "".join(f"{path} {counts[path]}\n" for path in sorted(counts))
    BASELINE.write_text(header + body)


def compare(counts: Counter[str], allowed: dict[str, int]) -> tuple[list[str], list[str]]:
    """(modules with more errors than allowed, modules with fewer: the baseline is stale)."""
    grown = sorted(path for path, n in counts.items() if n > allowed.get(path, 0))
    shrunk = sorted(path for path, n in allowed.items() if counts.get(path, 0) < n)
    return grown, shrunk


def main(argv: list[str]) -> int:
    counts, lines = run_mypy()
    allowed = read_baseline()
    grown, shrunk = compare(counts, allowed)
    if "--update" in argv:
        if grown and BASELINE.exists():
            print("refusing to raise the baseline for: " + ", ".join(grown))
            return 1
        write_baseline(counts)
        print(f"baseline written: {sum(counts.values())} errors in {len(counts)} modules")
        return 0
    for path in grown:
        print(f"{path}: {counts[path]} mypy errors, the baseline allows {allowed.get(path, 0)}:")
        print("\n".join(lines[path]))
    for path in shrunk:
        print(
            f"{path}: {counts.get(path, 0)} mypy errors, fewer than the baseline's {allowed[path]}"
        )
    if shrunk and not grown:
        print("errors were fixed: lower the baseline with `.ci/mypy_baseline.py --update`")
    if grown or shrunk:
        return 1
    print(f"mypy: {sum(counts.values())} errors, as the baseline allows (goal: 0)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
