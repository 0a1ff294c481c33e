"""Prepare a fresh Flowgate database for the chaos and load runs (run in the stack's environment):
demo users and processes, the chaos processes, one API token per scripted user. Prints JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import django

BPMN_DIR = Path(__file__).parent / "bpmn"
USERS = ("designer", "approver", "approver2", "manager", "admin")


def main() -> None:
    django.setup()
    from apps.accounts.models import User
    from apps.accounts.services import api_token_create, demo_users_ensure
    from apps.common.actors import Actor
    from apps.processes.demo import demo_processes_ensure
    from apps.processes.services import version_deploy

    demo_users_ensure()
    demo_processes_ensure()
    for path in sorted(BPMN_DIR.glob("*.bpmn")):
        result = version_deploy(xml=path.read_bytes(), actor=Actor.system("chaos"))
        if not result.deployed:
            raise SystemExit(f"{path.name} does not deploy: {result.version.problems}")
    tokens = {}
    for username in USERS:
        user = User.objects.get(username=username)
        tokens[username] = api_token_create(user=user, name="chaos")[1]
    json.dump({"tokens": tokens}, sys.stdout)


if __name__ == "__main__":
    main()
