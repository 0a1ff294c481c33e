from tests.engine.conftest import deploy  # noqa: F401 - shared fixture
