"""Demo processes for the embedded mode (deployed by `manage.py bootstrap_demo`, idempotent):
the template gallery plus the other files in ``demo_bpmn/``, after the decisions they use (the
``.dmn`` files there: the access request's policy gate)."""

from __future__ import annotations

from apps.common.actors import Actor
from apps.processes.decisions import dmn_deploy
from apps.processes.gallery import DEMO_DIR
from apps.processes.services import version_deploy


def demo_decisions_ensure() -> list[str]:
    """Deploy the demo decisions (a file already deployed as is creates nothing)."""
    deployed = []
    for path in sorted(DEMO_DIR.glob("*.dmn")):
        result = dmn_deploy(
            xml=path.read_bytes(), actor=Actor.system("demo"), comment="Demo decision"
        )
        deployed += [f"{v.key} v{v.number}" for v in result.versions]
    return deployed


def demo_processes_ensure() -> list[str]:
    demo_decisions_ensure()  # before the processes whose business rule tasks name them
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
