"""The migration page (issue #21): move the running instances of one version of a process to
another. A mapping table (each active element auto-mapped to the element of the same id, a
choice for the rest), a dry-run report, a confirmation, and the result. Operators only (admins
and managers), as for moving a token. Thin: the form parses, ``apps.engine.operator_services`` acts."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from apps.common.actors import Actor
from apps.common.errors import FlowgateError, NotFound
from apps.common.pages import page_query, paginate, role_required
from apps.engine import operator_services
from apps.engine import selectors as engine_selectors
from apps.engine.models import ProcessInstance
from apps.processes.models import ProcessVersion, VersionStatus
from apps.reports.views import OPERATOR_ROLES

NO_COUNTERPART = ""


class MigrationForm(forms.Form):
    """From and to versions, one choice per active element (``map_<n>``, its id in
    ``source_<n>``), the action, and the confirmation a real run needs."""

    from_version = forms.TypedChoiceField(coerce=int, label="From version")
    to_version = forms.TypedChoiceField(coerce=int, label="To version")
    action = forms.ChoiceField(
        choices=[("plan", "plan"), ("dry_run", "dry run"), ("migrate", "migrate")]
    )
    confirm = forms.BooleanField(required=False)

    def __init__(
        self,
        *args: Any,
        versions: list[int],
        sources: list[str],
        targets: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        choices = [(n, f"v{n}") for n in versions]
        cast(forms.ChoiceField, self.fields["from_version"]).choices = choices
        cast(forms.ChoiceField, self.fields["to_version"]).choices = choices
        target_ids = {t for t, _ in targets}
        self.rows = []
        for index, source in enumerate(sources):
            name = f"map_{index}"
            self.fields[name] = forms.ChoiceField(
                choices=[(NO_COUNTERPART, "— no counterpart —"), *targets],
                required=False,
                initial=source if source in target_ids else NO_COUNTERPART,
                label=f"New element for {source}",
            )
            self.rows.append((source, self[name], source in target_ids))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") == "migrate" and not data.get("confirm"):
            raise forms.ValidationError("Tick the confirmation box to move the instances.")
        if data.get("from_version") == data.get("to_version") and data.get("from_version"):
            raise forms.ValidationError("Choose two different versions.")
        return data

    def mapping(self) -> dict[str, str]:
        """{old id: new id} where a choice names another id (same ids map themselves; an
        element left without a counterpart stays unmapped, and the dry run names it)."""
        result = {}
        for index, (source, _, _) in enumerate(self.rows):
            target = self.cleaned_data.get(f"map_{index}") or NO_COUNTERPART
            if target not in (NO_COUNTERPART, source):
                result[source] = target
        return result


def _active_sources(
    key: str, from_number: int, to_number: int, actor: Actor, instance_ids: list[int] | None
) -> tuple[list[str], str]:
    """The element ids active in the from-version's instances (the rows of the mapping table),
    and why there are none when the batch cannot be planned (too many instances...)."""
    try:
        report = operator_services.instances_migrate(
            process_key=key,
            from_version=from_number,
            to_version=to_number,
            instance_ids=instance_ids,
            dry_run=True,
            actor=actor,
        )
    except FlowgateError as exc:
        return [], exc.message
    return sorted({a["activity_id"] for r in report["instances"] for a in r["active"]}), ""


@role_required(*OPERATOR_ROLES)
def process_migrate(request: HttpRequest, key: str) -> HttpResponse:
    deployed = list(
        ProcessVersion.objects.filter(definition__key=key, status=VersionStatus.DEPLOYED)
        .order_by("-number")
        .values_list("number", flat=True)
    )
    if len(deployed) < 1:
        raise Http404(f"No deployed process '{key}'.")
    source = request.POST if request.method == "POST" else request.GET
    # From an instance's page: that one instance only, from its version (to the latest).
    one = _one_instance(key, source.get("instance"))
    instance_ids = [one.pk] if one is not None else None
    from_number = _int(
        source.get("from_version"),
        default=one.version.number if one is not None else deployed[-1],
    )
    to_number = _int(source.get("to_version"), default=deployed[0])
    if from_number not in deployed or to_number not in deployed:
        raise Http404("No such deployed version.")
    actor = Actor.for_user(request.user)
    try:
        to = operator_services.target_version(process_key=key, number=to_number)
    except NotFound as exc:
        raise Http404(exc.message) from None
    targets = [
        (element_id, f"{element_id} · {name or element_type}")
        for element_id, element_type, name in operator_services.migration_elements(version=to)
    ]
    sources, unplanned = _active_sources(key, from_number, to_number, actor, instance_ids)
    initial = {"from_version": from_number, "to_version": to_number, "action": "plan"}
    form = MigrationForm(
        source if request.method == "POST" else None,
        initial=initial,
        versions=deployed,
        sources=sources,
        targets=targets,
    )
    report = None
    if request.method == "POST" and form.is_valid():
        action = form.cleaned_data["action"]
        try:
            if action == "dry_run":
                report = operator_services.instances_migrate(
                    process_key=key,
                    from_version=from_number,
                    to_version=to_number,
                    instance_ids=instance_ids,
                    mapping=form.mapping(),
                    dry_run=True,
                    actor=actor,
                )
            elif action == "migrate":
                run = operator_services.migration_run_start(
                    process_key=key,
                    from_version=from_number,
                    to_version=to_number,
                    instance_ids=instance_ids,
                    mapping=form.mapping(),
                    user=request.user,
                )
                return redirect("reports:migration-run", run_id=run.pk)
        except FlowgateError as exc:
            form.add_error(None, exc.message)
    running = engine_selectors.active_counts_by_version(process_key=key)
    from_id = (
        ProcessVersion.objects.filter(definition__key=key, number=from_number)
        .values_list("pk", flat=True)
        .first()
    )
    return render(
        request,
        "reports/migrate.html",
        {
            "key": key,
            "form": form,
            "from_number": from_number,
            "to_number": to_number,
            "running": running.get(from_id, 0) if from_id is not None else 0,
            "one": one,
            "max_batch": operator_services.MAX_BATCH,
            "report": report,
            "unplanned": unplanned,
            "only_version": len(deployed) == 1,
            "same_version": from_number == to_number,
        },
    )


def _one_instance(key: str, value: str | None) -> ProcessInstance | None:
    """The instance named by ``?instance=`` (the console's per-instance "Migrate" button)."""
    if not value:
        return None
    if not value.isdigit():
        raise Http404("No such instance.")
    one = (
        ProcessInstance.objects.select_related("version")
        .filter(pk=int(value), process_key=key)
        .first()
    )
    if one is None:
        raise Http404(f"No instance {value} of '{key}'.")
    return one


def _int(value: str | None, *, default: int) -> int:
    return int(value) if value and value.isdigit() else default


class MigrationRunListForm(forms.Form):
    process_key = forms.CharField(required=False, max_length=200, label="Process key")


@role_required(*OPERATOR_ROLES)
@require_GET
def migration_runs(request: HttpRequest) -> HttpResponse:
    """Every batch migration, newest first, with its progress; a link to each run's report."""
    form = MigrationRunListForm(request.GET)
    process_key = form.cleaned_data["process_key"].strip() if form.is_valid() else ""
    page = paginate(request, engine_selectors.migration_runs(process_key=process_key))
    return render(
        request,
        "reports/migration_runs.html",
        {
            "form": form,
            "page": page,
            "process_key": process_key,
            "query": page_query(process_key=process_key),
        },
    )


@role_required(*OPERATOR_ROLES)
@require_GET
def migration_run(request: HttpRequest, run_id: int) -> HttpResponse:
    """A batch migration's progress and, when it has finished, its report. While it runs the
    page asks for its progress fragment every second (htmx)."""
    try:
        run = operator_services.migration_run_get(run_id=run_id)
    except NotFound as exc:
        raise Http404(exc.message) from None
    template = (
        "reports/_migration_run.html"
        if request.headers.get("HX-Request")
        else "reports/migration_run.html"
    )
    return render(request, template, {"run": run})
