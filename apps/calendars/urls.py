from django.urls import path

from apps.calendars import views

app_name = "calendars"
urlpatterns = [
    path("", views.calendar_list, name="list"),
    path("new/", views.calendar_edit, name="new"),
    path("<slug:slug>/", views.calendar_edit, name="edit"),
]
