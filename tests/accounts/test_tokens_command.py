from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from apps.accounts.models import ApiToken
from apps.accounts.services import api_token_hash
from tests.api.helpers import token_client

pytestmark = pytest.mark.django_db


def test_prints_only_the_key(make_user):
    user = make_user("designer", username="ci")
    out = StringIO()
    call_command("create_api_token", "ci", "--name", "pipeline", stdout=out)
    key = out.getvalue().strip()
    assert out.getvalue() == key + "\n"
    token = ApiToken.objects.get(user=user)
    assert (token.name, token.expires_at) == ("pipeline", None)
    assert token.key_hash == api_token_hash(key)
    assert token_client(key).get("/api/v1/me/").json()["username"] == "ci"


def test_expires_days(make_user):
    make_user(username="ci")
    before = timezone.now()
    call_command("create_api_token", "ci", "--expires-days", "3", stdout=StringIO())
    token = ApiToken.objects.get()
    assert token.name == "command line"
    delta = token.expires_at - before
    assert 3 * 86400 <= delta.total_seconds() < 3 * 86400 + 60


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nobody"], "No user named 'nobody'."),
        (["ci", "--expires-days", "0"], "--expires-days must be between 1 and 3650."),
        (["ci", "--name", " "], "Give the token a name"),
    ],
)
def test_errors_create_nothing(make_user, args, message):
    make_user(username="ci")
    with pytest.raises(CommandError, match=message):
        call_command("create_api_token", *args, stdout=StringIO())
    assert ApiToken.objects.count() == 0
