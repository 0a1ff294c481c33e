from django.urls import path

from apps.inbox import info_views
from apps.inbox import request_views as views

app_name = "requests"
urlpatterns = [
    path("", views.my_requests, name="list"),
    path("new/", views.catalog, name="catalog"),
    path("new/<str:key>/", views.start, name="start"),
    path("<int:instance_id>/", views.detail, name="detail"),
    path("<int:instance_id>/cancel/", views.cancel, name="cancel"),
    path("<int:instance_id>/comment/", views.comment, name="comment"),
    path(
        "<int:instance_id>/tasks/<int:task_id>/answer/",
        info_views.request_answer,
        name="answer",
    ),
]
