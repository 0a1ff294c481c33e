from django.urls import path

from apps.inbox import apis

urlpatterns = [
    path("tasks/", apis.TaskListApi.as_view(), name="api-tasks"),
    path("tasks/counts/", apis.TaskCountsApi.as_view(), name="api-task-counts"),
    path("tasks/events/", apis.TaskEventsApi.as_view(), name="api-task-events"),
    path("tasks/bulk-approve/", apis.BulkApproveApi.as_view(), name="api-task-bulk-approve"),
    path("tasks/<int:task_id>/", apis.TaskDetailApi.as_view(), name="api-task"),
    path("tasks/<int:task_id>/claim/", apis.TaskClaimApi.as_view(), name="api-task-claim"),
    path("tasks/<int:task_id>/unclaim/", apis.TaskUnclaimApi.as_view(), name="api-task-unclaim"),
    path("tasks/<int:task_id>/delegate/", apis.TaskDelegateApi.as_view(), name="api-task-delegate"),
    path("tasks/<int:task_id>/reassign/", apis.TaskReassignApi.as_view(), name="api-task-reassign"),
    path("tasks/<int:task_id>/complete/", apis.TaskCompleteApi.as_view(), name="api-task-complete"),
    path("tasks/<int:task_id>/comments/", apis.TaskCommentApi.as_view(), name="api-task-comments"),
    path(
        "tasks/<int:task_id>/attachments/",
        apis.TaskAttachmentApi.as_view(),
        name="api-task-attachments",
    ),
    path("requests/catalog/", apis.CatalogApi.as_view(), name="api-request-catalog"),
    path("requests/", apis.RequestListApi.as_view(), name="api-requests"),
    path("requests/<int:instance_id>/", apis.RequestDetailApi.as_view(), name="api-request"),
    path(
        "requests/<int:instance_id>/cancel/",
        apis.RequestCancelApi.as_view(),
        name="api-request-cancel",
    ),
    path(
        "requests/<int:instance_id>/comments/",
        apis.RequestCommentApi.as_view(),
        name="api-request-comments",
    ),
    path("substitutions/", apis.SubstitutionListApi.as_view(), name="api-substitutions"),
    path(
        "substitutions/<int:substitution_id>/end/",
        apis.SubstitutionEndApi.as_view(),
        name="api-substitution-end",
    ),
    path(
        "notification-settings/",
        apis.NotificationSettingsApi.as_view(),
        name="api-notification-settings",
    ),
]
