import json

import pytest

from apps.engine.core.compile import compile_bpmn
from apps.engine.core.errors import BpmnValidationError, UnsafeXmlError
from apps.engine.core.runner import ProcessRunner
from tests.engine_core.helpers import compiled, fixture

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions '
    'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:flowgate="http://flowgate.dev/schema/bpmn/1.0" id="d" targetNamespace="t">'
)


def process(body: str, executable: str = "true", pid: str = "p") -> bytes:
    return (
        HEAD + f'<bpmn:process id="{pid}" isExecutable="{executable}">{body}</bpmn:process>'
        "</bpmn:definitions>"
    ).encode()


def problems_of(xml: bytes, **kwargs) -> set[tuple]:
    with pytest.raises(BpmnValidationError) as info:
        compile_bpmn(xml, **kwargs)
    return {(p.element_id, p.code) for p in info.value.problems}


LINEAR = (
    '<bpmn:startEvent id="s"/><bpmn:endEvent id="e"/>'
    '<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="e"/>'
)


def test_compiled_process_describes_the_version():
    result = compiled("user_service.bpmn")
    assert result.process_id == "order"
    assert result.name == "Order approval"
    assert result.user_task_ids == frozenset({"review"})
    assert result.connectors == frozenset({"email"})
    assert result.called_process_ids == frozenset()
    assert result.timer_starts == ()
    assert result.message_starts == ()
    document = json.loads(result.spec_json)
    assert document["format"] == 1
    assert document["process_id"] == "order"
    assert set(document["spec"]["task_specs"]) >= {"start", "review", "notify", "end"}


def test_timer_and_message_starts_are_listed():
    assert compiled("timer_start.bpmn").timer_starts == (
        ("nightly", "cycle", "0 2 * * *"),
        ("once", "date", "2030-01-31T09:00:00Z"),
        ("every_hour", "cycle", "R/PT1H"),
    )
    assert compiled("messages.bpmn").message_starts == ("order_placed",)


def test_validation_reports_every_problem_at_once():
    found = problems_of(fixture("invalid.bpmn"))
    assert found == {
        ("compute", "unsupported_scriptTask"),
        ("rules", "business_rule_task_without_decision"),
        ("rules", "unreachable"),
        ("orphan", "unreachable"),
        ("f3", "bad_expression"),
        ("decide", "gateway_flow_without_condition"),
        ("nobody", "user_task_unassigned"),
        ("unbound", "service_task_without_connector"),
        ("bad_wait", "bad_timer"),
    }


def test_script_task_is_rejected_with_a_clear_message():
    xml = process(
        '<bpmn:startEvent id="s"/><bpmn:scriptTask id="calc"><bpmn:script>x = 1</bpmn:script>'
        '</bpmn:scriptTask><bpmn:endEvent id="e"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="calc"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="calc" targetRef="e"/>'
    )
    with pytest.raises(BpmnValidationError) as info:
        compile_bpmn(xml)
    assert [p.as_dict() for p in info.value.problems] == [
        {
            "element_id": "calc",
            "code": "unsupported_scriptTask",
            "message": "Script tasks are not allowed: use a service task bound to a connector.",
        }
    ]


def test_not_executable_process_is_reported():
    assert problems_of(process(LINEAR, executable="false")) == {("p", "not_executable")}


@pytest.mark.parametrize("engine_id", ["p.EndJoin", "t.BoundaryEventSplit", "t.BoundaryEventJoin"])
def test_ids_ending_like_engine_internals_run_under_their_own_ids(engine_id):
    # Spiff names a process's end "<process>.EndJoin" and a boundary split "<task>.Boundary...";
    # these are legal BPMN ids and used to be refused as "reserved by the engine"
    xml = process(
        f'<bpmn:startEvent id="s"/><bpmn:task id="{engine_id}"/><bpmn:endEvent id="e"/>'
        f'<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="{engine_id}"/>'
        f'<bpmn:sequenceFlow id="f2" sourceRef="{engine_id}" targetRef="e"/>'
    )
    r = ProcessRunner(compile_bpmn(xml).spec_json)
    effects = r.start({}).effects()
    assert [e.activity_id for e in effects.events if e.kind == "completed"] == [
        "s",
        engine_id,
        "e",
    ]
    assert effects.status == "completed"


def test_elements_named_like_engine_internals_run_under_their_own_ids():
    # Spiff names its own tasks Start, End, Root...: such elements used to be refused
    xml = process(
        '<bpmn:startEvent id="Start"/>'
        '<bpmn:userTask id="Root" name="Review" flowgate:candidateGroups="clerk"/>'
        '<bpmn:task id="StartEventSplit"/><bpmn:endEvent id="End"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="Start" targetRef="Root"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="Root" targetRef="StartEventSplit"/>'
        '<bpmn:sequenceFlow id="f3" sourceRef="StartEventSplit" targetRef="End"/>'
    )
    r = ProcessRunner(compile_bpmn(xml).spec_json)
    instance = r.load(r.start({"a": 1}).dump())
    [task] = instance.effects().user_tasks
    assert (task.activity_id, task.name) == ("Root", "Review")
    instance.complete_user_task(task.task_id, {"b": 2})
    assert [e.activity_id for e in instance.effects().events if e.kind == "completed"] == [
        "Root",
        "StartEventSplit",
        "End",
    ]
    effects = r.load(instance.dump()).effects()
    assert (effects.status, effects.variables) == ("completed", {"a": 1, "b": 2})


