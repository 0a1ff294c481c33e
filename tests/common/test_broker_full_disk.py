"""The embedded broker after a full disk: no temporary file left, an empty exchange table read as
no bindings (it used to crash every worker start with a JSONDecodeError)."""

from __future__ import annotations

import errno
import json

import pytest
from kombu import Connection


@pytest.fixture
def channel(tmp_path):
    for sub in ("out", "processed", "control"):
        (tmp_path / sub).mkdir()
    connection = Connection(
        "flowgate-fs://",
        transport_options={
            "data_folder_in": str(tmp_path / "out"),
            "data_folder_out": str(tmp_path / "out"),
            "processed_folder": str(tmp_path / "processed"),
            "control_folder": str(tmp_path / "control"),
            "store_processed": False,
        },
    )
    import portal.celery  # noqa: F401 - registers the flowgate-fs alias

    chan = connection.channel()
    yield chan
    connection.release()


def test_an_empty_exchange_table_has_no_bindings_and_is_rebuilt(channel, tmp_path):
    table = tmp_path / "control" / "celery.pidbox.exchange"
    table.write_bytes(b"")
    assert channel.get_table("celery.pidbox") == []
    channel._queue_bind("celery.pidbox", "", "", "worker1.pidbox")
    assert json.loads(table.read_text()) == [["", "", "worker1.pidbox"]]
    assert [q.queue for q in channel.get_table("celery.pidbox")] == ["worker1.pidbox"]


def test_a_half_written_exchange_table_has_no_bindings(channel, tmp_path):
    (tmp_path / "control" / "celery.pidbox.exchange").write_bytes(b'[["", "", "wor')
    assert channel.get_table("celery.pidbox") == []


def test_a_failed_message_write_leaves_no_temporary_file(channel, tmp_path, monkeypatch):
    import builtins

    real_open = builtins.open

    class FullDisk:
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    def fake_open(path, mode="r", *args, **kwargs):
        handle = real_open(path, mode, *args, **kwargs)
        return (
            FullDisk(handle)
            if str(path).endswith(tuple("0123456789abcdef")) and "w" in mode
            else handle
        )

    monkeypatch.setattr(builtins, "open", fake_open)
    with pytest.raises(OSError, match="No space left"):
        channel._put("celery", {"body": "x"})
    monkeypatch.undo()
    assert list((tmp_path / "out").iterdir()) == []
