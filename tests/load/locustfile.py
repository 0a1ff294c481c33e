"""Locust scenario against the real stack: designers, requesters, approvers and API clients.

Run by `make load` (tests/load/run.py), which starts the stack and passes the API tokens in
LOAD_TOKENS (JSON: username -> key) and the flaky service's address in LOAD_SERVICE_URL.
Every instance started here has a business key beginning with ``load-`` so that the run can
count them afterwards (zero lost instances).
"""

from __future__ import annotations

import json
import os
import random
import uuid
from pathlib import Path

from locust import HttpUser, between, events, task

TOKENS: dict[str, str] = json.loads(os.environ.get("LOAD_TOKENS", "{}"))
SERVICE_URL = os.environ.get("LOAD_SERVICE_URL", "http://127.0.0.1:18510")
KEYS_FILE = os.environ.get("LOAD_KEYS_FILE", "")
STATS_FILE = os.environ.get("LOAD_STATS_FILE", "")
BPMN = (Path(__file__).resolve().parents[1] / "chaos" / "bpmn" / "chaos_order.bpmn").read_text()


class _ApiUser(HttpUser):
    abstract = True
    username = "designer"

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Token {TOKENS[self.username]}"
        self.sign_in()

    def sign_in(self) -> None:
        """A browser session too (the pages): the login form, with its CSRF token, as a person
        would; the demo users' passwords are `<username>-demo-pass` (apps.accounts.services)."""
        self.client.get("/accounts/login/", name="GET /accounts/login/ (page)")
        token = self.client.cookies.get("csrftoken", "")
        self.client.post(
            "/accounts/login/",
            data={
                "username": self.username,
                "password": f"{self.username}-demo-pass",
                "csrfmiddlewaretoken": token,
            },
            headers={"Referer": f"{self.host}/accounts/login/"},
            name="POST /accounts/login/ (page)",
        )

    def page(self, path: str, name: str) -> None:
        with self.client.get(path, name=name, catch_response=True) as response:
            if response.status_code != 200 or "/accounts/login/" in response.url:
                response.failure(f"{response.status_code} at {response.url}")

    def start_instance(self, process: str, name: str) -> int | None:
        key = f"load-{uuid.uuid4().hex[:16]}"
        body = {
            "process_key": process,
            "business_key": key,
            "variables": {"base": SERVICE_URL, "n": random.randint(1, 1000), "timeout": 3},  # noqa: S311
        }
        with self.client.post(
            "/api/v1/instances/",
            json=body,
            headers={"Idempotency-Key": key},
            name=name,
            catch_response=True,
        ) as response:
            if response.status_code == 201:
                response.success()
                if KEYS_FILE:  # every start the server accepted, to count lost instances after
                    with open(KEYS_FILE, "a") as keys:
                        keys.write(key + "\n")
                return response.json()["id"]
            response.failure(f"{response.status_code}: {response.text[:200]}")
        return None


class Designer(_ApiUser):
    """Reads the process catalogue and versions, validates a model."""

    weight = 1
    wait_time = between(1, 3)
    username = "designer"

    @task(3)
    def processes(self) -> None:
        self.client.get("/api/v1/processes/", name="GET /processes/")

    @task(2)
    def versions(self) -> None:
        self.client.get(
            "/api/v1/processes/chaos_order/versions/", name="GET /processes/<key>/versions/"
        )

    @task(2)
    def designer_page(self) -> None:
        self.page("/designer/", "GET /designer/ (page)")

    @task(1)
    def validate(self) -> None:
        self.client.post(
            "/api/v1/processes/validate/", json={"xml": BPMN}, name="POST /processes/validate/"
        )


class Requester(_ApiUser):
    """Starts approval requests and orders, follows them."""

    weight = 3
    wait_time = between(0.5, 2)
    username = "designer"  # approvers may not approve their own requests (four-eyes)

    @task(2)
    def request_approval(self) -> None:
        self.start_instance("chaos_approval", "POST /instances/ (approval)")

    @task(2)
    def order(self) -> None:
        instance = self.start_instance("chaos_order", "POST /instances/ (order)")
        if instance is not None:
            self.client.get(f"/api/v1/instances/{instance}/", name="GET /instances/<id>/")

    @task(1)
    def my_instances(self) -> None:
        self.client.get("/api/v1/instances/?status=running", name="GET /instances/")

    @task(1)
    def pages(self) -> None:
        self.page("/requests/new/", "GET /requests/new/ (page)")
        self.page("/requests/", "GET /requests/ (page)")


class Approver(_ApiUser):
    """Works the inbox: lists open tasks and approves one (another approver may win: 409)."""

    weight = 2
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.username = random.choice(["approver", "approver2", "manager"])  # noqa: S311
        super().on_start()

    @task(1)
    def inbox_page(self) -> None:
        self.page("/inbox/", "GET /inbox/ (page)")

    @task(3)
    def work_inbox(self) -> None:
        response = self.client.get("/api/v1/tasks/?status=open", name="GET /tasks/")
        if response.status_code != 200:
            return
        tasks = response.json().get("results", [])
        if not tasks:
            return
        chosen = random.choice(tasks[:10])  # noqa: S311
        with self.client.post(
            f"/api/v1/tasks/{chosen['id']}/complete/",
            json={"data": {"approved": random.random() < 0.8, "comment": "load"}},  # noqa: S311
            name="POST /tasks/<id>/complete/",
            catch_response=True,
        ) as done:
            if done.status_code in (200, 409):  # 409: someone else completed it first
                done.success()
            else:
                done.failure(f"{done.status_code}: {done.text[:200]}")


class ApiClient(_ApiUser):
    """An integration: starts automatic orders back to back (order_fulfilment, 3 steps each)."""

    weight = 2
    wait_time = between(0.1, 0.5)
    username = "admin"

    @task(4)
    def automatic_order(self) -> None:
        self.start_instance("order_fulfilment", "POST /instances/ (automatic)")

    @task(1)
    def incidents(self) -> None:
        self.client.get("/api/v1/incidents/", name="GET /incidents/")

    @task(1)
    def reports_page(self) -> None:
        self.page("/admin-reports/sla/", "GET /admin-reports/sla/ (page)")


@events.quitting.add_listener
def _write_stats(environment, **kwargs) -> None:
    """The final statistics, after the in-flight requests of the stop have finished too (the CSV
    files are written before that)."""
    if not STATS_FILE:
        return
    stats = environment.stats

    def row(entry) -> dict:
        return {
            "method": entry.method or "",
            "name": entry.name,
            "requests": entry.num_requests,
            "failures": entry.num_failures,
            "rps": entry.total_rps,
            "p50": entry.get_response_time_percentile(0.50),
            "p95": entry.get_response_time_percentile(0.95),
            "p99": entry.get_response_time_percentile(0.99),
            "max": entry.max_response_time,
        }

    payload = {
        "endpoints": [row(e) for e in stats.entries.values()],
        "total": row(stats.total),
        "errors": [
            {
                "method": e.method,
                "name": e.name,
                "error": str(e.error),
                "occurrences": e.occurrences,
            }
            for e in stats.errors.values()
        ],
    }
    with open(STATS_FILE, "w") as handle:
        json.dump(payload, handle, indent=1)
