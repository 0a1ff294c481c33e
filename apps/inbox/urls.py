from django.urls import path

from apps.inbox import views

app_name = "inbox"
urlpatterns = [
    path("", views.inbox, name="list"),
    path("tasks/<int:task_id>/", views.task_detail, name="task"),
    path("tasks/<int:task_id>/claim/", views.task_claim, name="claim"),
    path("tasks/<int:task_id>/unclaim/", views.task_unclaim, name="unclaim"),
    path("tasks/<int:task_id>/delegate/", views.task_delegate, name="delegate"),
    path("tasks/<int:task_id>/decide/", views.task_decide, name="decide"),
    path("instances/", views.instance_list, name="instances"),
    path("instances/<int:instance_id>/", views.instance_detail, name="instance"),
    path("instances/<int:instance_id>/<str:operation>/", views.instance_operate, name="operate"),
]
