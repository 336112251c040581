"""Papers the desk hands out, rendered as PDF with a QR code: the receipt (phiếu tiếp nhận và hẹn trả kết
quả) and the apology letter (phiếu xin lỗi và hẹn lại ngày trả kết quả). Reading them is audited."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from hanoismart.audit.services import audit_record
from hanoismart.common.errors import InvalidInput
from hanoismart.documents.pdf import render_pdf
from hanoismart.dossiers.models import ApologyLetter, Dossier
from hanoismart.dossiers.permissions import DossierPermission
from hanoismart.dossiers.services import base
from hanoismart.procedures.models import DossierStatus as S


def _may_read(actor: Any, dossier: Dossier) -> str:
    base.require_signed_in(actor)
    if dossier.applicant_id and dossier.applicant_id == actor.pk:
        return "applicant"
    return base.acting_as_staff(actor, dossier, DossierPermission.DOSSIER_VIEW).role


def _when(value) -> str:
    return formats.date_format(timezone.localtime(value), "d/m/Y H:i") if value else ""


def _lookup_url(dossier: Dossier) -> str:
    return f"{settings.SITE_URL.rstrip('/')}/dossiers/lookup/?{urlencode({'code': dossier.code})}"


def dossier_receipt_pdf(*, actor: Any, dossier: Dossier) -> bytes:
    """The receipt of a received dossier: code, procedure, applicant, papers, fees and the date the result
    is promised, with a QR code to look the dossier up."""
    role = _may_read(actor, dossier)
    if dossier.received_at is None or dossier.status in (S.SUBMITTED, S.NOT_RECEIVED):
        raise InvalidInput(
            _("A receipt is issued once the desk has received the dossier."), code="not_received"
        )
    papers = [
        f"{index}. {paper.name} ({paper.get_source_display()})"
        for index, paper in enumerate(dossier.components.all(), 1)
    ]
    fields = [
        (_("Dossier code"), dossier.code),
        (_("Procedure"), f"{dossier.procedure.national_code} {dossier.procedure.name}"),
        (_("Case"), dossier.case.name),
        (_("Applicant"), dossier.applicant_name),
        (_("Phone"), dossier.applicant_phone),
        (_("Received at"), _when(dossier.received_at)),
        (_("Result promised by"), _when(dossier.due_at)),
        (_("Fees (VND)"), f"{dossier.fee_applicant:,}".replace(",", ".")),
        (_("Result delivered"), dossier.get_delivery_method_display()),
    ]
    pdf = render_pdf(
        title=_("Receipt and appointment for the result"),
        subtitle=dossier.agency.name,
        issuer=dossier.agency.name,
        fields=fields,
        paragraphs=[_("Papers received:"), *papers],
        qr_payload=_lookup_url(dossier),
        footer=_("Look up your dossier with its code and your phone number."),
    )
    audit_record(
        actor=actor, action="dossiers.receipt_read", obj=dossier, subject=dossier.applicant, actor_role=role
    )
    return pdf


def apology_letter_pdf(*, actor: Any, letter: ApologyLetter) -> bytes:
    """The apology letter of a late dossier, with the reason and the new date."""
    dossier = letter.dossier
    role = _may_read(actor, dossier)
    pdf = render_pdf(
        title=_("Apology letter and new date for the result"),
        issuer=dossier.agency.name,
        fields=[
            (_("Dossier code"), dossier.code),
            (_("Procedure"), dossier.procedure.name),
            (_("Applicant"), dossier.applicant_name),
            (_("Result was due"), _when(letter.previous_due_at)),
            (_("New date for the result"), _when(letter.new_due_at)),
        ],
        paragraphs=[_("We apologise for the delay in handling your dossier. The reason:"), letter.reason],
        qr_payload=_lookup_url(dossier),
    )
    audit_record(
        actor=actor, action="dossiers.apology_read", obj=dossier, subject=dossier.applicant, actor_role=role
    )
    return pdf
