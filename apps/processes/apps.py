from django.apps import AppConfig


class ProcessesConfig(AppConfig):
    name = "apps.processes"
    label = "processes"

    def ready(self) -> None:
        # Models load only after the app registry is ready, so the selector is imported here.
        from apps.audit.labels import version_names
        from apps.audit.services import evidence_bpmn_files, evidence_dmn_files
        from apps.connectors.registry import register
        from apps.processes.decision_connector import DecisionConnector
        from apps.processes.decision_selectors import deployments_dmn_files
        from apps.processes.selectors import versions_bpmn_files, versions_names

        evidence_bpmn_files.connect(versions_bpmn_files)
        evidence_dmn_files.connect(deployments_dmn_files)
        version_names.connect(versions_names)
        register(DecisionConnector())  # business rule tasks (docs/dmn.md)
