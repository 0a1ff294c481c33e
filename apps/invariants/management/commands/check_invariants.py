"""``manage.py check_invariants``: the reliability invariants, as a readable list (exit 1 if any)."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from apps.invariants.checks import CHECKS, DEFAULT_SLACK_SECONDS, run_checks


class Command(BaseCommand):
    help = (
        "Check the engine's invariants (no stuck job, no idle running instance, each job result "
        "and task completion applied once, one audit event per state change, audit chain intact, "
        "timers fired once and on time, no open task of a finished instance, instance rows "
        "consistent with the engine state). Prints each violation; exit status 1 if any."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--slack",
            type=float,
            default=DEFAULT_SLACK_SECONDS,
            help="Seconds allowed beyond the sweep intervals before a job or timer counts as stuck.",
        )
        parser.add_argument(
            "--only", action="append", choices=sorted(CHECKS), help="Run only this check (repeat)."
        )
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")

    def handle(self, *args, slack: float, only, json: bool, **options):  # noqa: A002
        report = run_checks(slack=slack, only=only)
        if json:
            self.stdout.write(_dumps(report.as_dict()))
        elif report.ok:
            self.stdout.write(
                f"OK: {len(report.checks)} checks, 0 violations over {report.instances} instances"
            )
        else:
            for violation in report.violations:
                self.stdout.write(f"- {violation}")
        if not report.ok:
            raise CommandError(
                f"{len(report.violations)} invariant violation(s) over {report.instances} instances"
            )


def _dumps(value) -> str:
    return json.dumps(value, indent=2, sort_keys=True)
