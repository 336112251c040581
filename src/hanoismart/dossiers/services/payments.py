"""Paying a dossier's fees through a payment-gateway adapter (``settings.PAYMENT_GATEWAY``, a dotted path;
the default simulator marks a payment paid at once with a gateway reference, as the demo needs)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from hanoismart.common.errors import InvalidInput
from hanoismart.dossiers.models import Dossier, Payment, PaymentState, PaymentStatus
from hanoismart.dossiers.services import base, rollups
from hanoismart.dossiers.transitions import RULES
from hanoismart.procedures.models import DossierStatus as S


@dataclass(frozen=True)
class GatewayResult:
    """What a gateway answered: paid or not, its reference, and why not."""

    paid: bool
    reference: str
    error: str = ""


class PaymentGateway(Protocol):
    name: str

    def charge(self, *, payment: Payment) -> GatewayResult: ...


class SimulatorGateway:
    """The demo's gateway: every payment succeeds at once."""

    name = "simulator"

    def charge(self, *, payment: Payment) -> GatewayResult:
        return GatewayResult(paid=True, reference=f"SIM-{uuid.uuid4().hex[:16].upper()}")


def payment_gateway() -> PaymentGateway:
    """The configured gateway adapter."""
    return import_string(settings.PAYMENT_GATEWAY)()


def _receipt_number(payment: Payment) -> str:
    return f"BL-{base.now():%y%m%d}-{payment.pk:06d}"


def dossier_pay(*, actor: Any, dossier: Dossier) -> Payment:
    """The applicant pays what is due; a dossier waiting for it (status 6) resumes. Idempotent: when the
    fees are paid already, the paid payment is returned and nothing is charged again."""
    base.require_signed_in(actor)
    with transaction.atomic():
        current = base.locked(dossier)
        acting = base.acting_as_applicant(actor, current)
        if current.payment_status == PaymentStatus.PAID:
            paid = (
                current.payments.filter(state=PaymentState.PAID, payer="applicant")
                .order_by("-paid_at")
                .first()
            )
            if paid is not None:
                return paid
        rule = RULES["pay"]
        if current.status not in rule.statuses or not rule.when(current, base.now()):
            from hanoismart.dossiers.services.workflow import NotAllowedNow

            raise NotAllowedNow(_("Nothing is due on this dossier."), code="nothing_due")
        gateway = payment_gateway()
        payment = Payment.objects.create(
            dossier=current, amount=current.fee_applicant, payer="applicant", gateway=gateway.name
        )
        result = gateway.charge(payment=payment)
        if not result.paid:
            Payment.objects.filter(pk=payment.pk).update(
                state=PaymentState.FAILED, gateway_ref=result.reference
            )
            raise InvalidInput(
                _("The payment did not go through: %(error)s") % {"error": result.error},
                code="payment_failed",
            )
        payment.state = PaymentState.PAID
        payment.gateway_ref = result.reference
        payment.paid_at = base.now()
        payment.receipt_number = _receipt_number(payment)
        payment.save(update_fields=["state", "gateway_ref", "paid_at", "receipt_number"])
        rollups.payment_paid(current)
        from_status = current.status
        current.payment_status = PaymentStatus.PAID
        if current.status == S.FINANCIAL_OBLIGATION:
            request = current.events.filter(action="request_payment").order_by("-at", "-id").first()
            current.status = (request.details.get("resume_status") if request else None) or S.IN_PROGRESS
        current.save()
        base.record(
            current,
            acting=acting,
            action="pay",
            from_status=from_status,
            details={
                "amount": payment.amount,
                "receipt": payment.receipt_number,
                "gateway_ref": payment.gateway_ref,
            },
            notify_extra={"amount": payment.amount, "receipt": payment.receipt_number},
        )
        return payment
