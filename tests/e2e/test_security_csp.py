"""Every page, as every role, in a real Chromium under the portal's Content-Security-Policy:
no CSP violation (no inline script or style, nothing from another origin) and no script error.

The designer (bpmn-js), the decision editor (dmn-js), the task form (form-js), the inbox (htmx, live updates), the audit and
report pages and Swagger UI are all visited. The list of pages is ``PAGES``: add a page
there when a new one lands.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.common.actors import Actor
from apps.engine import services as engine_services
from apps.inbox.models import HumanTask
from apps.processes import services as process_services
from tests.e2e.test_task_flow import PROCESS
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ROLES = ("designer", "approver", "manager", "auditor", "admin")

# (name, url builder taking the fixture objects, a selector that shows the page's app is ready)
PAGES: list[tuple[str, object, str | None]] = [
    ("home", lambda o: reverse("home"), None),
    ("profile", lambda o: reverse("accounts:profile"), None),
    ("designer list", lambda o: reverse("designer:list"), None),
    ("designer gallery", lambda o: reverse("designer:new"), None),
    ("designer new", lambda o: reverse("designer:new-blank"), ".djs-container"),
    ("designer edit", lambda o: reverse("designer:edit", args=["expense"]), ".djs-container"),
    ("inbox", lambda o: reverse("inbox:list"), None),
    ("task form", lambda o: reverse("inbox:task", args=[o["task"].pk]), None),
    ("instances", lambda o: reverse("inbox:instances"), None),
    ("instance", lambda o: reverse("inbox:instance", args=[o["instance"].pk]), None),
    ("audit", lambda o: reverse("audit:list"), None),
    ("audit verify", lambda o: reverse("audit:verify"), None),
    ("audit timeline", lambda o: reverse("audit:instance", args=[o["instance"].pk]), None),
    ("reports", lambda o: reverse("reports:index"), None),
    ("sla", lambda o: reverse("reports:sla"), None),
    ("incidents", lambda o: reverse("reports:incidents"), None),
    ("slo", lambda o: reverse("reports:slo"), None),
    ("heatmap", lambda o: reverse("reports:heatmap"), None),
    ("decision rules report", lambda o: reverse("reports:decisions"), None),
    (
        "decision editor",
        lambda o: reverse("designer:decision-new") + "?key=discount",
        "#decision-editor[data-editor-state=ready] .tjs-table",
    ),
    ("my requests", lambda o: reverse("requests:list"), None),
    ("request catalog", lambda o: reverse("requests:catalog"), None),
    ("api docs", lambda o: reverse("api-docs"), ".swagger-ui .info"),
]

# Records violations from the page itself (devtools-injected, so the CSP does not block it).
COLLECT_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"}`
    + ` at ${e.sourceFile || ""}:${e.lineNumber || ""}`);
});
"""


@pytest.fixture
def objects():
    designer = UserFactory(roles=["designer"])
    result = process_services.version_deploy(
        xml=PROCESS, actor=Actor.for_user(designer), user=designer
    )
    assert result.deployed, result.version.problems
    instance = engine_services.instance_start(
        process_key="expense", variables={"amount": 80}, actor=Actor.for_user(designer)
    )
    return {"instance": instance, "task": HumanTask.objects.get(instance_id=instance.pk)}


def _visit(page, url: str, ready: str | None) -> tuple[int, list[str]]:
    console: list[str] = []
    listener = lambda msg: console.append(msg.text)  # noqa: E731
    page.on("console", listener)
    response = page.goto(url, wait_until="load")
    if ready and response.status == 200:
        page.wait_for_selector(ready, timeout=15_000)
    page.wait_for_timeout(300)  # late violations (lazy styles, live-update socket)
    page.remove_listener("console", listener)
    violations = page.evaluate("() => window.__cspViolations || []")
    csp_console = [t for t in console if "Content Security Policy" in t]
    return response.status, violations + csp_console


@pytest.mark.parametrize("role", ROLES)
def test_every_page_renders_without_csp_violations(browser_context, login_as, objects, role):
    browser_context.add_init_script(COLLECT_VIOLATIONS)
    page = browser_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login_as(page, UserFactory(roles=[role]))
    found: dict[str, list[str]] = {}
    statuses: dict[str, int] = {}
    for name, url_of, ready in PAGES:
        status, violations = _visit(page, url_of(objects), ready)
        statuses[name] = status
        if violations:
            found[name] = sorted(set(violations))
    assert found == {}, "\n".join(f"{name}: {v}" for name, v in found.items())
    assert errors == []
    # Pages a role may not see answer 403 (or 404 for objects it may not know of): rendered too.
    assert {n: s for n, s in statuses.items() if s not in (200, 403, 404)} == {}
    if role == "admin":  # sees every page, so every app (bpmn-js, form-js, Swagger UI) really ran
        assert {n: s for n, s in statuses.items() if s != 200} == {}


def test_the_login_page_and_error_pages_render_without_csp_violations(browser_context):
    browser_context.add_init_script(COLLECT_VIOLATIONS)
    page = browser_context.new_page()
    assert _visit(page, reverse("accounts:login"), None) == (200, [])
    assert _visit(page, "/no-such-page/", None) == (404, [])
