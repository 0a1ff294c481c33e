from django.apps import AppConfig


class ProcessesConfig(AppConfig):
    name = "apps.processes"
    label = "processes"

    def ready(self) -> None:
        # Models load only after the app registry is ready, so the selector is imported here.
        from apps.audit.labels import version_names_register
        from apps.audit.services import evidence_bpmn_source_register
        from apps.processes.selectors import versions_bpmn_files, versions_names

        evidence_bpmn_source_register(versions_bpmn_files)
        version_names_register(versions_names)
