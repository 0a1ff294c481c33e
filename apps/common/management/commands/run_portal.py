"""Start the whole portal: ASGI web server, Celery worker and Celery beat. Ctrl-C stops all.

A worker or beat that exits on its own is started again (bounded; apps/common/supervisor.py).
"""

from __future__ import annotations

import signal

from django.core.management.base import BaseCommand

from apps.common.stack import portal_commands
from apps.common.supervisor import Supervisor


class Command(BaseCommand):
    help = "Run web (uvicorn, ASGI), a Celery worker and Celery beat together; Ctrl-C stops all."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")
        parser.add_argument("--concurrency", default="2")

    def handle(self, *args, host: str, port: str, concurrency: str, **options):
        commands = portal_commands(host=host, port=port, concurrency=concurrency)
        supervisor = Supervisor(commands, say=self.stderr.write)
        supervisor.start()
        self.stdout.write(
            self.style.SUCCESS(f"Flowgate is starting at http://{host}:{port}/ (Ctrl-C stops)")
        )
        signal.signal(signal.SIGINT, supervisor.stop)
        signal.signal(signal.SIGTERM, supervisor.stop)
        try:
            supervisor.run()
        finally:
            supervisor.terminate()
