"""Idempotency-Key: replay, reuse conflict, validation, failures, expiry, concurrency."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.common.api import idempotency_records_prune
from apps.common.models import IdempotencyRecord
from tests.api import urls as test_urls
from tests.api.helpers import assert_error, token_client, token_for

URL = "/api/test/idempotent/"
pytestmark = pytest.mark.urls("tests.api.urls")


@pytest.fixture(autouse=True)
def _reset_calls():
    test_urls.CALLS.clear()
    test_urls.HOOK.clear()
    yield
    test_urls.CALLS.clear()
    test_urls.HOOK.clear()


@pytest.fixture
def caller(make_user):
    token, key = token_for(make_user())
    return token, token_client(key)


@pytest.mark.django_db
def test_without_the_header_every_request_runs(caller):
    _, client = caller
    assert client.post(URL, {"amount": 1}).json() == {"call": 1, "amount": 1}
    assert client.post(URL, {"amount": 1}).json() == {"call": 2, "amount": 1}
    assert IdempotencyRecord.objects.count() == 0


@pytest.mark.django_db
def test_a_repeated_key_replays_the_first_answer_and_runs_nothing(caller):
    token, client = caller
    first = client.post(URL, {"amount": 5}, HTTP_IDEMPOTENCY_KEY="order-17")
    assert first.status_code == 201
    assert first.json() == {"call": 1, "amount": 5}
    assert "Idempotent-Replayed" not in first
    again = client.post(URL, {"amount": 5}, HTTP_IDEMPOTENCY_KEY="order-17")
    assert again.status_code == 201
    assert again.json() == {"call": 1, "amount": 5}
    assert again["Idempotent-Replayed"] == "true"
    assert len(test_urls.CALLS) == 1
    record = IdempotencyRecord.objects.get()
    assert (record.owner, record.scope, record.key) == (
        f"token:{token.pk}",
        "test.idempotent",
        "order-17",
    )
    assert (record.status_code, record.response_body) == (201, {"call": 1, "amount": 5})
    assert len(record.request_fingerprint) == 64


@pytest.mark.django_db
def test_same_key_with_a_different_body_is_a_422(caller):
    _, client = caller
    client.post(URL, {"amount": 5}, HTTP_IDEMPOTENCY_KEY="k1")
    body = assert_error(
        client.post(URL, {"amount": 6}, HTTP_IDEMPOTENCY_KEY="k1"), 422, "idempotency_key_reused"
    )
    assert "'k1'" in body["message"]
    assert len(test_urls.CALLS) == 1
    assert IdempotencyRecord.objects.get().response_body == {"call": 1, "amount": 5}


@pytest.mark.django_db
def test_key_order_in_the_body_does_not_matter(caller):
    _, client = caller
    client.post(URL, {"amount": 5, "fail": ""}, HTTP_IDEMPOTENCY_KEY="k1")
    again = client.post(URL, {"fail": "", "amount": 5}, HTTP_IDEMPOTENCY_KEY="k1")
    assert again["Idempotent-Replayed"] == "true"


@pytest.mark.django_db
def test_keys_are_per_caller(make_user):
    _, key_a = token_for(make_user())
    _, key_b = token_for(make_user())
    a = token_client(key_a).post(URL, {"amount": 1}, HTTP_IDEMPOTENCY_KEY="same")
    b = token_client(key_b).post(URL, {"amount": 1}, HTTP_IDEMPOTENCY_KEY="same")
    assert (a.json()["call"], b.json()["call"]) == (1, 2)
    assert "Idempotent-Replayed" not in b


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there", "é"])
def test_bad_keys_are_a_400_and_nothing_runs(caller, key):
    _, client = caller
    response = client.post(URL, {"amount": 1}, HTTP_IDEMPOTENCY_KEY=key)
    body = assert_error(response, 400, "invalid_idempotency_key")
    assert body["details"] == [{"field": "Idempotency-Key", "message": "Invalid idempotency key."}]
    assert test_urls.CALLS == []
    assert IdempotencyRecord.objects.count() == 0


@pytest.mark.django_db
def test_a_255_character_key_is_fine(caller):
    _, client = caller
    assert client.post(URL, {"amount": 1}, HTTP_IDEMPOTENCY_KEY="k" * 255).status_code == 201


@pytest.mark.django_db
@pytest.mark.parametrize(("fail", "status"), [("raise", 409), ("respond", 409)])
def test_failures_are_not_remembered_so_a_retry_runs(caller, fail, status):
    _, client = caller
    assert (
        client.post(URL, {"amount": 1, "fail": fail}, HTTP_IDEMPOTENCY_KEY="k").status_code
        == status
    )
    assert IdempotencyRecord.objects.count() == 0
    # the same key may now carry a (different) request that succeeds
    ok = client.post(URL, {"amount": 1}, HTTP_IDEMPOTENCY_KEY="k")
    assert ok.status_code == 201 and "Idempotent-Replayed" not in ok


@pytest.mark.django_db
def test_validation_errors_happen_before_anything_is_stored(caller):
    _, client = caller
    assert_error(client.post(URL, {"amount": "x"}, HTTP_IDEMPOTENCY_KEY="k"), 400, "invalid")
    assert IdempotencyRecord.objects.count() == 0


@pytest.mark.django_db
def test_an_expired_record_frees_its_key(caller, settings):
    settings.FLOWGATE_IDEMPOTENCY_TTL_HOURS = 24
    _, client = caller
    client.post(URL, {"amount": 1}, HTTP_IDEMPOTENCY_KEY="k")
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
    again = client.post(URL, {"amount": 2}, HTTP_IDEMPOTENCY_KEY="k")
    assert again.status_code == 201 and again.json() == {"call": 2, "amount": 2}
    assert IdempotencyRecord.objects.get().response_body == {"call": 2, "amount": 2}


@pytest.mark.django_db
def test_prune_deletes_only_old_records(caller):
    _, client = caller
    client.post(URL, {"amount": 1}, HTTP_IDEMPOTENCY_KEY="old")
    client.post(URL, {"amount": 1}, HTTP_IDEMPOTENCY_KEY="new")
    IdempotencyRecord.objects.filter(key="old").update(
        created_at=timezone.now() - timedelta(hours=25)
    )
    assert idempotency_records_prune() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


@pytest.mark.django_db
def test_session_callers_use_their_user_as_owner(make_user):
    from rest_framework.test import APIClient

    user = make_user()
    client = APIClient()
    client.force_login(user)
    client.post(URL, {"amount": 1}, HTTP_IDEMPOTENCY_KEY="k")
    assert IdempotencyRecord.objects.get().owner == f"user:{user.pk}"


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_run_the_handler_once(make_user):
    """Thread A is inside the handler (record inserted, not committed) when thread B sends the
    same key; B must wait for A's commit and then replay A's answer."""
    _, key = token_for(make_user())
    a_inside = threading.Event()
    release_a = threading.Event()
    results = {}

    def hook():
        if threading.current_thread().name == "A":
            a_inside.set()
            assert release_a.wait(30), "B never started waiting"

    test_urls.HOOK.append(hook)

    def send(name):
        try:
            results[name] = token_client(key).post(URL, {"amount": 9}, HTTP_IDEMPOTENCY_KEY="dup")
        finally:
            connection.close()

    thread_a = threading.Thread(target=send, args=("A",), name="A")
    thread_a.start()
    assert a_inside.wait(30)
    thread_b = threading.Thread(target=send, args=("B",), name="B")
    thread_b.start()
    # Wait (bounded) until B's INSERT is blocked on A's uncommitted unique-index entry.
    with connection.cursor() as cursor:
        for _ in range(600):
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0] >= 1:
                break
            threading.Event().wait(0.05)
        else:
            pytest.fail("thread B never blocked on the idempotency record")
    release_a.set()
    thread_a.join(30)
    thread_b.join(30)
    assert not thread_a.is_alive() and not thread_b.is_alive()
    assert len(test_urls.CALLS) == 1
    assert results["A"].status_code == results["B"].status_code == 201
    assert results["A"].json() == results["B"].json() == {"call": 1, "amount": 9}
    assert "Idempotent-Replayed" not in results["A"]
    assert results["B"]["Idempotent-Replayed"] == "true"
    assert IdempotencyRecord.objects.count() == 1


@pytest.mark.django_db
def test_beat_prunes_expired_answers_hourly(caller, settings):
    from apps.common.tasks import prune_idempotency_records

    entry = settings.CELERY_BEAT_SCHEDULE["prune-idempotency-records"]
    assert (entry["task"], entry["schedule"]) == (prune_idempotency_records.name, 3600.0)
    _, client = caller
    client.post(URL, {"amount": 1}, HTTP_IDEMPOTENCY_KEY="expired")
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=30))
    assert prune_idempotency_records() == 1
    assert not IdempotencyRecord.objects.exists()
