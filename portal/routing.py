"""Websocket routes. Each app that has a consumer adds its route here."""

from django.urls import path

from apps.inbox.live import InboxConsumer

websocket_urlpatterns: list = [
    path("ws/inbox/", InboxConsumer.as_asgi()),
]
