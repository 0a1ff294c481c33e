"""tests/accounts tests sign-in and tokens: here passwords are hashed as in production."""

import pytest
from django.conf import global_settings


@pytest.fixture(autouse=True)
def production_password_hashing(settings):
    settings.PASSWORD_HASHERS = list(global_settings.PASSWORD_HASHERS)