def test_unsupported_element_is_reported():
    xml = process(LINEAR + '<bpmn:complexGateway id="cg"/>')
    assert problems_of(xml) == {("cg", "unsupported_complexGateway")}
    xml = process(LINEAR + '<bpmn:dataStoreReference id="ds"/><bpmn:imaginaryTask id="it"/>')
    assert problems_of(xml) == {
        ("ds", "unsupported_dataStoreReference"),
        ("it", "unsupported_element"),
        (None, "schema"),
    }


def test_gateway_with_default_and_conditions_is_fine_but_missing_condition_is_not():
    body = (
        '<bpmn:startEvent id="s"/><bpmn:exclusiveGateway id="g"/>'
        '<bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/>'
        '<bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="g"/>'
        '<bpmn:sequenceFlow id="a" sourceRef="g" targetRef="e1">'
        "<bpmn:conditionExpression>x &gt; 1</bpmn:conditionExpression></bpmn:sequenceFlow>"
        '<bpmn:sequenceFlow id="b" sourceRef="g" targetRef="e2"/>'
    )
    assert problems_of(process(body)) == {("g", "gateway_flow_without_condition")}
    fixed = body.replace(
        '<bpmn:exclusiveGateway id="g"/>', '<bpmn:exclusiveGateway id="g" default="b"/>'
    )
    assert compile_bpmn(process(fixed)).process_id == "p"


def test_bad_expressions_and_timers_are_reported_with_element_ids():
    body = (
        '<bpmn:startEvent id="s"/>'
        '<bpmn:intermediateCatchEvent id="t"><bpmn:timerEventDefinition>'
        "<bpmn:timeDuration>PT1X</bpmn:timeDuration></bpmn:timerEventDefinition>"
        "</bpmn:intermediateCatchEvent>"
        '<bpmn:serviceTask id="svc" flowgate:connector="c"><bpmn:extensionElements>'
        '<flowgate:input name="x" expression="open(\'/etc/passwd\')"/>'
        '<flowgate:output name="y" expression="result.__class__"/>'
        "</bpmn:extensionElements></bpmn:serviceTask>"
        '<bpmn:endEvent id="e"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="svc"/>'
        '<bpmn:sequenceFlow id="f3" sourceRef="svc" targetRef="e"/>'
    )
    with pytest.raises(BpmnValidationError) as info:
        compile_bpmn(process(body))
    by_code = [(p.element_id, p.code) for p in info.value.problems]
    assert by_code == [("t", "bad_timer"), ("svc", "bad_expression"), ("svc", "bad_expression")]
    assert "output mapping 'y'" in info.value.problems[2].message


def test_user_task_needs_an_assignment_and_lane_must_be_a_known_role():
    found = problems_of(fixture("lanes.bpmn"), known_roles={"approver"})
    assert found == {("pay", "user_task_unassigned")}
    assert compiled("lanes.bpmn", known_roles={"finance"}).user_task_ids == {"pay", "ship"}


def test_unknown_role_and_connector_are_reported_when_lists_are_given():
    found = problems_of(
        fixture("user_service.bpmn"), known_roles={"clerk"}, known_connectors={"http"}
    )
    assert found == {("review", "unknown_role"), ("notify", "unknown_connector")}


def test_call_activity_needs_the_called_process():
    found = problems_of(fixture("call_parent.bpmn"))
    assert found == {("call_child", "called_process_missing")}
    result = compiled("call_parent.bpmn", called={"child_process": fixture("call_child.bpmn")})
    assert result.called_process_ids == frozenset({"child_process"})
    assert "child_process" in json.loads(result.spec_json)["subprocess_specs"]


def test_unsafe_xml_is_refused_before_any_check():
    with pytest.raises(UnsafeXmlError):
        compile_bpmn(b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>')


def test_non_bpmn_file_is_reported():
    assert problems_of(b"<svg/>") == {(None, "not_bpmn")}


def test_schema_errors_are_reported():
    xml = process(LINEAR.replace('<bpmn:endEvent id="e"/>', '<bpmn:endEvent id="e" bogus="1"/>'))
    found = problems_of(xml)
    assert found == {(None, "schema")}


def test_camunda_model_compiles_unchanged():
    result = compiled("camunda.bpmn")
    assert result.process_id == "camunda_invoice"
    assert result.connectors == frozenset({"invoice-fetch"})


def test_compiling_is_repeatable_with_fresh_parsers():
    # A Spiff parser reused after a failed get_spec returns half-built specs; we never reuse one.
    with pytest.raises(BpmnValidationError):
        compile_bpmn(fixture("invalid.bpmn"))
    assert compiled("user_service.bpmn").spec_json == compiled("user_service.bpmn").spec_json


def test_multi_instance_needs_exactly_one_source():
    body = (
        '<bpmn:startEvent id="s"/><bpmn:userTask id="u" flowgate:candidateGroups="a">'
        '<bpmn:multiInstanceLoopCharacteristics flowgate:collection="xs">'
        "<bpmn:loopCardinality>3</bpmn:loopCardinality>"
        '</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask><bpmn:endEvent id="e"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="u"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="u" targetRef="e"/>'
    )
    assert problems_of(process(body)) == {("u", "bad_multi_instance")}


def test_event_subprocesses_and_conditional_events_are_rejected():
    body = (
        LINEAR
        + '<bpmn:subProcess id="on_event" triggeredByEvent="true">'
        + '<bpmn:startEvent id="es"><bpmn:conditionalEventDefinition><bpmn:condition>x</bpmn:condition>'
        + "</bpmn:conditionalEventDefinition></bpmn:startEvent>"
        + '<bpmn:endEvent id="ee"/><bpmn:sequenceFlow id="ef" sourceRef="es" targetRef="ee"/>'
        + "</bpmn:subProcess>"
    )
    assert problems_of(process(body)) == {
        ("on_event", "unsupported_event_subprocess"),
        ("es", "unsupported_conditional_event"),
    }
