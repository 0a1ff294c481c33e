"""Start the whole portal: ASGI web server, Celery worker and Celery beat. Ctrl-C stops all."""

from __future__ import annotations

import signal
import subprocess
import time

from django.core.management.base import BaseCommand

from apps.common.stack import portal_commands


class Command(BaseCommand):
    help = "Run web (uvicorn, ASGI), a Celery worker and Celery beat together; Ctrl-C stops all."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")
        parser.add_argument("--concurrency", default="2")

    def handle(self, *args, host: str, port: str, concurrency: str, **options):
        commands = portal_commands(host=host, port=port, concurrency=concurrency)
        procs = {name: subprocess.Popen(cmd) for name, cmd in commands.items()}  # noqa: S603
        self.stdout.write(
            self.style.SUCCESS(f"Flowgate is starting at http://{host}:{port}/ (Ctrl-C stops)")
        )
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping:
                for name, proc in procs.items():
                    if proc.poll() is not None:
                        self.stderr.write(
                            f"{name} exited with {proc.returncode}; stopping the portal."
                        )
                        stopping = True
                time.sleep(0.5)
        finally:
            for proc in procs.values():
                if proc.poll() is None:
                    proc.terminate()
            deadline = time.monotonic() + 10
            for proc in procs.values():
                try:
                    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    proc.kill()
