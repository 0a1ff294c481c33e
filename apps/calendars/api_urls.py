from django.urls import path

from apps.calendars import apis

urlpatterns = [
    path("calendars/", apis.CalendarListApi.as_view(), name="api-calendars"),
    path("calendar-preview/", apis.CalendarPreviewApi.as_view(), name="api-calendar-preview"),
    path("calendars/<slug:slug>/", apis.CalendarDetailApi.as_view(), name="api-calendar"),
]
