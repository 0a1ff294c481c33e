from django.urls import path

from apps.connectors import api

urlpatterns = [
    path("connectors/", api.ConnectorListApi.as_view(), name="connector-list"),
    path("secrets/", api.SecretListCreateApi.as_view(), name="secret-list"),
    path("secrets/<str:name>/", api.SecretDeleteApi.as_view(), name="secret-detail"),
    path("circuits/", api.CircuitListApi.as_view(), name="circuit-list"),
    path("circuits/close/", api.CircuitCloseApi.as_view(), name="circuit-close"),
]
