"""The template gallery: ready, deployable processes that show what Flowgate is for.

Each template is a BPMN file in ``demo_bpmn/`` with a hand-made diagram layout and labelled
outgoing flows; ``bootstrap_demo`` deploys them as the demo processes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from apps.common.errors import NotFound

DEMO_DIR = Path(__file__).parent / "demo_bpmn"


@dataclass(frozen=True)
class Template:
    slug: str  # also the process key of the file
    title: str
    summary: str
    shows: tuple[str, ...]
    #: DMN files in ``demo_bpmn/`` the template's business rule tasks need deployed first
    decisions: tuple[str, ...] = ()

    @property
    def path(self) -> Path:
        return DEMO_DIR / f"{self.slug}.bpmn"

    def xml(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def decision_keys(self) -> list[str]:
        """The decision ids of its DMN files (named like their decision: ``<id>.dmn``)."""
        return [Path(name).stem for name in self.decisions]

    def decision_files(self) -> list[bytes]:
        return [(DEMO_DIR / name).read_bytes() for name in self.decisions]


TEMPLATES: tuple[Template, ...] = (
    Template(
        "expense_approval",
        "Expense approval",
        "Expenses over 1000 go to a manager, who has one day; smaller ones are approved "
        "automatically. The requester is notified either way.",
        ("amount-based routing", "manager SLA", "approval"),
    ),
    Template(
        "access_request",
        "Access request",
        "A policy gate refuses what self-service may never grant; then the manager and security "
        "approve (never the requester); access is granted automatically over HTTP.",
        ("policy gate", "four-eyes", "HTTP connector"),
        decisions=("access_request_policy.dmn",),
    ),
    Template(
        "change_request",
        "Change request",
        "Two of three CAB members approve; the change waits for its window, is applied and "
        "verified, and is rolled back by compensation when verification fails.",
        ("2 of 3 approval", "timer", "compensation"),
    ),
    Template(
        "server_provisioning",
        "Server provisioning",
        "A self-service form, a manager's approval, three automated steps in parallel, then the "
        "requester is told.",
        ("start form", "parallel steps", "notify"),
    ),
    Template(
        "incident_response",
        "Incident response",
        "An alert webhook starts it; triage is automated, escalation timers fire while nobody "
        "acknowledges, and a review follows.",
        ("webhook start", "escalation ladder", "review task"),
    ),
)


def templates_list() -> tuple[Template, ...]:
    return TEMPLATES


def template_get(*, slug: str) -> Template:
    for template in TEMPLATES:
        if template.slug == slug:
            return template
    raise NotFound(f"There is no template '{slug}'.", code="template_not_found")
