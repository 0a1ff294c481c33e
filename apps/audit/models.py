"""The audit trail: an append-only, hash-chained log of every state change.

Rows are written only by ``apps.audit.services.record``. The database itself refuses UPDATE,
DELETE and TRUNCATE on ``audit_auditevent`` (see migration 0002). Object references are plain
indexed integers, not foreign keys: an event must outlive whatever it describes.
"""

from __future__ import annotations

from django.db import models

from apps.audit.chain import GENESIS_HASH


class AuditEvent(models.Model):
    position = models.BigIntegerField(primary_key=True, help_text="1, 2, 3 ... without gaps")
    time = models.DateTimeField(db_index=True)
    actor_kind = models.CharField(max_length=16)
    actor_id = models.CharField(max_length=64, blank=True)
    actor_label = models.CharField(max_length=255, blank=True)
    on_behalf_of = models.CharField(max_length=255, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    process_key = models.CharField(max_length=255, blank=True, db_index=True)
    version_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    instance_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    task_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    job_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    # Text, not inet: PostgreSQL would re-spell addresses and break the hash.
    client_address = models.CharField(max_length=45, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["position"]
        indexes = [models.Index(fields=["actor_kind", "actor_id"], name="audit_actor_idx")]

    def __str__(self) -> str:
        return f"#{self.position} {self.action} by {self.actor_label or self.actor_kind}"


class AuditChainHead(models.Model):
    """The single row (pk=1) holding the last position and hash.

    Appends lock it with ``select_for_update`` so two writers can never both link to the same
    predecessor. It is the only audit row that may be updated.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    position = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS_HASH)

    def __str__(self) -> str:
        return f"head #{self.position} {self.hash[:12]}"
