from django.urls import path

from apps.retention import views

app_name = "retention"
urlpatterns = [
    path("", views.retention_page, name="page"),
    path("policies/", views.policy_save, name="policy"),
    path("default/", views.default_save, name="default"),
    path("holds/", views.hold_set, name="hold"),
    path("holds/release/", views.hold_release, name="release"),
    path("archives/check/", views.archive_check_view, name="check"),
]
