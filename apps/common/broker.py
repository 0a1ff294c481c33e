"""The embedded (no Redis) Celery broker: kombu's filesystem transport with atomic writes.

kombu's own filesystem transport creates the message file and then writes it, so a consumer can
pick up an empty file and crash with a JSONDecodeError (seen here under `make run`). We write to a
temporary name the consumer ignores and rename it into place, which is atomic on one filesystem.
See docs/decisions/001-embedded-broker.md.

A full disk (found by the chaos suite, docs/reliability.md) left two more traps: a message whose
write failed left its temporary file behind, and an exchange table (``control/*.exchange``) that
could not be written stayed empty, after which every worker start died on a JSONDecodeError. We
remove the temporary file on failure, and read an empty or unreadable table as "no bindings"
(the consumers bind again when they start).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem, virtual
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads


def _table(raw: bytes | str) -> list:
    """An exchange table's bindings; an empty or half-written file has none."""
    try:
        rows = loads(bytes_to_str(raw)) if raw else []
    except ValueError:
        return []
    return [filesystem.exchange_queue_t(*row) for row in rows if len(row) == 3]


class Channel(filesystem.Channel):
    # kombu's filesystem Channel names the argument payload, its abstract base message; kombu
    # passes it by position, so either name works: the filesystem one is kept.
    def _put(self, queue, payload, **kwargs):  # type: ignore[override]
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        # Starts with a dot and has no queue suffix: _get() never matches it while it is written.
        temporary = os.path.join(self.data_folder_out, f".tmp-{uuid.uuid4().hex}")
        try:
            with open(temporary, "wb") as handle:
                handle.write(str_to_bytes(dumps(payload)))
            os.replace(temporary, os.path.join(self.data_folder_out, name))
        except OSError:
            with contextlib.suppress(OSError):
                os.remove(temporary)
            raise

    def get_table(self, exchange):
        file = self._exchange_file(exchange)
        try:
            with file.open("rb") as handle:
                filesystem.lock(handle, filesystem.LOCK_SH)
                try:
                    return _table(handle.read())
                finally:
                    filesystem.unlock(handle)
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise ChannelError(f"Cannot open {file}") from exc

    def _queue_bind(self, exchange, routing_key, pattern, queue):
        file = self._exchange_file(exchange)
        self.control_folder.mkdir(exist_ok=True)
        binding = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        try:
            with file.open("ab+", buffering=0) as handle:
                filesystem.lock(handle, filesystem.LOCK_EX)
                try:
                    handle.seek(0)
                    queues = _table(handle.read())
                    if binding not in queues:
                        queues.insert(0, binding)
                        handle.seek(0)
                        handle.truncate()
                        handle.write(str_to_bytes(dumps(queues)))
                finally:
                    filesystem.unlock(handle)
        except OSError as exc:
            raise ChannelError(f"Cannot open {file}") from exc

    def _delete(self, queue, exchange, routing_key, pattern, *args, **kwargs):
        virtual.Channel._delete(self, queue, exchange, routing_key, pattern, *args, **kwargs)
        file = self._exchange_file(exchange)
        binding = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        try:
            with file.open("rb+", buffering=0) as handle:
                filesystem.lock(handle, filesystem.LOCK_EX)
                try:
                    queues = _table(handle.read())
                    if binding in queues:
                        queues.remove(binding)
                        handle.seek(0)
                        handle.truncate()
                        handle.write(str_to_bytes(dumps(queues)))
                finally:
                    filesystem.unlock(handle)
        except FileNotFoundError:
            return


class Transport(filesystem.Transport):
    Channel = Channel
