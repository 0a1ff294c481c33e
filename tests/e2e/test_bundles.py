"""The designer, forms and live-update bundles against stub endpoints.

The pages are served by Playwright routes on the live server's origin (so the bundles load from
/static/ and same-origin fetches work) and the JSON endpoints are stubbed: these tests pin the
browser side of the contracts in docs/frontend.md, independently of the server views.
"""

from __future__ import annotations

import json

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

HARNESS = "/__e2e__"

USER_TASK_XML = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
  xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
  xmlns:di="http://www.omg.org/spec/DD/20100524/DI"
  xmlns:flowgate="http://flowgate.dev/schema/bpmn/1.0"
  id="Definitions_1" targetNamespace="http://flowgate.dev/bpmn">
  <bpmn:process id="expense" name="Expense" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Approve" name="Approve" flowgate:candidateGroups="manager">
      <bpmn:incoming>f1</bpmn:incoming>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f1" sourceRef="StartEvent_1" targetRef="Approve" />
    <bpmn:serviceTask id="Notify" name="Notify" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="d1"><bpmndi:BPMNPlane id="p1" bpmnElement="expense">
    <bpmndi:BPMNShape id="s1" bpmnElement="StartEvent_1"><dc:Bounds x="100" y="100" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="s2" bpmnElement="Approve"><dc:Bounds x="200" y="78" width="100" height="80"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="s3" bpmnElement="Notify"><dc:Bounds x="360" y="78" width="100" height="80"/></bpmndi:BPMNShape>
    <bpmndi:BPMNEdge id="e1" bpmnElement="f1"><di:waypoint x="136" y="118"/><di:waypoint x="200" y="118"/></bpmndi:BPMNEdge>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>"""


def harness_page(
    title: str, body: str, *, css: tuple[str, ...] = (), js: tuple[str, ...] = ()
) -> str:
    links = "".join(f'<link rel="stylesheet" href="/static/{name}">' for name in ("app.css", *css))
    scripts = "".join(f'<script src="/static/{name}" defer></script>' for name in ("app.js", *js))
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f'<meta name="csrf-token" content="meta-token">{links}</head>'
        f'<body><main id="main" class="container-fluid py-3"><h1 class="h4">{title}</h1>{body}</main>'
        f"{scripts}</body></html>"
    )


def serve_html(page, path: str, html: str) -> None:
    page.route(f"**{path}", lambda route: route.fulfill(body=html, content_type="text/html"))


class JsonStub:
    """A stubbed JSON endpoint that records the requests it gets."""

    def __init__(self, page, path: str, status: int, body: dict):
        self.requests: list[dict] = []
        self.status = status
        self.body = body
        page.route(f"**{path}", self.handle)

    def handle(self, route):
        request = route.request
        self.requests.append(
            {
                "method": request.method,
                "json": json.loads(request.post_data or "null"),
                "csrf": request.headers.get("x-csrftoken"),
            }
        )
        route.fulfill(
            status=self.status, body=json.dumps(self.body), content_type="application/json"
        )


def designer_html() -> str:
    from django.template.loader import render_to_string

    from apps.designer.selectors import connector_fields

    body = render_to_string(
        "components/designer.html",
        {
            "xml_url": f"{HARNESS}/xml",
            "validate_url": f"{HARNESS}/validate",
            "deploy_url": f"{HARNESS}/deploy",
            "process_key": "expense",
            "connectors": connector_fields(),
        },
    )
    return harness_page("Designer", body, css=("designer.css",), js=("designer.js",))


def open_designer(page, *, xml_status: int = 404, xml: str = "") -> None:
    serve_html(page, f"{HARNESS}/designer/", designer_html())
    page.route(
        f"**{HARNESS}/xml",
        lambda route: route.fulfill(status=xml_status, body=xml, content_type="application/xml"),
    )
    page.goto(f"{HARNESS}/designer/")
    page.wait_for_selector("#designer-canvas[data-designer-state=ready]")


def designer_xml(page) -> str:
    return page.evaluate("() => window.FlowgateDesigner.getXml()")


def test_a_missing_diagram_opens_the_executable_blank_template(page):
    open_designer(page, xml_status=404)

    xml = designer_xml(page)
    assert 'isExecutable="true"' in xml
    assert 'id="StartEvent_1"' in xml
    assert 'id="Start"' not in xml
    assert '<bpmn:process id="expense" name="New process" isExecutable="true">' in xml
    assert page.locator(".bjs-powered-by").count() == 1  # bpmn.io licence watermark kept
    assert page.js_errors == []


def test_validate_posts_the_xml_with_the_csrf_token_and_lists_clickable_problems(page):
    validate = JsonStub(
        page,
        f"{HARNESS}/validate",
        200,
        {
            "valid": False,
            "problems": [
                {
                    "element_id": "Approve",
                    "element_type": "User task",
                    "element_name": "Approve",
                    "code": "no_assignment",
                    "message": "Who works on this task?",
                },
                {"element_id": "", "code": "no_end", "message": "The process never ends."},
            ],
        },
    )
    open_designer(page, xml_status=200, xml=USER_TASK_XML)
    page.context.add_cookies([{"name": "csrftoken", "value": "cookie-token", "url": page.url}])

    page.get_by_role("button", name="Validate").click()
    problems = page.locator("#designer-problems")
    problems.get_by_text("2 problem(s) must be fixed before deploying.").wait_for()

    assert validate.requests[0]["method"] == "POST"
    assert validate.requests[0]["csrf"] == "cookie-token"
    assert 'id="Approve"' in validate.requests[0]["json"]["xml"]
    assert problems.get_attribute("role") == "status"
    assert problems.locator("li").all_inner_texts() == [
        # the element by its kind and name, the id second (problems in people's words)
        "Who works on this task?\nUser task “Approve” · id Approve",
        "The process never ends.\nThe whole process",  # no element: it selects the process
    ]
    problems.locator("button[data-element-id=Approve]").click()
    selected = page.evaluate(
        "() => window.FlowgateDesigner.modeler.get('selection').get().map(e => e.id)"
    )
    assert selected == ["Approve"]


def test_deploy_shows_the_new_version_or_the_422_details(page):
    open_designer(page)
    deploy = JsonStub(page, f"{HARNESS}/deploy", 201, {"version": {"id": 7, "number": 3}})
    page.get_by_role("button", name="Deploy").click()
    page.locator("#designer-problems").get_by_text("Deployed version 3.").wait_for()
    assert deploy.requests[0]["csrf"] == "meta-token"  # no cookie: the <meta> token

    deploy.status = 422
    deploy.body = {
        "error": "invalid_bpmn",
        "message": "The process has 1 problem.",
        "details": [
            {"element_id": "StartEvent_1", "code": "dead_end", "message": "Nothing follows."}
        ],
    }
    page.get_by_role("button", name="Deploy").click()
    problems = page.locator("#designer-problems")
    problems.get_by_text("The process has 1 problem.").wait_for()
    assert (
        problems.get_by_role("button").inner_text()
        == "Nothing follows.\nid StartEvent_1"  # no name or kind given: the id
    )


def select(page, element_id: str) -> None:
    page.evaluate(
        """(id) => {
            const m = window.FlowgateDesigner.modeler;
            m.get('selection').select(m.get('elementRegistry').get(id));
        }""",
        element_id,
    )


def test_the_flowgate_groups_write_user_task_attributes_and_undo_reverts_them(page):
    open_designer(page, xml_status=200, xml=USER_TASK_XML)
    select(page, "Approve")
    properties = page.locator("#designer-properties")
    panel = properties
    # No role list in this harness page: the roles stay in the free-text field.
    groups = properties.get_by_label("Other roles or an expression")
    assert groups.input_value() == "manager"

    groups.fill("manager, approver")
    groups.blur()
    properties.get_by_label("This step approves or rejects").check()
    properties.get_by_label("Priority").select_option("75")
    panel.get_by_label("Form schema (form-js JSON)").fill('{"components": []}')
    panel.get_by_label("Form schema (form-js JSON)").blur()

    xml = designer_xml(page)
    assert 'flowgate:candidateGroups="manager, approver"' in xml
    assert 'flowgate:approval="true"' in xml
    assert 'flowgate:priority="75"' in xml
    assert '<flowgate:form>{"components": []}</flowgate:form>' in xml
    assert 'xmlns:flowgate="http://flowgate.dev/schema/bpmn/1.0"' in xml

    page.evaluate("() => window.FlowgateDesigner.modeler.get('commandStack').undo()")
    assert "<flowgate:form>" not in designer_xml(page)


def test_the_connector_group_binds_a_service_task_with_schema_driven_inputs(page):
    open_designer(page, xml_status=200, xml=USER_TASK_XML)
    select(page, "Notify")
    panel = page.locator("#designer-properties")

    panel.get_by_label("Connector", exact=True).select_option("email")
    # The email connector's parameter schema gives one field per input, required ones marked.
    panel.get_by_label("to", exact=True).fill("requester_email")
    panel.get_by_label("to", exact=True).blur()
    panel.get_by_label("Max attempts").fill("5")
    panel.get_by_label("Max attempts").blur()
    panel.get_by_role("button", name="Add output").click()
    panel.get_by_label("Output 1 variable").fill("sent")
    panel.get_by_label("Output 1 variable").blur()

    xml = designer_xml(page)
    assert 'flowgate:connector="email"' in xml
    assert 'flowgate:maxAttempts="5"' in xml
    assert '<flowgate:input name="to" expression="requester_email" />' in xml
    assert '<flowgate:output name="sent" expression="" />' in xml

    panel.get_by_label("to", exact=True).fill("")  # clearing a field removes its mapping
    panel.get_by_label("to", exact=True).blur()
    assert "<flowgate:input" not in designer_xml(page)
    page.evaluate("() => window.FlowgateDesigner.modeler.get('commandStack').undo()")
    assert '<flowgate:input name="to"' in designer_xml(page)


FORM_SCHEMA = {
    "type": "default",
    "components": [
        {"type": "textfield", "key": "reason", "label": "Reason", "validate": {"required": True}},
        {"type": "number", "key": "amount", "label": "Amount"},
    ],
}


def open_task_form(page) -> None:
    body = (
        f'<script type="application/json" id="form-schema">{json.dumps(FORM_SCHEMA)}</script>'
        '<script type="application/json" id="form-data">{"amount": 120}</script>'
        f'<div id="task-form" data-submit-url="{HARNESS}/complete" '
        'data-submit-label="Complete task"></div>'
    )
    serve_html(
        page, f"{HARNESS}/task/", harness_page("Task", body, css=("forms.css",), js=("forms.js",))
    )
    page.goto(f"{HARNESS}/task/")
    page.get_by_label("Reason").wait_for()


def test_task_form_validates_then_submits_its_data_as_json(page):
    complete = JsonStub(page, f"{HARNESS}/complete", 200, {"message": "Task completed."})
    open_task_form(page)

    page.get_by_role("button", name="Complete task").click()
    page.get_by_role("status").get_by_text("Please correct 1 field(s)").wait_for()
    assert complete.requests == []

    page.get_by_label("Reason").fill("Team offsite")
    page.get_by_role("button", name="Complete task").click()
    page.get_by_role("status").get_by_text("Task completed.").wait_for()
    assert complete.requests[0]["json"] == {"data": {"reason": "Team offsite", "amount": 120}}
    assert complete.requests[0]["csrf"] == "meta-token"


def test_task_form_shows_the_servers_validation_errors(page, axe_check):
    JsonStub(
        page,
        f"{HARNESS}/complete",
        400,
        {"message": "The task data is not valid.", "details": {"amount": ["Must be at most 100."]}},
    )
    open_task_form(page)
    page.get_by_label("Reason").fill("Laptop")
    page.get_by_role("button", name="Complete task").click()

    # the server's message for a field of the form appears at that field, not in a list
    field = page.locator(".fjs-form-field", has=page.get_by_label("Amount"))
    field.get_by_text("Must be at most 100.").wait_for()
    assert page.get_by_label("Amount").get_attribute("aria-invalid") == "true"
    assert page.get_by_role("status").locator("li").count() == 0
    assert axe_check(page) == []


def test_live_updates_refresh_on_each_message_and_after_a_reconnect(page):
    fragments: list[int] = []

    def fragment(route):
        fragments.append(1)
        route.fulfill(body=f"<p id='count'>refresh {len(fragments)}</p>", content_type="text/html")

    sockets = []
    page.route(f"**{HARNESS}/fragment", fragment)
    page.route_web_socket("**/ws/e2e/", lambda ws: sockets.append(ws))
    body = (
        f'<div id="live" data-live-url="/ws/e2e/" hx-get="{HARNESS}/fragment" '
        'hx-trigger="live-update"><p id="count">initial</p></div>'
    )
    serve_html(page, f"{HARNESS}/live/", harness_page("Live", body))
    page.goto(f"{HARNESS}/live/")
    page.wait_for_selector("#live[data-live-state=open]")
    assert page.inner_text("#count") == "initial"  # no refresh on the first connect

    sockets[0].send('{"event": "task.created"}')
    page.wait_for_selector("#count:text('refresh 1')")

    sockets[0].close()  # the server goes away; the client reconnects with backoff ...
    page.wait_for_function("() => document.querySelector('#count').textContent === 'refresh 2'")
    assert len(sockets) == 2  # ... and refreshed once, to catch up on anything it missed
    assert page.get_attribute("#live", "data-live-state") == "open"


def test_a_doorbell_for_an_event_that_committed_late_still_refreshes(page):
    """PostgreSQL gives out event ids at write time, commits in any order: event 10 may commit
    after 11, when the feed has moved past it. Its doorbell (rung after its commit) refreshes."""
    fragments: list[int] = []
    feed_calls: list[str] = []

    def fragment(route):
        fragments.append(1)
        route.fulfill(body=f"<p id='count'>refresh {len(fragments)}</p>", content_type="text/html")

    def feed(route):
        feed_calls.append(route.request.url)
        first = len(feed_calls) == 1
        events = [{"id": 11, "task": 5, "instance": 2, "kind": "created", "status": "open"}]
        body = {"last": 11, "events": events if first else []}
        route.fulfill(body=json.dumps(body), content_type="application/json")

    sockets = []
    page.route(f"**{HARNESS}/fragment", fragment)
    page.route(f"**{HARNESS}/feed*", feed)
    page.route_web_socket("**/ws/e2e/", lambda ws: sockets.append(ws))
    body = (
        f'<div id="live" data-live-url="/ws/e2e/" data-live-feed="{HARNESS}/feed" '
        f'data-live-since="9" hx-get="{HARNESS}/fragment" hx-trigger="live-update">'
        '<p id="count">initial</p></div>'
    )
    serve_html(page, f"{HARNESS}/live/", harness_page("Live", body))
    page.goto(f"{HARNESS}/live/")
    page.wait_for_selector("#live[data-live-state=open]")

    sockets[0].send('{"task": 5, "status": "open", "event": 11}')
    page.wait_for_selector("#count:text('refresh 1')")  # the feed delivered 11
    page.wait_for_function("() => document.querySelector('#live').dataset.liveSince === '11'")

    sockets[0].send('{"task": 4, "status": "open", "event": 10}')  # committed after 11
    page.wait_for_selector("#count:text('refresh 2')")

    calls = len(feed_calls)
    sockets[0].send('{"task": 5, "status": "open", "event": 11}')  # already delivered
    for _ in range(100):  # the doorbell makes the page ask the feed again ...
        if len(feed_calls) > calls:
            break
        page.wait_for_timeout(50)
    page.wait_for_timeout(300)  # ... which has nothing new: no refresh
    assert (
        len(feed_calls) > calls and page.inner_text("#count") == "refresh 2" and len(fragments) == 2
    )
    assert feed_calls[0].endswith("?since=9") and feed_calls[-1].endswith("?since=11")


def test_a_diagram_drawn_in_the_designer_compiles_in_the_engine(page):
    from apps.engine.core.compile import compile_bpmn

    open_designer(page, xml_status=404)
    task_id = page.evaluate(
        """() => {
            const m = window.FlowgateDesigner.modeler;
            const factory = m.get('elementFactory');
            const modeling = m.get('modeling');
            const start = m.get('elementRegistry').get('StartEvent_1');
            const task = modeling.appendShape(
                start, factory.createShape({type: 'bpmn:UserTask'}), {x: 320, y: 178});
            modeling.updateLabel(task, 'Approve expense');
            modeling.appendShape(task, factory.createShape({type: 'bpmn:EndEvent'}), {x: 480, y: 178});
            return task.id;
        }"""
    )
    select(page, task_id)
    panel = page.locator("#designer-properties")
    roles = page.locator("#designer-properties").get_by_label("Other roles or an expression")
    roles.fill("approver")
    roles.blur()
    schema = '{"components": [{"type": "textfield", "key": "reason", "label": "Reason"}]}'
    panel.get_by_label("Form schema (form-js JSON)").fill(schema)
    panel.get_by_label("Form schema (form-js JSON)").blur()

    compiled = compile_bpmn(designer_xml(page), known_roles={"approver"})

    assert compiled.process_id == "expense"
    assert compiled.user_task_ids == frozenset({task_id})


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_designer_and_task_form_pass_axe_in_both_colour_schemes(make_page, axe_check, scheme):
    page = make_page(color_scheme=scheme)
    open_designer(page, xml_status=200, xml=USER_TASK_XML)
    select(page, "Approve")
    assert axe_check(page) == []

    open_task_form(page)
    page.get_by_role("button", name="Complete task").click()
    page.get_by_text("Field is required.").wait_for()
    assert axe_check(page) == []
    assert page.js_errors == []


GATEWAY_XML = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
  xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
  xmlns:di="http://www.omg.org/spec/DD/20100524/DI"
  id="Definitions_1" targetNamespace="http://flowgate.dev/bpmn">
  <bpmn:process id="route" isExecutable="true">
    <bpmn:exclusiveGateway id="Check" default="Small" />
    <bpmn:endEvent id="Done" />
    <bpmn:receiveTask id="WaitForPayment" name="Wait for payment" messageRef="Paid" />
    <bpmn:sequenceFlow id="Big" sourceRef="Check" targetRef="WaitForPayment" />
    <bpmn:sequenceFlow id="Small" sourceRef="Check" targetRef="Done" />
  </bpmn:process>
  <bpmn:message id="Paid" name="paid" />
  <bpmndi:BPMNDiagram id="d1"><bpmndi:BPMNPlane id="p1" bpmnElement="route">
    <bpmndi:BPMNShape id="s1" bpmnElement="Check"><dc:Bounds x="100" y="100" width="50" height="50"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="s2" bpmnElement="WaitForPayment"><dc:Bounds x="250" y="0" width="100" height="80"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="s3" bpmnElement="Done"><dc:Bounds x="250" y="200" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNEdge id="e1" bpmnElement="Big"><di:waypoint x="125" y="100"/><di:waypoint x="250" y="40"/></bpmndi:BPMNEdge>
    <bpmndi:BPMNEdge id="e2" bpmnElement="Small"><di:waypoint x="125" y="150"/><di:waypoint x="250" y="218"/></bpmndi:BPMNEdge>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>"""


