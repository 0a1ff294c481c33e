"""The inbox pages' forms: defaults for what is absent, text kept as one value."""

from __future__ import annotations

from django.http import QueryDict

from apps.inbox.forms import BulkApproveForm, DecisionForm, InboxListForm, SearchForm


def test_inbox_list_filters_default_and_keep_a_search_with_an_ampersand():
    assert InboxListForm(QueryDict("")).filters() == ("all", "newest", "")
    query = QueryDict("view=mine&sort=due&q=+R%26D+%23160+")
    assert InboxListForm(query).filters() == ("mine", "due", "R&D #160")


def test_a_search_is_cut_to_100_characters_and_status_defaults_to_all():
    form = SearchForm(QueryDict("q=" + "x" * 150))
    assert (len(form.search()), form.status_filter()) == (100, "")


def test_bulk_approve_keeps_ids_once_in_order_and_drops_the_rest():
    form = BulkApproveForm(QueryDict("task=7&task=x&task=3&task=7&task=-1"))
    assert (form.task_ids(), form.confirmed()) == ([7, 3], False)
    assert BulkApproveForm(QueryDict("task=1&confirm=yes")).confirmed() is True


def test_a_decision_comment_is_cut_to_4000_characters_unstripped():
    form = DecisionForm(QueryDict("decision=approve&comment=" + " a" * 2500))
    assert form.is_valid()
    assert (form.cleaned_data["decision"], len(form.comment_text())) == ("approve", 4000)
