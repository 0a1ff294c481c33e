"""Loaded by the integration tests' worker (FLOWGATE_CONNECTOR_MODULES): registers the test connectors."""

from tests.support.connectors import register_all

register_all()
