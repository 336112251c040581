"""Reads of the audit log."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from hanoismart.audit.models import AuditEvent


def audit_events_about(*, subject_ref: uuid.UUID) -> QuerySet[AuditEvent]:
    """Everything recorded about one person's data, newest first ("who accessed my data")."""
    return AuditEvent.objects.filter(subject_ref=subject_ref).order_by("-at")
