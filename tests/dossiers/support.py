"""Helpers of the dossier tests: a PDF upload, filing a dossier through the service, counting what a
refused action must not have written."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from hanoismart.audit.models import AuditEvent
from hanoismart.dossiers.models import DossierEvent, PortalSyncMessage
from hanoismart.dossiers.services import ComponentInput, dossier_submit
from hanoismart.notifications.models import Message

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def pdf_upload(name: str = "giay-chung-sinh.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def mandatory_papers(case) -> list[ComponentInput]:
    return [
        ComponentInput(component_id=component.pk, upload=pdf_upload())
        for component in case.components.filter(is_mandatory=True)
    ]


def submit(resident, case, **extra):
    values = {"form_data": {"child_name": "Nguyễn Văn Bé"}, "components": mandatory_papers(case)}
    values.update(extra)
    return dossier_submit(actor=resident, case=case, **values)


def trace_counts() -> tuple[int, int, int, int]:
    """(events, audit events, messages, portal sync messages): a refused action leaves all four unchanged."""
    return (
        DossierEvent.objects.count(),
        AuditEvent.objects.count(),
        Message.objects.count(),
        PortalSyncMessage.objects.count(),
    )
