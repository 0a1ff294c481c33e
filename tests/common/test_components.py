"""The shared template components in templates/components/ (rendered without a browser)."""

from __future__ import annotations

import re

from django import forms
from django.core.paginator import Paginator
from django.template.loader import render_to_string


def squash(html: str) -> str:
    return " ".join(html.split())


def test_pagination_renders_an_accessible_nav_with_the_current_page_marked():
    page = Paginator(list(range(200)), 10).page(10)

    html = squash(
        render_to_string(
            "components/pagination.html", {"page": page, "label": "Tasks pages", "query": "q=x&"}
        )
    )

    assert '<nav aria-label="Tasks pages" class="mt-3">' in html
    assert 'href="?q=x&amp;page=9" rel="prev"' in html
    assert 'href="?q=x&amp;page=11" rel="next"' in html
    assert (
        '<a class="page-link" href="?q=x&amp;page=10" aria-current="page">'
        '<span class="visually-hidden">Page </span>10</a>'
    ) in html
    assert html.count('aria-hidden="true">…</span>') == 2  # 1 … 8 9 10 11 12 … 20
    pages = [int(n) for n in re.findall(r'<span class="visually-hidden">Page </span>(\d+)', html)]
    assert pages == [1, 8, 9, 10, 11, 12, 20]
    assert "Page 10 of 20" in html


def test_pagination_disables_previous_on_the_first_page_and_hides_for_one_page():
    first = squash(
        render_to_string("components/pagination.html", {"page": Paginator([1] * 30, 10).page(1)})
    )
    single = render_to_string("components/pagination.html", {"page": Paginator([1, 2], 10).page(1)})

    assert (
        '<li class="page-item disabled"><span class="page-link">Previous'
        '<span class="visually-hidden"> page</span></span></li>'
    ) in first
    assert 'href="?page=2" rel="next"' in first
    assert single.strip() == ""


def test_empty_state_shows_title_message_and_optional_action():
    html = squash(
        render_to_string(
            "components/empty_state.html",
            {
                "title": "No tasks waiting",
                "message": "New tasks for your roles appear here.",
                "action_url": "/designer/new/",
                "action_label": "Start a process",
            },
        )
    )
    bare = squash(render_to_string("components/empty_state.html", {"title": "Nothing here"}))

    assert '<h2 class="h5 mb-2">No tasks waiting</h2>' in html
    assert '<p class="mb-0">New tasks for your roles appear here.</p>' in html
    assert '<a class="btn btn-primary" href="/designer/new/">Start a process</a>' in html
    assert "<a " not in bare and "<p" not in bare


class _ExampleForm(forms.Form):
    title = forms.CharField(help_text="Shown in the inbox.")
    urgent = forms.BooleanField(required=False)


def test_form_field_links_help_and_errors_to_the_widget():
    form = _ExampleForm(data={"title": ""})
    assert not form.is_valid()

    html = squash(render_to_string("components/form_field.html", {"field": form["title"]}))

    assert (
        '<label class="form-label" for="id_title">Title'
        '<span class="text-danger" aria-hidden="true"> *</span></label>'
    ) in html
    assert 'aria-describedby="id_title_helptext id_title_error"' in html
    assert 'aria-invalid="true"' in html
    assert '<div class="form-text" id="id_title_helptext">Shown in the inbox.</div>' in html
    assert (
        '<div class="invalid-feedback d-block" id="id_title_error">'
        '<span class="d-block">This field is required.</span></div>'
    ) in html


def test_form_field_renders_a_checkbox_with_its_label_after_it():
    html = squash(
        render_to_string("components/form_field.html", {"field": _ExampleForm()["urgent"]})
    )

    assert 'class="fg-field mb-3 form-check"' in html
    assert html.index('type="checkbox"') < html.index(
        '<label class="form-check-label" for="id_urgent">Urgent</label>'
    )


def test_task_form_embeds_schema_and_data_safely():
    html = render_to_string(
        "components/task_form.html",
        {
            "schema": {"components": [{"type": "text", "text": "</script><b>x</b>"}]},
            "data": {"amount": 5},
            "submit_url": "/api/v1/tasks/3/complete/",
            "success_url": "/inbox/",
        },
    )

    assert '<script id="form-schema" type="application/json">' in html
    assert "\\u003C/script\\u003E" in html and "</script><b>" not in html
    assert '<script id="form-data" type="application/json">{"amount": 5}</script>' in html
    assert 'data-submit-url="/api/v1/tasks/3/complete/"' in html
    assert 'data-success-url="/inbox/"' in html
    assert "data-submit-field" not in html


def test_designer_component_carries_the_data_attribute_contract():
    html = squash(
        render_to_string(
            "components/designer.html",
            {
                "xml_url": "/designer/p/xml",
                "validate_url": "/api/v1/validate",
                "deploy_url": "/api/v1/deploy",
                "process_key": "expense",
                "process_name": 'Expense "claims"',
            },
        )
    )

    assert 'id="designer-canvas"' in html
    assert 'data-xml-url="/designer/p/xml"' in html
    assert 'data-validate-url="/api/v1/validate"' in html
    assert 'data-deploy-url="/api/v1/deploy"' in html
    assert 'data-process-name="Expense &quot;claims&quot;"' in html
    assert 'data-form-editor-js="/static/form-editor.js"' in html
    assert '<div id="designer-problems" role="status" aria-live="polite"></div>' in html
