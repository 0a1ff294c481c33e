from __future__ import annotations

from django.conf import settings
from django.db import models

from apps.common.models import TimeStampedModel
from apps.common.transitions import Transitions


class ProcessDefinition(TimeStampedModel):
    """A process, identified by its BPMN process id (``key``). Has immutable versions."""

    key = models.CharField(max_length=200, unique=True)
    name = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.name or self.key


class VersionStatus(models.TextChoices):
    DRAFT = "draft", "Draft (has problems)"
    DEPLOYED = "deployed", "Deployed"


# A version is immutable: created as a draft (with problems) or deployed, it stays so.
VERSION_TRANSITIONS = Transitions(
    "Version", {VersionStatus.DRAFT: set(), VersionStatus.DEPLOYED: set()}
)


class ProcessVersion(models.Model):
    """One immutable upload of a definition. Deployed versions carry the compiled spec."""

    definition = models.ForeignKey(
        ProcessDefinition, on_delete=models.PROTECT, related_name="versions"
    )
    number = models.PositiveIntegerField(
        help_text="1, 2, 3 ... per definition, deployed and drafts alike"
    )
    status = models.CharField(max_length=12, choices=VersionStatus.choices)
    name = models.CharField(max_length=200, blank=True)
    xml = models.TextField()
    checksum = models.CharField(max_length=64, db_index=True)
    spec_json = models.TextField(
        blank=True, help_text="Compiled engine spec, stored once per version"
    )
    problems = models.JSONField(default=list, blank=True)
    metadata = models.JSONField(
        default=dict, blank=True, help_text="timer/message starts, connectors"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    comment = models.CharField(
        max_length=500, blank=True, help_text="Why this version was deployed (shown in its history)"
    )
    rollback_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The earlier version this one redeploys (a rollback)",
    )

    class Meta:
        ordering = ["definition_id", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["definition", "number"], name="uniq_version_number"),
        ]

    def __str__(self) -> str:
        return f"{self.definition.key} v{self.number} ({self.status})"

    @property
    def is_deployed(self) -> bool:
        return self.status == VersionStatus.DEPLOYED


class WebhookTrigger(TimeStampedModel):
    """Starts (or continues) instances from signed HTTP deliveries, through a message event.

    The HMAC secret is a connector Secret named ``webhook-<id>`` (encrypted at rest, rotatable).
    """

    definition = models.ForeignKey(
        ProcessDefinition, on_delete=models.CASCADE, related_name="webhooks"
    )
    message_name = models.CharField(max_length=200)
    name = models.CharField(max_length=200, blank=True)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"webhook {self.pk} -> {self.definition.key}:{self.message_name}"

    @property
    def secret_name(self) -> str:
        return f"webhook-{self.pk}"


class WebhookDelivery(models.Model):
    """One accepted delivery; a repeated delivery id replays this result and starts nothing."""

    trigger = models.ForeignKey(WebhookTrigger, on_delete=models.CASCADE, related_name="deliveries")
    delivery_id = models.CharField(max_length=100)
    received_at = models.DateTimeField(auto_now_add=True)
    instance_ids = models.JSONField(default=list)
    # SHA-256 of the body: a delivery id sent again with another body is refused (422).
    body_sha256 = models.CharField(max_length=64, blank=True, default="")
    # SHA-256 of the signed content (timestamp, [delivery id,] body): the same signed delivery
    # sent again under a new delivery id is a replay and is refused (409).
    signed_sha256 = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["trigger", "delivery_id"], name="uniq_webhook_delivery"
            ),
            models.UniqueConstraint(
                fields=["trigger", "signed_sha256"],
                condition=~models.Q(signed_sha256=""),
                name="uniq_webhook_signed_content",
            ),
        ]

    def __str__(self) -> str:
        return f"delivery {self.delivery_id} of webhook {self.trigger_id}"


class ProcessDraft(models.Model):
    """A designer's unsaved work on a process (autosave), one per process key and user. Not a
    version: it is replaced on every save and removed when that user deploys the process."""

    key = models.CharField(max_length=200)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="process_drafts"
    )
    xml = models.TextField()
    name = models.CharField(
        max_length=200,
        blank=True,
        help_text="What the person calls this draft (default: the process or file name and the "
        "time it was started); renamed in the designer's list",
    )
    created_at = models.DateTimeField(null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "user"], name="uniq_process_draft"),
        ]

    def __str__(self) -> str:
        return self.name or f"draft of {self.key} by {self.user_id}"


class DmnDeployment(models.Model):
    """One deployed DMN file (immutable). Each decision in it becomes a DecisionVersion."""

    definitions_key = models.CharField(max_length=200, help_text="The DMN <definitions> id")
    name = models.CharField(max_length=200, blank=True)
    xml = models.TextField()
    checksum = models.CharField(max_length=64, db_index=True)
    summary = models.JSONField(default=dict, blank=True, help_text="Decisions, requirements")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    comment = models.CharField(max_length=500, blank=True)

    def __str__(self) -> str:
        return f"DMN {self.definitions_key} ({self.pk})"


class DecisionVersion(models.Model):
    """Version ``number`` of decision ``key`` (the DMN decision id), 1, 2, 3 ... per key. A
    deployment that changes a file gives every decision in it a new version."""

    key = models.CharField(max_length=200)
    number = models.PositiveIntegerField()
    name = models.CharField(max_length=200, blank=True)
    deployment = models.ForeignKey(
        DmnDeployment, on_delete=models.PROTECT, related_name="decisions"
    )
    kind = models.CharField(max_length=12, help_text="table or literal")
    hit_policy = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["key", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["key", "number"], name="uniq_decision_version"),
        ]

    def __str__(self) -> str:
        return f"decision {self.key} v{self.number}"
