"""The engine's doorbell on Redis (apps.engine.doorbell, decision 044): Celery's own message,
pushed with one LPUSH; a real worker answers it."""

from __future__ import annotations

import base64
import json

import pytest
from django.conf import settings

from apps.common.actors import Actor
from apps.engine import doorbell, services
from apps.engine.models import InstanceStatus, ProcessInstance
from apps.engine.tasks import answer_doorbell
from portal.celery import app
from tests.support.worker import WorkerProcess, wait_until

needs_redis = pytest.mark.skipif(not settings.REDIS_URL, reason="the direct doorbell is Redis's")


def _queued(client) -> list[dict]:
    return [json.loads(raw) for raw in client.lrange("celery", 0, -1)]


@needs_redis
def test_the_direct_message_is_celerys_own_but_for_its_ids():
    client = doorbell._client(app.conf.broker_url)
    app.control.purge()
    try:
        answer_doorbell.apply_async((41, 7))
        doorbell.ring(app, answer_doorbell, 41, 7)
        ours, celerys = _queued(client)  # LPUSH: the newest first
    finally:
        app.control.purge()
    for message in (ours, celerys):
        for name in ("id", "root_id", "origin"):
            message["headers"].pop(name)
        for name in ("correlation_id", "reply_to", "delivery_tag"):
            message["properties"].pop(name)
    assert ours == celerys
    assert json.loads(base64.b64decode(ours["body"]))[0] == [41, 7]


def test_other_brokers_and_eager_mode_ring_through_celery(settings):
    assert doorbell.direct_queue(app, answer_doorbell.name) in (None, "celery")
    app.conf.task_always_eager = True
    try:
        assert doorbell.direct_queue(app, answer_doorbell.name) is None
    finally:
        app.conf.task_always_eager = settings.CELERY_TASK_ALWAYS_EAGER
    broker = app.conf.broker_url
    app.conf.broker_url = "flowgate-fs://"
    try:
        assert doorbell.direct_queue(app, answer_doorbell.name) is None
    finally:
        app.conf.broker_url = broker


@needs_redis
@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_answers_the_direct_doorbell(deploy, test_connectors):
    """No sweeper runs here: the instances complete only if the worker takes the LPUSHed
    messages for Celery's."""
    assert doorbell.direct_queue(app, answer_doorbell.name) == "celery"
    app.control.purge()
    version = deploy("bench_auto.bpmn")
    worker = WorkerProcess(concurrency=1, name="doorbell").start()
    try:
        ids = [
            services.instance_start(version=version, variables={"n": n}, actor=Actor.system("t")).pk
            for n in range(5)
        ]

        def done() -> bool:
            return (
                ProcessInstance.objects.filter(pk__in=ids, status=InstanceStatus.COMPLETED).count()
                == 5
            )

        wait_until(done, timeout=60, message="5 instances completed by the doorbell")
    finally:
        worker.stop()


def test_a_key_prefix_or_own_queues_ring_through_celery():
    options = app.conf.broker_transport_options
    app.conf.broker_transport_options = {**(options or {}), "global_keyprefix": "fg:"}
    try:
        assert doorbell.direct_queue(app, answer_doorbell.name) is None
    finally:
        app.conf.broker_transport_options = options
    app.conf.task_queues = {"engine": {}}
    try:
        assert doorbell.direct_queue(app, answer_doorbell.name) is None
    finally:
        app.conf.task_queues = None
