"""Demo processes for the embedded mode (deployed by `manage.py bootstrap_demo`, idempotent)."""

from __future__ import annotations

from pathlib import Path

from apps.common.actors import Actor

DEMO_DIR = Path(__file__).parent / "demo_bpmn"


def demo_processes_ensure() -> list[str]:
    from apps.processes.services import version_deploy

    deployed = []
    for path in sorted(DEMO_DIR.glob("*.bpmn")):
        result = version_deploy(xml=path.read_bytes(), actor=Actor.system("demo"))
        if not result.deployed:
            raise RuntimeError(
                f"Demo process {path.name} does not deploy: {result.version.problems}"
            )
        deployed.append(f"{result.version.definition.key} v{result.version.number}")
    return deployed
