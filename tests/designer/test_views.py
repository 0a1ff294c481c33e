"""Designer pages: the process list (search, status, latest version, owner, last deployed, open
instances), the template gallery and a template's XML; designers and admins only."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.common.actors import Actor
from apps.engine import services as engine
from apps.processes import gallery
from apps.processes.demo import demo_decisions_ensure
from apps.processes.models import ProcessVersion
from apps.processes.services import version_deploy

pytestmark = pytest.mark.django_db


def _deploy(slug, user=None, comment=""):
    demo_decisions_ensure()  # the access request's policy gate
    return version_deploy(
        xml=gallery.template_get(slug=slug).xml(),
        actor=Actor.system("test"),
        user=user,
        comment=comment,
    ).version


def _rows(html: str) -> list[list[str]]:
    from lxml import html as lhtml

    doc = lhtml.fromstring(html)
    return [
        [" ".join(td.text_content().split()) for td in tr.findall("td")]
        for tr in doc.xpath("//table[contains(@class,'fg-process-table')]/tbody/tr")
    ]


@pytest.mark.parametrize("url", ["/designer/", "/designer/new/", "/designer/new/blank/"])
def test_pages_need_the_designer_or_admin_role(client, make_user, url):
    assert client.get(url).status_code == 302
    client.force_login(make_user("approver"))
    assert client.get(url).status_code == 403
    client.force_login(make_user("designer"))
    assert client.get(url).status_code == 200


def test_the_list_shows_status_latest_version_owner_last_deploy_and_open_instances(
    client, make_user
):
    designer = make_user("designer", username="dana")
    version = _deploy("expense_approval", user=designer)
    engine.instance_start(
        process_key="expense_approval",
        variables={"amount": 5000, "description": "laptop"},
        actor=Actor.system("test"),
    )
    _deploy("access_request")
    draft = (
        gallery.template_get(slug="server_provisioning")
        .xml()
        .replace('flowgate:connector="echo"', "")
    )
    version_deploy(xml=draft, actor=Actor.system("test"), user=designer)
    client.force_login(designer)

    html = client.get("/designer/").content.decode()
    stamp = version.created_at.strftime("%Y-%m-%d %H:%M")
    assert _rows(html)[1] == [
        "Expense approval expense_approval",
        "Deployed",
        "v1",
        "dana",
        stamp,
        "1",
    ]
    assert _rows(html)[0][1:4] == ["Deployed", "v1", "system"]
    # The file with a problem is no process version: it is dana's draft, listed as hers.
    assert len(_rows(html)) == 2
    assert 'href="/designer/server_provisioning/"' in html.split('fg-drafts"')[1]
    assert _rows(client.get("/designer/?status=draft").content.decode()) == []
    found = _rows(client.get("/designer/?q=amount-based").content.decode())
    assert found == []  # the summary is the gallery's, not the process's description
    found = _rows(client.get("/designer/?q=access").content.decode())
    assert [r[0] for r in found] == ["Access request access_request"]


def test_new_process_opens_the_gallery_with_blank_and_five_templates(client, make_user):
    client.force_login(make_user("designer"))
    html = client.get("/designer/new/").content.decode()
    assert 'href="/designer/new/blank/"' in html
    for slug in ["expense_approval", "access_request", "change_request"]:
        assert f'href="/designer/new/{slug}/"' in html
    assert html.count('aria-label="Use template ') == 5


def test_a_template_opens_in_the_editor_and_serves_its_xml(client, make_user):
    client.force_login(make_user("designer"))
    html = client.get("/designer/new/change_request/").content.decode()
    assert 'data-template-key="change_request"' in html
    assert 'data-xml-url="/designer/templates/change_request.bpmn"' in html
    xml = client.get("/designer/templates/change_request.bpmn")
    assert xml["Content-Type"] == "application/xml"
    assert xml.content.decode() == gallery.template_get(slug="change_request").xml()
    assert client.get("/designer/templates/nope.bpmn").status_code == 404
    assert client.get("/designer/new/nope/").status_code == 404


def test_version_pages_compare_and_rollback_views(client, make_user):
    v1 = _deploy("expense_approval", comment="first")
    xml2 = v1.xml.replace('flowgate:dueDate="P1D"', 'flowgate:dueDate="P2D"')
    version_deploy(xml=xml2, actor=Actor.system("test"), comment="two days")
    approver = make_user("approver")
    client.force_login(approver)
    for url in ["/designer/expense_approval/v1/", "/designer/expense_approval/compare/"]:
        assert client.get(url).status_code == 403
    assert client.post("/designer/expense_approval/v1/rollback/").status_code == 403
    client.force_login(make_user("designer"))

    page = client.get("/designer/expense_approval/v1/").content.decode()
    assert "read-only" in page and "first" in page
    assert "Roll back to version 1" in page
    assert (
        "Roll back to version" not in client.get("/designer/expense_approval/v2/").content.decode()
    )
    assert client.get("/designer/expense_approval/v9/").status_code == 404
    download = client.get("/designer/expense_approval/v1/xml/?download=1")
    assert download["Content-Disposition"] == 'attachment; filename="expense_approval-v1.bpmn"'
    assert download.content.decode() == v1.xml

    compare = client.get("/designer/expense_approval/compare/")
    assert compare.context["old"].number == 1 and compare.context["new"].number == 2
    assert [(c.id, c.changes) for c in compare.context["diff"].changed] == [
        (
            "manager_approval",
            [
                {
                    "property": "flowgate:dueDate",
                    "label": "Due date",
                    "before": "P1D",
                    "after": "P2D",
                }
            ],
        )
    ]
    same = client.get("/designer/expense_approval/compare/?from=2&to=2").content.decode()
    assert "The two versions do the same" in same
    assert client.get("/designer/expense_approval/compare/?from=1&to=7").status_code == 404
    assert client.get("/designer/nope/compare/").status_code == 404

    unconfirmed = client.post("/designer/expense_approval/v1/rollback/", {"comment": "back"})
    assert unconfirmed["Location"] == "/designer/expense_approval/v1/"
    assert ProcessVersion.objects.count() == 2
    response = client.post(
        "/designer/expense_approval/v1/rollback/", {"comment": "back", "confirm": "yes"}
    )
    assert response.status_code == 302 and response["Location"] == "/designer/expense_approval/"
    again = client.post("/designer/expense_approval/v3/rollback/", {"confirm": "yes"}, follow=True)
    assert "Version 3 is already the latest deployed version." in again.content.decode()
    assert list(ProcessVersion.objects.order_by("number").values_list("number", "comment")) == [
        (1, "first"),
        (2, "two days"),
        (3, "back"),
    ]


def test_an_uploaded_file_with_problems_is_not_deployed_and_says_why(client, make_user):
    """It used to be stored as draft version 1 (so the first good deploy was version 2)."""
    dana = make_user("designer", username="dana")
    client.force_login(dana)
    xml = (
        gallery.template_get(slug="server_provisioning")
        .xml()
        .replace('flowgate:connector="echo"', "", 1)
    )
    upload = SimpleUploadedFile("server.bpmn", xml.encode(), content_type="application/xml")
    response = client.post("/designer/upload/", {"file": upload}, follow=True)
    text = " ".join(m.message for m in response.context["messages"])
    assert text.startswith("Not deployed: 1 problem(s) to fix. Service task “")
    assert "does not say what it does: pick a connector" in text
    assert response.context["draft"].key == "server_provisioning"  # the editor opens the draft
    assert not ProcessVersion.objects.exists()


def test_page_links_of_the_process_list_keep_the_search_and_the_status(client, make_user):
    # given 26 deployed processes named "R&D <n>" (the expense template under new keys)
    xml = gallery.template_get(slug="expense_approval").xml()
    for n in range(26):
        renamed = xml.replace('id="expense_approval"', f'id="rd_{n}"').replace(
            'name="Expense approval"', f'name="R&amp;D {n}"'
        )
        assert version_deploy(xml=renamed, actor=Actor.system("test")).deployed
    client.force_login(make_user("designer"))
    # then page 2's link keeps the search, encoded, and the status filter (they were dropped)
    html = client.get("/designer/?q=R%26D&status=deployed").content.decode()
    assert 'href="?q=R%26D&amp;status=deployed&amp;page=2"' in html
    second = client.get("/designer/?q=R%26D&status=deployed&page=2").content.decode()
    assert len(_rows(second)) == 1
