"""The inline style attribute values in the built bundles (static/dist/*.js) and their CSP hashes.

``python -m tests.security.csp_hashes`` prints them; settings.STYLE_ATTRIBUTE_HASHES must hold each
one (tests/security/test_headers.py checks it).
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

DIST = Path(__file__).resolve().parents[2] / "static" / "dist"
_STYLE_ATTRIBUTE = re.compile(r"""style=\\?["']([^"'\\]*)\\?["']""")


def csp_hash(value: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(value.encode()).digest()).decode() + "'"


def bundle_style_attributes() -> dict[str, str]:
    """{CSP hash: attribute value} for every literal style="..." in the built JavaScript bundles."""
    found: dict[str, str] = {}
    for bundle in sorted(DIST.glob("*.js")):
        for match in _STYLE_ATTRIBUTE.finditer(bundle.read_text(encoding="utf-8")):
            found[csp_hash(match.group(1))] = match.group(1)
    return found


if __name__ == "__main__":
    for digest, value in bundle_style_attributes().items():
        print(f'    "{digest}",  # {value}')
