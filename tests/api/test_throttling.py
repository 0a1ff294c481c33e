"""Write rate limits: per token, per session user; reads are never limited; 429 + Retry-After."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from rest_framework.test import APIClient

from apps.accounts.models import ApiToken
from apps.common.api import WriteRateThrottle
from tests.api.helpers import assert_error, token_client, token_for

pytestmark = pytest.mark.django_db


def test_write_rate_is_a_default_throttle():
    from rest_framework.views import APIView

    assert WriteRateThrottle in APIView.throttle_classes


def test_writes_over_the_rate_get_429_with_retry_after_and_change_nothing(make_user, settings):
    settings.FLOWGATE_API_WRITE_RATE = "2/min"
    user = make_user()
    tokens = [token_for(user, name=f"t{n}")[0] for n in range(3)]
    _, key = token_for(user, name="caller")
    client = token_client(key)
    assert client.delete(f"/api/v1/tokens/{tokens[0].pk}/").status_code == 204
    assert client.delete(f"/api/v1/tokens/{tokens[1].pk}/").status_code == 204
    response = client.delete(f"/api/v1/tokens/{tokens[2].pk}/")
    body = assert_error(response, 429, "throttled")
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= 60
    assert (
        body["message"]
        == f"Too many requests: retry in {retry_after} second{'s' if retry_after != 1 else ''}."
    )
    assert ApiToken.objects.get(pk=tokens[2].pk).revoked_at is None


def test_reads_are_not_limited(make_user, settings):
    settings.FLOWGATE_API_WRITE_RATE = "1/min"
    _, key = token_for(make_user())
    client = token_client(key)
    assert [client.get("/api/v1/me/").status_code for _ in range(5)] == [200] * 5


def test_each_token_has_its_own_budget_and_sessions_count_per_user(make_user, settings):
    settings.FLOWGATE_API_WRITE_RATE = "1/min"
    user = make_user()
    victims = [token_for(user, name=f"v{n}")[0] for n in range(4)]
    _, key_a = token_for(user, name="a")
    _, key_b = token_for(user, name="b")
    a, b = token_client(key_a), token_client(key_b)
    assert a.delete(f"/api/v1/tokens/{victims[0].pk}/").status_code == 204
    assert a.delete(f"/api/v1/tokens/{victims[1].pk}/").status_code == 429
    assert b.delete(f"/api/v1/tokens/{victims[1].pk}/").status_code == 204
    session = APIClient()
    session.force_login(user)
    assert session.delete(f"/api/v1/tokens/{victims[2].pk}/").status_code == 204
    assert session.delete(f"/api/v1/tokens/{victims[3].pk}/").status_code == 429
    assert ApiToken.objects.get(pk=victims[3].pk).revoked_at is None


def test_rate_can_be_turned_off(make_user, settings):
    settings.FLOWGATE_API_WRITE_RATE = None
    user = make_user()
    victims = [token_for(user, name=f"v{n}")[0] for n in range(3)]
    _, key = token_for(user)
    client = token_client(key)
    assert [client.delete(f"/api/v1/tokens/{t.pk}/").status_code for t in victims] == [204] * 3


def test_a_malformed_rate_is_a_configuration_error(settings):
    settings.FLOWGATE_API_WRITE_RATE = "lots"
    with pytest.raises(ImproperlyConfigured, match="FLOWGATE_API_WRITE_RATE"):
        WriteRateThrottle()


def test_without_the_setting_the_rate_is_120_per_minute(settings):
    del settings.FLOWGATE_API_WRITE_RATE
    throttle = WriteRateThrottle()
    assert (throttle.num_requests, throttle.duration) == (120, 60)
