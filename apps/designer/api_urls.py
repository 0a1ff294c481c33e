from django.urls import path

from apps.designer import apis

urlpatterns = [
    path(
        "processes/<str:key>/test-runs/",
        apis.TestRunStartApi.as_view(),
        name="api-test-run-start",
    ),
    path("test-runs/<int:instance_id>/", apis.TestRunDetailApi.as_view(), name="api-test-run"),
    path(
        "test-runs/<int:instance_id>/tasks/<str:activity_id>/complete/",
        apis.TestRunTaskCompleteApi.as_view(),
        name="api-test-run-task-complete",
    ),
]
