"""Recording audit events: every service that writes (or opens) personal data calls ``audit_record``."""

from __future__ import annotations

from typing import Any

from hanoismart.audit.models import AuditEvent


def audit_record(
    *,
    actor: Any | None,
    action: str,
    obj: Any | None = None,
    object_type: str = "",
    object_ref: str = "",
    subject: Any | None = None,
    unit_code: str = "",
    ip: str | None = None,
    details: dict[str, Any] | None = None,
    actor_role: str = "",
) -> AuditEvent:
    """Append one event. ``actor`` and ``subject`` are accounts (anything with ``public_id``); ``obj`` is the
    model instance acted on (its type and public id, or pk, are recorded)."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_ref = object_ref or str(getattr(obj, "public_id", None) or obj.pk)
    return AuditEvent.objects.create(
        actor_ref=getattr(actor, "public_id", None),
        actor_label=str(actor) if actor is not None else "",
        actor_role=actor_role,
        action=action,
        object_type=object_type,
        object_ref=object_ref,
        subject_ref=getattr(subject, "public_id", None),
        unit_code=unit_code,
        ip=ip,
        details=details or {},
    )
