"""Webhook triggers: HMAC signature, timestamp window, replayed deliveries start nothing new."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from apps.common.actors import Actor
from apps.connectors.models import Secret
from apps.engine.models import ProcessInstance
from apps.processes.services import version_deploy
from apps.processes.webhooks import sign, sign_v2
from tests.api.test_engine_api import client_for

pytestmark = pytest.mark.django_db
MESSAGES = Path(__file__).resolve().parents[1] / "engine_core" / "bpmn" / "messages.bpmn"


@pytest.fixture
def hook(make_user):
    version_deploy(xml=MESSAGES.read_bytes(), actor=Actor.system("test"))
    response = client_for(make_user("designer")).post(
        "/api/v1/processes/messages/webhooks/",
        {"message_name": "order_placed", "name": "shop"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()


def deliver(
    hook, payload: dict | bytes, *, delivery="d-1", secret=None, timestamp=None, signature=None
):
    """A delivery signed the current way (v2: timestamp, delivery id and body)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return post(
        hook,
        body,
        timestamp=ts,
        delivery=delivery,
        signature=signature or sign_v2(secret or hook["secret"], ts, delivery, body),
    )


def post(hook, body: bytes, *, timestamp: str, delivery: str, signature: str):
    return APIClient().post(
        f"/api/v1/hooks/{hook['webhook']['id']}/",
        body,
        content_type="application/json",
        HTTP_X_FLOWGATE_TIMESTAMP=timestamp,
        HTTP_X_FLOWGATE_DELIVERY=delivery,
        HTTP_X_FLOWGATE_SIGNATURE=signature,
    )


def test_only_designers_attach_webhooks_and_the_secret_is_stored_encrypted(make_user, hook):
    refused = client_for(make_user("approver")).post(
        "/api/v1/processes/messages/webhooks/", {"message_name": "order_placed"}, format="json"
    )
    assert refused.status_code == 403
    assert hook["webhook"]["url"].endswith(f"/api/v1/hooks/{hook['webhook']['id']}/")
    stored = Secret.objects.get(name=f"webhook-{hook['webhook']['id']}")
    assert hook["secret"] not in stored.ciphertext
    wrong = client_for(make_user("designer")).post(
        "/api/v1/processes/messages/webhooks/", {"message_name": "nope"}, format="json"
    )
    assert wrong.status_code == 400 and wrong.json()["error"] == "no_message_start"


def test_a_signed_delivery_starts_an_instance_once(hook):
    first = deliver(hook, {"order_id": "A7", "correlation_key": "A7"})
    assert first.status_code == 200 and first.json()["replayed"] is False
    [instance_id] = first.json()["instances"]
    instance = ProcessInstance.objects.get(pk=instance_id)
    assert (instance.business_key, instance.variables["order_id"]) == ("A7", "A7")
    again = deliver(hook, {"order_id": "A7", "correlation_key": "A7"})
    assert again.json() == {"instances": [instance_id], "replayed": True}
    assert ProcessInstance.objects.count() == 1


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"secret": "not-the-secret"}, 401, "bad_signature"),
        ({"timestamp": int(time.time()) - 3600}, 401, "bad_signature"),
        ({"delivery": ""}, 400, "missing_delivery_id"),
    ],
)
def test_bad_deliveries_are_refused_and_start_nothing(hook, kwargs, status, code):
    response = deliver(hook, {"order_id": "X"}, **kwargs)
    assert (response.status_code, response.json()["error"]) == (status, code)
    assert ProcessInstance.objects.count() == 0


def test_non_json_bodies_and_unknown_or_disabled_hooks(hook, make_user):
    assert deliver(hook, b"not json").json()["error"] == "invalid_json"
    assert deliver(hook, b"[1, 2]").status_code == 400
    missing = APIClient().post("/api/v1/hooks/99999/", b"{}", content_type="application/json")
    assert missing.status_code == 404
    designer = client_for(make_user("admin"))
    assert designer.delete(f"/api/v1/webhooks/{hook['webhook']['id']}/").json()["active"] is False
    assert deliver(hook, {"order_id": "Z"}, delivery="d-9").status_code == 404
    assert ProcessInstance.objects.count() == 0


def test_a_captured_v2_delivery_replayed_under_a_new_delivery_id_is_refused(hook):
    body = json.dumps({"order_id": "A7"}).encode()
    ts = str(int(time.time()))
    captured = sign_v2(hook["secret"], ts, "d-1", body)
    assert post(hook, body, timestamp=ts, delivery="d-1", signature=captured).status_code == 200
    replay = post(hook, body, timestamp=ts, delivery="d-2", signature=captured)
    assert (replay.status_code, replay.json()["error"]) == (401, "bad_signature")
    assert ProcessInstance.objects.count() == 1


def test_v1_signatures_still_work_but_a_replay_under_a_new_delivery_id_is_refused(hook):
    body = json.dumps({"order_id": "A7"}).encode()
    ts = str(int(time.time()))
    captured = sign(hook["secret"], ts, body)
    first = post(hook, body, timestamp=ts, delivery="d-1", signature=captured)
    assert (first.status_code, first.json()["replayed"]) == (200, False)
    retried = post(hook, body, timestamp=ts, delivery="d-1", signature=captured)
    assert retried.json() == {"instances": first.json()["instances"], "replayed": True}
    replay = post(hook, body, timestamp=ts, delivery="d-2", signature=captured)
    assert replay.status_code == 409
    assert replay.json()["error"] == "delivery_replayed"
    assert replay.json()["message"] == (
        "This signed delivery was already received as delivery 'd-1'; a new delivery needs its "
        "own X-Flowgate-Timestamp and signature."
    )
    assert ProcessInstance.objects.count() == 1


def test_a_delivery_id_reused_with_another_body_is_refused_with_422(hook):
    assert deliver(hook, {"order_id": "A7"}, delivery="d-1").status_code == 200
    reused = deliver(hook, {"order_id": "B8"}, delivery="d-1")
    assert reused.status_code == 422
    assert reused.json()["error"] == "delivery_id_reused"
    assert reused.json()["message"] == (
        "The delivery id 'd-1' was already used for a different body. Use a new "
        "X-Flowgate-Delivery id for a new event; repeat a delivery only with exactly the same body."
    )
    assert ProcessInstance.objects.count() == 1
    # A retry signed later (new timestamp) with the same body is the same delivery.
    retry = deliver(hook, {"order_id": "A7"}, delivery="d-1", timestamp=int(time.time()) - 5)
    assert retry.json()["replayed"] is True


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"amount": NaN}', "NaN is not a JSON number"),
        (b'{"amount": 1e999}', "the number 1e999 is too large"),
        (b'{"note": "a\\u0000b"}', "text may not contain NUL"),
        (b'{"note": "\\ud800"}', "unpaired UTF-16 surrogate"),
        (b'{"deep": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", "nested more than 64 levels"),
        (b"\xff\xfe{}", "JSON parse error"),
    ],
)
def test_hostile_json_in_a_signed_delivery_is_a_400(hook, body, reason):
    response = deliver(hook, body)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_json")
    assert response.json()["message"].startswith("The body must be a JSON object: JSON parse error")
    assert reason in response.json()["message"]
    assert ProcessInstance.objects.count() == 0
