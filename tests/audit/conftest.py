from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def anchor_file(tmp_path, settings):
    """Every audit test writes anchors to its own file."""
    settings.AUDIT_ANCHOR_PATH = str(tmp_path / "anchors.jsonl")
    return tmp_path / "anchors.jsonl"