def test_the_properties_panel_edits_gateway_conditions_and_correlation_keys(page):
    open_designer(page, xml_status=200, xml=GATEWAY_XML)
    panel = page.locator("#designer-properties")

    select(page, "Big")
    builder = page.locator(".fg-condition-builder[data-flow=Big]")
    builder.get_by_role("button", name="Edit as expression").click()
    builder.get_by_label("Condition expression").fill("amount > 1000")
    builder.get_by_label("Condition expression").blur()
    select(page, "WaitForPayment")
    panel.get_by_label("Correlation key").fill("order_id")
    panel.get_by_label("Correlation key").blur()
    select(page, "Done")

    xml = designer_xml(page)
    big = xml[xml.index('<bpmn:sequenceFlow id="Big"') :]
    big = big[: big.index("</bpmn:sequenceFlow>")]
    assert big == (
        '<bpmn:sequenceFlow id="Big" name="amount &#62; 1000" sourceRef="Check" '
        'targetRef="WaitForPayment">\n'
        '      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">amount &gt; 1000'
        "</bpmn:conditionExpression>\n    "
    )
    assert 'flowgate:correlationKey="order_id"' in xml
    assert panel.get_by_label("Correlation key").count() == 0  # an end event has none


def test_the_form_builder_opens_in_a_dialog_and_saves_into_the_user_task(page):
    open_designer(page, xml_status=200, xml=USER_TASK_XML)
    select(page, "Approve")
    panel = page.locator("#designer-properties")
    textarea = panel.get_by_label("Form schema (form-js JSON)")
    textarea.fill(json.dumps(FORM_SCHEMA))
    textarea.blur()

    panel.get_by_role("button", name="Open form builder").click()
    dialog = page.get_by_role("dialog", name="Form for Approve")
    dialog.wait_for()
    assert dialog.locator(".fjs-editor-container").get_by_text("Reason").count() >= 1
    page.keyboard.press("Escape")  # cancel: nothing changes
    dialog.wait_for(state="detached")
    assert json.loads(textarea.input_value()) == FORM_SCHEMA

    panel.get_by_role("button", name="Open form builder").click()
    dialog.get_by_role("button", name="Use this form").click()
    dialog.wait_for(state="detached")

    saved = json.loads(panel.get_by_label("Form schema (form-js JSON)").input_value())
    assert [c["key"] for c in saved["components"]] == ["reason", "amount"]
    assert saved["type"] == "default" and "schemaVersion" in saved
    assert '"schemaVersion"' in designer_xml(page)
