"""A long-lived ``check_invariants`` for the chaos suite: one line on stdin -> one JSON report on
stdout, so that Django starts once per session instead of once per run."""

from __future__ import annotations

import json
import sys

import django


def main() -> None:
    django.setup()
    from django.db import connection

    from apps.invariants.checks import run_checks

    for _line in sys.stdin:
        connection.close()  # the database may have restarted since the last check
        try:
            report = run_checks().as_dict()
        except Exception as exc:  # report, do not die: the suite counts it as a violation
            report = {
                "ok": False,
                "instances": 0,
                "violations": [{"check": "checker", "message": f"{type(exc).__name__}: {exc}"}],
            }
        sys.stdout.write(json.dumps(report) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
