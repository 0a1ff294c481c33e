"""Inbox and request API (parity with the pages). Thin: parse, check access, call one service
or selector, answer. Errors are the shared JSON error bodies (apps.common.api_errors).

``tasks``: the task list, the live feed and what people do with a task; ``requests``: the
catalog and a requester's own requests; ``people``: out of office and e-mail preferences."""
