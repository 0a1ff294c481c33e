"""/api/v1/: each app contributes its own api_urls module."""

from django.urls import include, path

from apps.common.api_root import ApiRootApi

urlpatterns = [
    path("", ApiRootApi.as_view(), name="api-root"),
    path("", include("apps.accounts.api_urls")),
    path("", include("apps.processes.api_urls")),
    path("", include("apps.engine.api_urls")),
    path("", include("apps.inbox.api_urls")),
    path("", include("apps.connectors.api_urls")),
    path("", include("apps.audit.api_urls")),
    path("", include("apps.reports.api_urls")),
    path("", include("apps.designer.api_urls")),
    path("", include("apps.calendars.api_urls")),
    path("", include("apps.retention.api_urls")),
]
