"""Who may hold and decide a task: the one rule behind completing, claiming, delegating,
reassigning and out-of-office routing (and the pickers that offer people).

A person is eligible for a task when they are an active user, a candidate for it (named in its
candidate users, or a member of one of its candidate roles; the person the model assigns it to
is one of its candidate users), and, for an approval:

- four-eyes: not its requester, nor the person the model names (``flowgate:fourEyesUser``);
- one decision per person in a multi-instance approval: not someone who already decided another
  instance of it ("2 of 3" means two people);
- one approval level per person: not someone who approved another approval step of the same
  request, unless this step's model says ``flowgate:allowSameApprover="true"``.

``Eligibility(task)`` reads what it needs once (two small queries for an approval), then
answers for any number of people: ``refusal(user)`` (None, or why not) and ``people()``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from apps.accounts.models import User
from apps.inbox.models import HumanTask, TaskStatus

MAX_PEOPLE = 500  # a picker longer than this is no help; the API takes any eligible username


@dataclass(frozen=True)
class Refusal:
    code: str  # "four_eyes", "already_decided", "approved_other_step", "not_candidate", ...
    message: str


class Eligibility:
    def __init__(self, task: HumanTask) -> None:
        self.task = task
        self._decided_sibling: set[int] = set()
        self._approved_step: dict[int, str] = {}
        if not task.is_approval:
            return
        if task.multi_instance_id or task.approvals_needed:
            siblings = HumanTask.objects.filter(
                instance_id=task.instance_id,
                activity_id=task.activity_id,
                multi_instance_id=task.multi_instance_id,
                status=TaskStatus.COMPLETED,
                completed_by__isnull=False,
            ).exclude(pk=task.pk)
            self._decided_sibling = set(siblings.values_list("completed_by_id", flat=True))
        if not task.allow_same_approver:
            approved = (
                HumanTask.objects.filter(
                    instance_id=task.instance_id,
                    is_approval=True,
                    status=TaskStatus.COMPLETED,
                    outcome="approved",
                    completed_by__isnull=False,
                )
                .exclude(activity_id=task.activity_id)
                .order_by("completed_at", "pk")
                .values_list("completed_by_id", "name")
            )
            for user_id, name in approved:
                self._approved_step.setdefault(user_id, name)

    # -- one person -----------------------------------------------------------------------------

    def is_candidate(self, user: User) -> bool:
        task = self.task
        if user.get_username() in (task.candidate_users or []):
            return True
        return bool(user.role_names() & set(task.candidate_groups or []))

    def refusal(
        self, user: User | None, *, you: bool = False, candidate: bool | None = None
    ) -> Refusal | None:
        """Why ``user`` may not hold or decide the task (None: they may). ``you``: word the
        message for the user themself ("You ...") instead of naming them. ``candidate``: known
        already (``people`` selected candidates), else looked up."""
        task = self.task
        if user is None or not user.is_active:
            return Refusal("not_eligible", "Only an active user can take this task.")
        who = "You" if you else user.get_username()
        if task.is_approval and user.pk == task.requested_by_id:
            return Refusal(
                "four_eyes",
                "Four-eyes rule: you started this request, so another approver must decide it."
                if you
                else f"Four-eyes rule: {who} started this request and may not decide it.",
            )
        if task.is_approval and user.pk == task.four_eyes_user_id:
            return Refusal(
                "four_eyes",
                "Four-eyes rule: the process names you as someone who may not approve this request."
                if you
                else f"Four-eyes rule: the process names {who} as someone who may not approve "
                "this request.",
            )
        if not (self.is_candidate(user) if candidate is None else candidate):
            return Refusal(
                "not_candidate",
                f"{who} {'are' if you else 'is'} not among the people this task is offered to "
                f"({self.offered_to()}).",
            )
        if user.pk in self._decided_sibling:
            return _already_decided(who, task.name)
        if user.pk in self._approved_step:
            return _approved_other_step(who, self._approved_step[user.pk])
        return None

    def offered_to(self) -> str:
        task = self.task
        parts = []
        if task.candidate_groups:
            parts.append("role " + ", ".join(task.candidate_groups))
        if task.candidate_users:
            parts.append("users " + ", ".join(task.candidate_users))
        return "; ".join(parts) or "nobody by name or role"

    # -- everyone ------------------------------------------------------------------------------

    def people(self) -> list[User]:
        """The active users eligible for the task, by username (what a picker offers)."""
        task = self.task
        wanted = Q(username__in=list(task.candidate_users or [])) | Q(
            groups__name__in=list(task.candidate_groups or [])
        )
        found = User.objects.filter(wanted, is_active=True).distinct().order_by("username")
        return [user for user in found[:MAX_PEOPLE] if self.refusal(user, candidate=True) is None]


def _already_decided(who: str, step: str) -> Refusal:
    return Refusal(
        "already_decided",
        f"{who} already decided one of the parallel approvals of '{step}' in this request; "
        "each person decides once, so another person must decide this one.",
    )


def _approved_other_step(who: str, step: str) -> Refusal:
    return Refusal(
        "approved_other_step",
        f"{who} approved '{step}' of this request; another person must decide this step (the "
        "process asks for a different approver at each level).",
    )


def decided_elsewhere(user: User, task_ids: list[int]) -> dict[int, Refusal]:
    """For a list page: which of the open approvals ``task_ids`` the user may not decide because
    of what they decided before in the same request (the last two rules above), in two queries.
    Four-eyes and candidacy are the rows' own business (``TaskRow.approvable_by``)."""
    if not task_ids or not user.is_authenticated:
        return {}
    facts = list(
        HumanTask.objects.filter(
            pk__in=task_ids, is_approval=True, status=TaskStatus.OPEN
        ).values_list(
            "pk",
            "instance_id",
            "activity_id",
            "name",
            "multi_instance_id",
            "approvals_needed",
            "allow_same_approver",
        )
    )
    if not facts:
        return {}
    mine = list(
        HumanTask.objects.filter(
            instance_id__in={f[1] for f in facts},
            completed_by=user,
            is_approval=True,
            status=TaskStatus.COMPLETED,
        )
        .order_by("completed_at", "pk")
        .values_list("instance_id", "activity_id", "multi_instance_id", "outcome", "name")
    )
    found: dict[int, Refusal] = {}
    for pk, instance_id, activity_id, name, group, needed, allow_same in facts:
        for done_instance, done_activity, done_group, outcome, done_name in mine:
            if done_instance != instance_id:
                continue
            if (group or needed) and (done_activity, done_group) == (activity_id, group):
                found[pk] = _already_decided("You", name)
                break
            if not allow_same and done_activity != activity_id and outcome == "approved":
                found[pk] = _approved_other_step("You", done_name)
                break
    return found


def refusal(task: HumanTask, user: User | None, *, you: bool = False) -> Refusal | None:
    """``Eligibility(task).refusal(user)`` for a single question."""
    return Eligibility(task).refusal(user, you=you)
