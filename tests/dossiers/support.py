"""Helpers of the dossier tests: a PDF upload, filing a dossier through the service, counting what a
refused action must not have written."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from hanoismart.audit.models import AuditEvent
from hanoismart.dossiers.models import (
    Dossier,
    DossierComponent,
    DossierEvent,
    FilingChannel,
    PortalSyncMessage,
    Rating,
)
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


def stats_dossier(agency, case, applicant, *, received, submitted_at, **values) -> Dossier:
    """A dossier row for the statistics tests: in progress at the desk unless ``values`` say otherwise."""
    from hanoismart.procedures.models import DossierStatus
    from tests.dossiers.factories import DossierFactory

    values.setdefault("status", DossierStatus.IN_PROGRESS)
    values.setdefault("channel", FilingChannel.IN_PERSON)
    values.setdefault("is_fully_online", False)
    return DossierFactory(
        agency=agency,
        case=case,
        applicant=applicant,
        submitted_at=submitted_at,
        received_at=received,
        **values,
    )


def papers(dossier: Dossier, *sources: str) -> None:
    for source in sources:
        DossierComponent.objects.create(dossier=dossier, name="Giấy tờ", source=source)


def rate(dossier: Dossier, overall: str, total: int, when) -> None:
    rating = Rating.objects.create(dossier=dossier, scores={}, total=total, overall=overall)
    Rating.objects.filter(pk=rating.pk).update(created_at=when)  # created_at is auto_now_add


def sync(dossier: Dossier, *states: str) -> None:
    for sequence, state in enumerate(states, start=1):
        PortalSyncMessage.objects.create(
            dossier=dossier, sequence=sequence, status=dossier.status, state=state
        )
