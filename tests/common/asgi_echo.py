"""A tiny ASGI app that answers with the client address uvicorn gave it (tests/common/test_proxies)."""

from __future__ import annotations


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    host = (scope.get("client") or ("", 0))[0]
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": host.encode()})
