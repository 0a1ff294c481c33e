from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularSwaggerSplitView,
)

from apps.common import views as common_views
from apps.reports import views as report_views

urlpatterns = [
    path("", common_views.home, name="home"),
    path("healthz", common_views.healthz, name="healthz"),
    path("metrics", report_views.metrics, name="metrics"),
    path("accounts/", include("apps.accounts.urls")),
    path("designer/", include("apps.designer.urls")),
    path("inbox/", include("apps.inbox.urls")),
    path("requests/", include("apps.inbox.request_urls")),
    path("admin-reports/", include("apps.reports.urls")),
    path("admin-reports/audit/", include("apps.audit.urls")),
    path("admin-reports/calendars/", include("apps.calendars.urls")),
    path("admin-reports/retention/", include("apps.retention.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("portal.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI from drf-spectacular-sidecar (no CDN); the split view serves the init
    # script as its own request so the CSP needs no inline script (docs/security.md).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]

# JSON error bodies under /api/, HTML pages elsewhere (apps.common.api_errors).
handler400 = "apps.common.api_errors.bad_request"
handler403 = "apps.common.api_errors.permission_denied"
handler404 = "apps.common.api_errors.page_not_found"
handler500 = "apps.common.api_errors.server_error"
