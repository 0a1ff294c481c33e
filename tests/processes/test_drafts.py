"""Autosaved drafts: one per process and person, private to that person, gone on deploy."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from apps.common.actors import Actor
from apps.processes import gallery
from apps.processes.models import ProcessDraft
from apps.processes.services import version_deploy

pytestmark = pytest.mark.django_db
XML = gallery.template_get(slug="expense_approval").xml()


def _client(user):
    cache.clear()
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_save_read_replace_and_discard_a_draft(make_user):
    dana, eve = make_user("designer", username="dana"), make_user("designer", username="eve")
    client = _client(dana)
    url = "/api/v1/processes/expense_approval/draft/"
    assert client.get(url).status_code == 404
    first = client.put(url, {"xml": XML}, format="json")
    assert (first.status_code, first.json()["key"]) == (200, "expense_approval")
    client.put(url, {"xml": XML.replace("Manager approval", "Boss")}, format="json")
    assert ProcessDraft.objects.count() == 1
    assert "Boss" in client.get(url).json()["xml"]
    assert _client(eve).get(url).status_code == 404  # drafts are private
    assert client.delete(url).status_code == 204
    assert not ProcessDraft.objects.exists()


def test_bad_drafts_are_refused_and_only_designers_save(make_user):
    client = _client(make_user("designer"))
    blank = client.put("/api/v1/processes/p1/draft/", {"xml": "  "}, format="json")
    assert blank.status_code == 400
    bad_key = client.put("/api/v1/processes/1abc/draft/", {"xml": XML}, format="json")
    assert (bad_key.status_code, bad_key.json()["error"]) == (400, "invalid_key")
    refused = _client(make_user("approver")).put(
        "/api/v1/processes/p1/draft/", {"xml": XML}, format="json"
    )
    assert refused.status_code == 403
    assert not ProcessDraft.objects.exists()


def test_deploying_removes_the_deployers_draft_only(make_user):
    dana, eve = make_user("designer"), make_user("designer")
    for user in (dana, eve):
        ProcessDraft.objects.create(key="expense_approval", user=user, xml=XML)
    version_deploy(xml=XML, actor=Actor.system("test"), user=dana)
    assert list(ProcessDraft.objects.values_list("user", flat=True)) == [eve.pk]
