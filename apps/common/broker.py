"""The embedded (no Redis) Celery broker: kombu's filesystem transport with atomic writes.

kombu's own filesystem transport creates the message file and then writes it, so a consumer can
pick up an empty file and crash with a JSONDecodeError (seen here under `make run`). We write to a
temporary name the consumer ignores and rename it into place, which is atomic on one filesystem.
See docs/decisions/001-embedded-broker.md.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic

from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        # Starts with a dot and has no queue suffix: _get() never matches it while it is written.
        temporary = os.path.join(self.data_folder_out, f".tmp-{uuid.uuid4().hex}")
        with open(temporary, "wb") as handle:
            handle.write(str_to_bytes(dumps(payload)))
        os.replace(temporary, os.path.join(self.data_folder_out, name))


class Transport(filesystem.Transport):
    Channel = Channel
