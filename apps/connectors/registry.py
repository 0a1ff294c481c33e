"""Where the job runtime finds connectors by name.

Sources, loaded once on first use:
1. the built-ins (``http``, ``email``, ``echo``, ``set_variables``),
2. Python entry points in the group ``flowgate.connectors`` (a Connector instance, a Connector
   subclass, or a module that registers its connectors when imported),
3. the modules named in ``settings.FLOWGATE_CONNECTOR_MODULES`` (imported; they register with
   :func:`register` or the :func:`function` decorator).
"""

from __future__ import annotations

import importlib
import inspect
import logging
import re
import threading
from collections.abc import Callable
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from apps.common.errors import NotFound
from apps.connectors.base import Connector, ConnectorError, ExecutionContext

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "flowgate.connectors"
BUILTIN_MODULES = (
    "apps.connectors.http.connector",
    "apps.connectors.email.connector",
    "apps.connectors.functions.builtins",
)
NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.:-]{0,99}$")

_connectors: dict[str, Connector] = {}
_loaded = False
_load_lock = threading.RLock()

FunctionType = Callable[[dict[str, Any], ExecutionContext], dict[str, Any]]


def register(connector: Connector) -> None:
    """Add a connector. Registering a second, different connector under a taken name is an error
    (two plug-ins fighting over a name must not silently replace each other)."""
    if not isinstance(connector, Connector):
        raise TypeError(f"register() needs a Connector instance, got {connector!r}")
    name = connector.name
    if not NAME_RE.match(name or ""):
        raise ImproperlyConfigured(
            f"Connector name {name!r} is invalid: use letters, digits, '_', '.', ':' or '-', "
            "starting with a letter (at most 100 characters)."
        )
    with _load_lock:
        existing = _connectors.get(name)
        if existing is not None and _origin(existing) != _origin(connector):
            raise ImproperlyConfigured(
                f"Connector name {name!r} is registered twice: by {_origin(existing)} and by "
                f"{_origin(connector)}. Rename one of them."
            )
        _connectors[name] = connector


def unregister(name: str) -> None:
    """Remove a connector (tests and plug-in reloads)."""
    with _load_lock:
        _connectors.pop(name, None)


def get(name: str) -> Connector:
    _ensure_loaded()
    try:
        return _connectors[name]
    except KeyError:
        known = ", ".join(sorted(n for n, c in _connectors.items() if not c.internal)) or "none"
        raise NotFound(
            f"Unknown connector {name!r}. Registered connectors: {known}. Check the service "
            "task's connector/topic name or install the plug-in that provides it.",
            code="unknown_connector",
        ) from None


def chainable_names() -> list[str]:
    """Names of the connectors whose steps the worker chains (see ``Connector.chainable``)."""
    _ensure_loaded()
    return [name for name, connector in _connectors.items() if connector.chainable]


def all_connectors() -> list[Connector]:
    """The connectors a service task may name (not the engine's internal ones)."""
    _ensure_loaded()
    return sorted((c for c in _connectors.values() if not c.internal), key=lambda c: c.name)


class FunctionConnector(Connector):
    """A plain Python function ``(inputs, context) -> dict`` exposed as a connector."""

    def __init__(
        self,
        func: FunctionType,
        *,
        name: str,
        label: str = "",
        schema: dict | None = None,
        chainable: bool = False,
    ):
        self.func = func
        self.chainable = chainable
        self.name = name
        self.label = label or name
        self.description = inspect.cleandoc(func.__doc__ or "")
        self.config_schema = schema if schema is not None else {"type": "object"}

    def execute(self, inputs: dict[str, Any], context: ExecutionContext) -> dict[str, Any]:
        result = self.func(inputs, context)
        if not isinstance(result, dict):
            raise ConnectorError(
                f"Function connector {self.name!r} returned {type(result).__name__}, "
                "not a dict of output variables.",
                permanent=True,
            )
        return result


def runs_in_process(name: str) -> bool:
    """Whether a connector is a plain in-process function (no I/O worth overlapping with other
    workers). An unknown name is not."""
    _ensure_loaded()
    return isinstance(_connectors.get(name), FunctionConnector)


def function(
    name: str, *, label: str = "", schema: dict | None = None, chainable: bool = False
) -> Callable[[FunctionType], FunctionType]:
    """Decorator: register ``func(inputs: dict, context: ExecutionContext) -> dict`` as the
    connector ``name``. The function itself is returned unchanged (still callable in tests).
    ``chainable=True`` only for fast, local functions that are safe to run again (see
    ``Connector``)."""

    def decorate(func: FunctionType) -> FunctionType:
        register(
            FunctionConnector(func, name=name, label=label, schema=schema, chainable=chainable)
        )
        return func

    return decorate


def _origin(connector: Connector) -> str:
    target: Any = connector.func if isinstance(connector, FunctionConnector) else type(connector)
    return f"{target.__module__}.{target.__qualname__}"


def _ensure_loaded() -> None:
    global _loaded
    if _loaded:
        return
    with _load_lock:
        if _loaded:
            return
        for module_name in BUILTIN_MODULES:
            importlib.import_module(module_name)
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            try:
                _register_loaded(ep.load(), source=f"entry point {ep.name!r} ({ep.value})")
            except ImproperlyConfigured:
                raise
            except Exception:
                # One broken plug-in must not take every process down; its name stays unknown
                # and service tasks using it fail with "Unknown connector".
                logger.exception("Could not load connector entry point %s", ep.value)
        for module_name in settings.FLOWGATE_CONNECTOR_MODULES:
            try:
                importlib.import_module(module_name)
            except ImportError as exc:
                raise ImproperlyConfigured(
                    f"FLOWGATE_CONNECTOR_MODULES names {module_name!r}, which cannot be "
                    f"imported: {exc}"
                ) from exc
        _loaded = True


def _register_loaded(obj: Any, *, source: str) -> None:
    if isinstance(obj, ModuleType):
        return  # importing it registered its connectors
    if isinstance(obj, Connector):
        register(obj)
    elif inspect.isclass(obj) and issubclass(obj, Connector):
        register(obj())
    else:
        raise ImproperlyConfigured(
            f"{source} must point at a Connector instance, a Connector subclass or a module, "
            f"not {obj!r}."
        )
