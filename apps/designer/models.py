"""The designer's own rows: the stub settings of a test run, read by the workers too."""

from __future__ import annotations

from django.db import models


class TestRunStubs(models.Model):
    """Which service tasks of a designer test run are stubbed, and with what result.

    Every service task of the test instance is stubbed (``stubs[activity id]``, else ``{}``)
    except the ones in ``real``, which run their connector like any instance. Workers consult
    this through the engine's job-stub hook (``apps.designer.apps``), so a stubbed task that
    comes after a real one is stubbed too. No row: nothing is stubbed.
    """

    __test__ = False  # not a pytest test class

    instance = models.OneToOneField(
        "engine.ProcessInstance", on_delete=models.CASCADE, related_name="+"
    )
    stubs = models.JSONField(default=dict, blank=True)
    real = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"stubs of test run {self.instance_id}"
