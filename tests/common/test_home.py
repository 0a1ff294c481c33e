"""The home page: one card per work area the reader may use, each saying what it is for."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from apps.accounts.roles import NAV_SECTIONS
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CARD = re.compile(
    r'<h3 class="h5 card-title text-body-emphasis">([^<]+)</h3>\s*'
    r'<p class="card-text small mb-0">(.*?)</p>',
    re.S,
)


def test_every_work_area_card_says_what_it_is_for():
    # given a user with every role, who sees every section
    client = Client()
    client.force_login(UserFactory(roles=["admin", "designer", "approver", "manager", "auditor"]))
    html = client.get("/").content.decode()
    # then each card has its section's name and a sentence about it (Requests had none)
    cards = {label: " ".join(text.split()) for label, text in CARD.findall(html)}
    assert list(cards) == [label for label, _url, _roles in NAV_SECTIONS]
    assert cards["Requests"] == "Start a request from the catalog and follow the ones you started."
    assert all(cards.values()), cards
