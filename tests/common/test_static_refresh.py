"""Outside production the portal serves the bundle as it is now: a rebuild (`npm run build`) while
the embedded portal runs must not leave it answering with the sizes it saw at start-up."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.test import Client


def test_a_static_file_rebuilt_while_the_portal_runs_is_served_whole():
    name = f"refresh-probe-{uuid.uuid4().hex}.js"
    path = settings.BASE_DIR / "static" / "dist" / name
    client = Client()
    try:
        path.write_text("const a = 1;\n")
        first = client.get(f"/static/{name}")
        assert (first.status_code, b"".join(first.streaming_content)) == (200, b"const a = 1;\n")
        path.write_text("const a = 1;\nconst rebuilt = 'a longer bundle';\n")
        second = client.get(f"/static/{name}")
        body = b"".join(second.streaming_content)
        assert (second.status_code, body, second["Content-Length"]) == (
            200,
            b"const a = 1;\nconst rebuilt = 'a longer bundle';\n",
            str(len(body)),
        )
    finally:
        path.unlink(missing_ok=True)
