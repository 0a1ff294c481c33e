from django.urls import path

from apps.inbox.apis import info, people, requests, tasks

urlpatterns = [
    path("tasks/", tasks.TaskListApi.as_view(), name="api-tasks"),
    path("tasks/counts/", tasks.TaskCountsApi.as_view(), name="api-task-counts"),
    path("tasks/events/", tasks.TaskEventsApi.as_view(), name="api-task-events"),
    path("tasks/bulk-approve/", tasks.BulkApproveApi.as_view(), name="api-task-bulk-approve"),
    path("tasks/<int:task_id>/", tasks.TaskDetailApi.as_view(), name="api-task"),
    path("tasks/<int:task_id>/claim/", tasks.TaskClaimApi.as_view(), name="api-task-claim"),
    path("tasks/<int:task_id>/unclaim/", tasks.TaskUnclaimApi.as_view(), name="api-task-unclaim"),
    path(
        "tasks/<int:task_id>/delegate/", tasks.TaskDelegateApi.as_view(), name="api-task-delegate"
    ),
    path(
        "tasks/<int:task_id>/eligible-people/",
        tasks.TaskEligiblePeopleApi.as_view(),
        name="api-task-eligible-people",
    ),
    path(
        "tasks/<int:task_id>/reassign/", tasks.TaskReassignApi.as_view(), name="api-task-reassign"
    ),
    path(
        "tasks/<int:task_id>/complete/", tasks.TaskCompleteApi.as_view(), name="api-task-complete"
    ),
    path(
        "tasks/<int:task_id>/request-info/",
        info.TaskInfoRequestApi.as_view(),
        name="api-task-request-info",
    ),
    path(
        "tasks/<int:task_id>/provide-info/",
        info.TaskInfoProvideApi.as_view(),
        name="api-task-provide-info",
    ),
    path("tasks/<int:task_id>/comments/", tasks.TaskCommentApi.as_view(), name="api-task-comments"),
    path(
        "tasks/<int:task_id>/attachments/",
        tasks.TaskAttachmentApi.as_view(),
        name="api-task-attachments",
    ),
    path("requests/catalog/", requests.CatalogApi.as_view(), name="api-request-catalog"),
    path("requests/", requests.RequestListApi.as_view(), name="api-requests"),
    path("requests/<int:instance_id>/", requests.RequestDetailApi.as_view(), name="api-request"),
    path(
        "requests/<int:instance_id>/cancel/",
        requests.RequestCancelApi.as_view(),
        name="api-request-cancel",
    ),
    path(
        "requests/<int:instance_id>/comments/",
        requests.RequestCommentApi.as_view(),
        name="api-request-comments",
    ),
    path("substitutions/", people.SubstitutionListApi.as_view(), name="api-substitutions"),
    path(
        "substitutions/<int:substitution_id>/end/",
        people.SubstitutionEndApi.as_view(),
        name="api-substitution-end",
    ),
    path(
        "notification-settings/",
        people.NotificationSettingsApi.as_view(),
        name="api-notification-settings",
    ),
]
