"""Demo processes for the embedded mode (deployed by `manage.py bootstrap_demo`, idempotent):
the template gallery plus the other files in ``demo_bpmn/``."""

from __future__ import annotations

from apps.common.actors import Actor
from apps.processes.gallery import DEMO_DIR
from apps.processes.services import version_deploy


def demo_processes_ensure() -> list[str]:
    deployed = []
    for path in sorted(DEMO_DIR.glob("*.bpmn")):
        result = version_deploy(
            xml=path.read_bytes(), actor=Actor.system("demo"), comment="Demo process"
        )
        if not result.deployed:
            raise RuntimeError(
                f"Demo process {path.name} does not deploy: {result.version.problems}"
            )
        deployed.append(f"{result.version.definition.key} v{result.version.number}")
    return deployed
