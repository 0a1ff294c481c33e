"""Websocket routes. Each app that has a consumer adds its route here."""

websocket_urlpatterns: list = []
