"""Demo processes for the embedded mode. Filled in once the engine can deploy."""


def demo_processes_ensure() -> list[str]:
    return []
