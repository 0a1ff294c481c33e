"""Designer pages read their query strings and posts through forms: a bad value is a clear 400
or is ignored as the list's own links would never send it, never a 500."""

from __future__ import annotations

import pytest

from apps.common.actors import Actor
from apps.processes import gallery
from apps.processes.models import ProcessVersion
from apps.processes.services import version_deploy

pytestmark = pytest.mark.django_db


@pytest.fixture
def designer_client(client, make_user):
    xml = gallery.template_get(slug="expense_approval").xml()
    version_deploy(xml=xml, actor=Actor.system("test"), comment="")
    version_deploy(
        xml=xml.replace('flowgate:dueDate="P1D"', 'flowgate:dueDate="P2D"'),
        actor=Actor.system("test"),
        comment="",
    )
    client.force_login(make_user("designer"))
    return client


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("to=abc", "to is a version number"),
        ("from=2x", "from is a version number"),
        ("to=0", "greater than or equal to 1"),
        ("from=-3", "greater than or equal to 1"),
    ],
)
def test_a_bad_version_number_to_compare_is_a_400_that_says_which(designer_client, query, message):
    answer = designer_client.get(f"/designer/expense_approval/compare/?{query}")
    assert answer.status_code == 400
    assert message in answer.content.decode()


def test_the_compare_defaults_and_numbers_still_work(designer_client):
    default = designer_client.get("/designer/expense_approval/compare/")
    assert (default.context["old"].number, default.context["new"].number) == (1, 2)
    chosen = designer_client.get("/designer/expense_approval/compare/?from=2&to=1")
    assert (chosen.context["old"].number, chosen.context["new"].number) == (2, 1)


@pytest.mark.parametrize("query", ["status=nonsense", "q=" + "x" * 5000, "status=&q=%00"])
def test_unknown_list_filters_show_the_list(designer_client, query):
    answer = designer_client.get(f"/designer/?{query}")
    assert answer.status_code == 200
    assert answer.context["status"] == ""
    assert len(answer.context["search"]) <= 200


def test_a_rollback_without_confirm_yes_changes_nothing(designer_client):
    before = ProcessVersion.objects.count()
    for confirm in ("", "no", "YES "):
        answer = designer_client.post(
            "/designer/expense_approval/v1/rollback/", {"confirm": confirm, "comment": "x"}
        )
        assert answer.status_code == 302 and answer["Location"] == "/designer/expense_approval/v1/"
    assert ProcessVersion.objects.count() == before


def test_sharing_with_nobody_or_a_too_long_name_is_refused_with_a_message(designer_client):
    for posted in ({}, {"user": "u" * 5000}, {"role": "r" * 5000}):
        answer = designer_client.post("/designer/expense_approval/viewers/", posted, follow=True)
        assert answer.status_code == 200
        assert [m.level_tag for m in answer.context["messages"]] == ["error"]


def test_the_version_file_is_an_attachment_only_when_asked(designer_client):
    plain = designer_client.get("/designer/expense_approval/v1/xml/")
    download = designer_client.get("/designer/expense_approval/v1/xml/?download=1")
    assert "Content-Disposition" not in plain
    assert download["Content-Disposition"] == 'attachment; filename="expense_approval-v1.bpmn"'


@pytest.mark.parametrize("page", ["abc", "-1", "0", "1.5", "99999", ""])
def test_any_page_number_shows_a_page_of_the_list(designer_client, page):
    answer = designer_client.get(f"/designer/?page={page}")
    assert answer.status_code == 200
    assert answer.context["page"].number == 1  # one page of processes: the first is the last
