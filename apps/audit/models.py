"""The audit trail: an append-only, hash-chained log of every state change.

Append-only tables (the database refuses UPDATE, DELETE and TRUNCATE on both, migrations
0002/0003):

- ``AuditEvent``: what happened. Inserted only by ``apps.audit.services.record`` in the caller's
  transaction. ``position`` is the insertion sequence number (numbers of rolled-back inserts are
  skipped). Object references are plain indexed integers, not foreign keys: an event must outlive
  whatever it describes.
- ``AuditLink``: the hash chain. Link ``seq`` (1, 2, 3 ... without gaps) covers one event with
  ``prev_hash`` = the hash of link ``seq - 1``. Links are appended right after the event's
  transaction commits, by one linker at a time holding ``AuditChainHead`` (see
  docs/decisions/ on why linking is not done inside the caller's transaction).
"""

from __future__ import annotations

from django.db import models

from apps.audit.chain import GENESIS_HASH


class AuditEvent(models.Model):
    position = models.BigAutoField(
        primary_key=True, help_text="Insertion sequence; rolled-back numbers are skipped"
    )
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
    # The W3C trace and span id of the request or engine step that wrote the event (decision
    # 039). NULL on events written before migration 0007 or outside any trace; hashed when set
    # (apps.audit.chain.TRACE_FIELDS). Nullable so that adding them rewrites no row (SQLite would
    # otherwise rebuild the append-only table, and its triggers with it).
    trace_id = models.CharField(max_length=32, null=True, blank=True, db_index=True)  # noqa: DJ001
    span_id = models.CharField(max_length=16, null=True, blank=True)  # noqa: DJ001
    # The writer MAC "<key id>.<nonce>.<HMAC-SHA256>" over the content (apps.audit.keys): proves
    # that record() wrote the row. NULL only on events chained before migration 0005 (up to
    # AuditMacStart.legacy_up_to_seq).
    mac = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001 (NULL = legacy)

    class Meta:
        ordering = ["position"]
        indexes = [models.Index(fields=["actor_kind", "actor_id"], name="audit_actor_idx")]
        constraints = [
            # A copied genuine row carries the same MAC: the database refuses it.
            models.UniqueConstraint(
                fields=["mac"], condition=models.Q(mac__isnull=False), name="audit_event_mac_unique"
            )
        ]

    def __str__(self) -> str:
        return f"#{self.position} {self.action} by {self.actor_label or self.actor_kind}"


class AuditLink(models.Model):
    """One link of the hash chain: event ``event_id`` sits at chain position ``seq``."""

    seq = models.BigIntegerField(primary_key=True, help_text="1, 2, 3 ... without gaps")
    # No database constraint: a deleted event must show up as a broken link, not block checks.
    event = models.OneToOneField(
        AuditEvent,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="link",
    )
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"link {self.seq} -> event {self.event_id}"


class AuditPending(models.Model):
    """Events committed but not chained yet: the linker's work queue (rows come and go).

    Filled by an AFTER INSERT trigger on the event table (migration 0004), emptied by the linker.
    """

    event_id = models.BigIntegerField(primary_key=True)

    def __str__(self) -> str:
        return f"event {self.event_id} waiting for its link"


class AuditChainHead(models.Model):
    """The single row (pk=1) holding the last chain position (``AuditLink.seq``) and hash.

    Linkers lock it with ``select_for_update`` so two can never both link to the same
    predecessor. It is the only audit row that may be updated.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    position = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS_HASH)

    def __str__(self) -> str:
        return f"head #{self.position} {self.hash[:12]}"


class AuditMacStart(models.Model):
    """The single row (pk=1) saying where writer MACs begin (append-only, migration 0005).

    Chain links up to ``legacy_up_to_seq`` cover events written before events carried a writer
    MAC; every later link must cover an event whose MAC verifies. Missing row: 0 (every event
    needs a MAC). The row cannot be changed (same triggers as the events), and links up to it
    all exist, so no event can be slipped in under the legacy rule.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    legacy_up_to_seq = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"writer MACs from link {self.legacy_up_to_seq + 1}"


class AuditCheckpoint(models.Model):
    """A signed statement about a prefix of the chain, written before archived events are removed.

    "Links 1 .. ``up_to_seq`` end in ``up_to_hash``; ``removed`` events of the instances
    ``instance_ids`` (archived by retention) are taken out of the event table now, and
    ``archived_total`` events in all, whose chain positions sum to ``archived_digest``"
    (``apps.audit.chain.archived_digest_add``). ``mac`` is ``<key id>.<HMAC-SHA256>`` under the
    audit writer key (``FLOWGATE_AUDIT_KEYS``), which the database does not hold: a checkpoint
    edited or made up by SQL does not verify. Append-only like the events (migration 0006).
    The links of removed events stay: they carry the chain on, and an archive's events are
    checked against them. Decision 038.
    """

    time = models.DateTimeField()
    up_to_seq = models.BigIntegerField()
    up_to_hash = models.CharField(max_length=64)
    removed = models.PositiveIntegerField()
    archived_total = models.BigIntegerField()
    archived_digest = models.CharField(max_length=64)
    instance_ids = models.JSONField(default=list)
    mac = models.CharField(max_length=80)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"checkpoint {self.pk}: links up to {self.up_to_seq}, {self.archived_total} archived"


class AuditRemovalPermit(models.Model):
    """Lets the event table's DELETE trigger take one archived instance's chained events, inside
    the transaction of ``audit_archived_remove`` only (it deletes its permits before returning).

    The trigger allows a DELETE when a permit names the event's instance and its checkpoint
    covers the event's link; everything else stays refused (``apps.audit.guard``).
    """

    instance_id = models.BigIntegerField(primary_key=True)
    checkpoint = models.ForeignKey(
        AuditCheckpoint, on_delete=models.DO_NOTHING, db_constraint=False
    )

    def __str__(self) -> str:
        return (
            f"removal of instance {self.instance_id}'s events under checkpoint {self.checkpoint_id}"
        )
