from django.urls import path

from apps.designer import decision_views, views

app_name = "designer"
urlpatterns = [
    path("", views.process_list, name="list"),
    path("upload/", views.process_upload, name="upload"),
    path("new/", views.template_gallery, name="new"),
    path("new/blank/", views.process_edit, name="new-blank"),
    path("new/<slug:slug>/", views.process_from_template, name="new-from-template"),
    path("templates/<slug:slug>.bpmn", views.template_xml, name="template-xml"),
    path("decisions/", decision_views.decision_list, name="decisions"),
    path("decisions/new/", decision_views.decision_new, name="decision-new"),
    path("decisions/<str:key>/edit/", decision_views.decision_edit, name="decision-edit"),
    path("decisions/<str:key>/", decision_views.decision_detail, name="decision"),
    path(
        "decisions/<str:key>/v<int:number>/",
        decision_views.decision_detail,
        name="decision-version",
    ),
    path("<str:key>/", views.process_edit, name="edit"),
    path("<str:key>/xml/", views.process_xml, name="xml"),
    path("<str:key>/draft.bpmn", views.draft_xml, name="draft-xml"),
    path("<str:key>/draft/rename/", views.draft_rename, name="draft-rename"),
    path("<str:key>/draft/discard/", views.draft_discard, name="draft-discard"),
    path("<str:key>/viewers/", views.process_share, name="share"),
    path("<str:key>/viewers/revoke/", views.process_unshare, name="unshare"),
    path("<str:key>/compare/", views.version_compare, name="compare"),
    path("<str:key>/v<int:number>/", views.version_view, name="version"),
    path("<str:key>/v<int:number>/xml/", views.version_xml, name="version-xml"),
    path("<str:key>/v<int:number>/rollback/", views.version_rollback, name="rollback"),
]
