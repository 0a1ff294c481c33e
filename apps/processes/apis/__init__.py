"""Process definitions and versions API: list, deploy (upload), validate, download XML.

``definitions``: list, deploy, validate, import and drafts; ``versions``: list, detail, XML,
compare and rollback; ``webhooks``: a process's webhooks; ``viewers``: read-only sharing;
``common``: the version output and the designer check they share."""
