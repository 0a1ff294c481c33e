from django.urls import path

from apps.inbox import info_views, views

app_name = "inbox"
urlpatterns = [
    path("", views.inbox, name="list"),
    path("counts/", views.inbox_counts, name="counts"),
    path("bulk-approve/", views.bulk_approve, name="bulk_approve"),
    path("settings/", views.inbox_settings, name="settings"),
    path("tasks/<int:task_id>/", views.task_detail, name="task"),
    path("tasks/<int:task_id>/claim/", views.task_claim, name="claim"),
    path("tasks/<int:task_id>/unclaim/", views.task_unclaim, name="unclaim"),
    path("tasks/<int:task_id>/delegate/", views.task_delegate, name="delegate"),
    path("tasks/<int:task_id>/reassign/", views.task_reassign, name="reassign"),
    path("tasks/<int:task_id>/decide/", views.task_decide, name="decide"),
    path("tasks/<int:task_id>/request-info/", info_views.task_request_info, name="request_info"),
    path("tasks/<int:task_id>/comment/", views.task_comment, name="comment"),
    path("tasks/<int:task_id>/attach/", views.task_attach, name="attach"),
    path(
        "requests/<int:instance_id>/files/<int:attachment_id>/",
        views.attachment_download,
        name="attachment",
    ),
    path("instances/", views.instance_list, name="instances"),
    path("instances/<int:instance_id>/", views.instance_detail, name="instance"),
    path("instances/<int:instance_id>/<str:operation>/", views.instance_operate, name="operate"),
]
