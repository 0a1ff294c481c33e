from django.urls import path

from apps.inbox import apis

urlpatterns = [
    path("tasks/", apis.TaskListApi.as_view(), name="api-tasks"),
    path("tasks/<int:task_id>/", apis.TaskDetailApi.as_view(), name="api-task"),
    path("tasks/<int:task_id>/claim/", apis.TaskClaimApi.as_view(), name="api-task-claim"),
    path("tasks/<int:task_id>/unclaim/", apis.TaskUnclaimApi.as_view(), name="api-task-unclaim"),
    path("tasks/<int:task_id>/delegate/", apis.TaskDelegateApi.as_view(), name="api-task-delegate"),
    path("tasks/<int:task_id>/complete/", apis.TaskCompleteApi.as_view(), name="api-task-complete"),
]
