from __future__ import annotations

import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from apps.common.errors import NotFound
from apps.connectors import registry
from apps.connectors.base import BusinessError, Connector, ConnectorError


@pytest.fixture
def fresh_registry(monkeypatch):
    """An empty, not-yet-loaded registry; the real one is restored afterwards."""
    monkeypatch.setattr(registry, "_connectors", {})
    monkeypatch.setattr(registry, "_loaded", False)
    for name in (*registry.BUILTIN_MODULES, "tests.connectors.plugin_sample"):
        monkeypatch.delitem(sys.modules, name, raising=False)  # restored afterwards
    yield
    sys.modules.pop("tests.connectors.plugin_sample", None)


def test_builtins_are_registered():
    names = [c.name for c in registry.all_connectors()]
    assert names == ["echo", "email", "http", "set_variables"]


def test_unknown_connector_is_a_clear_not_found():
    with pytest.raises(NotFound) as caught:
        registry.get("nope")
    assert caught.value.message.startswith(
        "Unknown connector 'nope'. Registered connectors: echo, email, http, set_variables."
    )
    assert caught.value.code == "unknown_connector"


def test_echo_and_set_variables(context):
    assert registry.get("echo").execute({"a": 1, "b": [2]}, context) == {"a": 1, "b": [2]}
    set_variables = registry.get("set_variables")
    assert set_variables.execute({"variables": {"x": 1}}, context) == {"x": 1}
    assert set_variables.execute({}, context) == {}
    with pytest.raises(ConnectorError) as caught:
        set_variables.execute({"variables": [1]}, context)
    assert caught.value.permanent is True


def test_function_decorator_registers_and_returns_the_function(context, fresh_registry):
    @registry.function("t.add", label="Add", schema={"type": "object"})
    def add(inputs, ctx):
        """Adds a and b."""
        return {"sum": inputs["a"] + inputs["b"], "key": ctx.idempotency_key}

    connector = registry.get("t.add")
    assert (connector.name, connector.label, connector.description) == (
        "t.add",
        "Add",
        "Adds a and b.",
    )
    assert connector.execute({"a": 2, "b": 3}, context) == {"sum": 5, "key": "inst-7:act-42"}
    assert add({"a": 1, "b": 1}, context)["sum"] == 2


def test_function_returning_a_non_dict_is_a_permanent_error(context, fresh_registry):
    registry.function("t.bad")(lambda inputs, ctx: [1])

    with pytest.raises(ConnectorError) as caught:
        registry.get("t.bad").execute({}, context)
    assert caught.value.permanent is True
    assert caught.value.message == (
        "Function connector 't.bad' returned list, not a dict of output variables."
    )


def test_business_errors_from_functions_pass_through(context, fresh_registry):
    @registry.function("t.refuse")
    def refuse(inputs, ctx):
        raise BusinessError("CREDIT_REFUSED", "Score too low")

    with pytest.raises(BusinessError) as caught:
        registry.get("t.refuse").execute({}, context)
    assert (caught.value.error_code, caught.value.permanent) == ("CREDIT_REFUSED", True)


def test_two_different_connectors_cannot_share_a_name(fresh_registry):
    registry.function("t.same")(lambda inputs, ctx: {})

    def other(inputs, ctx):
        return {}

    with pytest.raises(ImproperlyConfigured) as caught:
        registry.function("t.same")(other)
    assert "Connector name 't.same' is registered twice" in str(caught.value)


@pytest.mark.parametrize("name", ["", "1abc", "has space", "x" * 101])
def test_invalid_names_are_refused(name, fresh_registry):
    with pytest.raises(ImproperlyConfigured):
        registry.function(name)(lambda inputs, ctx: {})


def test_modules_from_settings_are_loaded(settings, context, fresh_registry):
    settings.FLOWGATE_CONNECTOR_MODULES = ["tests.connectors.plugin_sample"]

    connector = registry.get("sample.double")

    assert connector.execute({"n": 21}, context) == {"n": 42}
    assert connector.config_schema == {"type": "object", "required": ["n"]}
    assert "http" in [c.name for c in registry.all_connectors()]


def test_a_missing_settings_module_is_a_configuration_error(settings, fresh_registry):
    settings.FLOWGATE_CONNECTOR_MODULES = ["tests.connectors.does_not_exist"]

    with pytest.raises(ImproperlyConfigured) as caught:
        registry.all_connectors()
    assert "FLOWGATE_CONNECTOR_MODULES names 'tests.connectors.does_not_exist'" in str(caught.value)


class _PluginConnector(Connector):
    name = "plugin.hello"
    label = "Hello"

    def execute(self, inputs, context):
        return {"hello": inputs.get("who", "world")}


class _FakeEntryPoint:
    def __init__(self, name, obj):
        self.name, self.value, self._obj = name, f"fake:{name}", obj

    def load(self):
        if isinstance(self._obj, Exception):
            raise self._obj
        return self._obj


def test_entry_points_register_classes_and_instances_and_survive_broken_ones(
    monkeypatch, context, fresh_registry
):
    class Second(_PluginConnector):
        name = "plugin.second"

    points = [
        _FakeEntryPoint("hello", _PluginConnector),
        _FakeEntryPoint("second", Second()),
        _FakeEntryPoint("broken", ImportError("missing dependency")),
    ]
    monkeypatch.setattr(
        registry, "entry_points", lambda group: points if group == "flowgate.connectors" else []
    )

    names = [c.name for c in registry.all_connectors()]

    assert names == ["echo", "email", "http", "plugin.hello", "plugin.second", "set_variables"]
    assert registry.get("plugin.hello").execute({"who": "you"}, context) == {"hello": "you"}
