"""Autosaved drafts: one per process and person, private to that person, gone on deploy."""

from __future__ import annotations

import re

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


def test_drafts_are_named_listed_renamed_and_discarded(make_user):
    """Drafts used to pile up as bare process ids: each now has a name (the process's or the
    opened file's, and the time), which its owner can change, and the owner can discard it."""
    dana, eve = make_user("designer", username="dana"), make_user("designer", username="eve")
    client = _client(dana)
    url = "/api/v1/processes/expense_approval/draft/"
    first = client.put(url, {"xml": XML}, format="json").json()
    assert re.fullmatch(r"Expense approval, \d{1,2} \w{3} \d\d:\d\d", first["name"])
    client.put(url, {"xml": XML.replace("Manager approval", "Boss")}, format="json")
    assert client.get(url).json()["name"] == first["name"]  # a save keeps the name
    opened = client.put(
        "/api/v1/processes/order_c8/draft/", {"xml": XML, "source": "order.bpmn"}, format="json"
    )
    assert opened.json()["name"].startswith("order.bpmn, ")
    listed = client.get("/api/v1/processes/drafts/").json()
    assert [d["key"] for d in listed] == ["order_c8", "expense_approval"]
    assert "xml" not in listed[0]

    renamed = client.patch(url, {"name": "  Expense approval,   with boss  "}, format="json")
    assert (renamed.status_code, renamed.json()["name"]) == (200, "Expense approval, with boss")
    assert client.patch(url, {"name": " "}, format="json").status_code == 400
    assert client.patch(url, {"name": "x" * 201}, format="json").status_code == 400
    other = _client(eve)
    assert other.patch(url, {"name": "mine"}, format="json").status_code == 404
    assert other.get("/api/v1/processes/drafts/").json() == []
    assert other.delete(url).status_code == 204  # eve has none; dana's stays
    assert ProcessDraft.objects.get(key="expense_approval").name == "Expense approval, with boss"
    refused = _client(make_user("approver"))
    assert refused.patch(url, {"name": "x"}, format="json").status_code == 403
    assert refused.get("/api/v1/processes/drafts/").status_code == 403

    assert client.delete(url).status_code == 204
    assert list(ProcessDraft.objects.values_list("key", flat=True)) == ["order_c8"]


def test_the_list_page_renames_and_discards_only_your_own_drafts(client, make_user):
    dana, eve = make_user("designer", username="dana"), make_user("designer", username="eve")
    ProcessDraft.objects.create(key="p1", user=dana, xml=XML, name="Mine")
    ProcessDraft.objects.create(key="p1", user=eve, xml=XML, name="Eve's")
    client.force_login(dana)
    page = client.get("/designer/").content.decode()
    assert "Mine" in page and "Eve's" not in page
    client.post("/designer/p1/draft/rename/", {"name": "Renamed"})
    client.post("/designer/p1/draft/rename/", {"name": ""})  # refused with a message
    assert dict(ProcessDraft.objects.values_list("user__username", "name")) == {
        "dana": "Renamed",
        "eve": "Eve's",
    }
    assert client.get("/designer/p1/draft/discard/").status_code == 302  # POST only
    assert ProcessDraft.objects.count() == 2
    client.post("/designer/p1/draft/discard/")
    assert list(ProcessDraft.objects.values_list("user__username", flat=True)) == ["eve"]
