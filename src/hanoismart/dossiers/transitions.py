"""Which action may happen to a dossier in which status, and by whom: one table, read by the services (to
refuse) and by the selectors (to offer only what is possible now)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hanoismart.dossiers.models import Dossier, PaymentStatus
from hanoismart.dossiers.permissions import DossierPermission as P
from hanoismart.identity.models import StaffRole
from hanoismart.procedures.models import DossierStatus as S


def is_late(dossier: Dossier, *, now: dt.datetime) -> bool:
    """Finished after its due moment, or still open (or processed, not returned) past it."""
    if dossier.due_at is None:
        return False
    moment = dossier.finished_at or dossier.paused_since or now
    return moment > dossier.due_at


def is_sign_step(step: Any) -> bool:
    return step is not None and (step.status == S.PROCESSED or step.role == StaffRole.LEADER)


@dataclass(frozen=True)
class Rule:
    """``statuses`` the action starts from; staff ``perms`` (any one) or the ``applicant``; an extra test."""

    statuses: frozenset[str]
    perms: tuple[P, ...] = ()
    applicant: bool = False
    when: Callable[[Dossier, dt.datetime], bool] = field(default=lambda dossier, now: True)


OPEN_AFTER_RECEIPT = frozenset({S.RECEIVED, S.IN_PROGRESS, S.SUPPLEMENT_REQUESTED, S.FINANCIAL_OBLIGATION})
WORKING = frozenset({S.RECEIVED, S.IN_PROGRESS})

RULES: dict[str, Rule] = {
    "receive": Rule(frozenset({S.SUBMITTED}), (P.DOSSIER_RECEIVE,)),
    "refuse": Rule(frozenset({S.SUBMITTED}), (P.DOSSIER_RECEIVE,)),
    "assign": Rule(WORKING, (P.DOSSIER_ASSIGN,)),
    "forward": Rule(WORKING, (P.DOSSIER_PROCESS,), when=lambda d, now: not is_sign_step(d.step)),
    "approve": Rule(WORKING, (P.DOSSIER_PROCESS,), when=lambda d, now: not is_sign_step(d.step)),
    "request_supplement": Rule(frozenset({S.SUBMITTED}) | WORKING, (P.DOSSIER_RECEIVE, P.DOSSIER_PROCESS)),
    "supplement": Rule(frozenset({S.SUPPLEMENT_REQUESTED}), applicant=True),
    "request_payment": Rule(WORKING, (P.DOSSIER_PROCESS,)),
    "pay": Rule(
        frozenset({S.SUBMITTED, S.FINANCIAL_OBLIGATION}) | WORKING,
        applicant=True,
        when=lambda d, now: d.payment_status == PaymentStatus.DUE,
    ),
    "sign": Rule(
        WORKING,
        (P.DOSSIER_SIGN,),
        when=lambda d, now: (
            (d.step is None or is_sign_step(d.step)) and d.payment_status != PaymentStatus.DUE
        ),
    ),
    "stop": Rule(OPEN_AFTER_RECEIPT, (P.DOSSIER_PROCESS,)),
    "withdraw": Rule(frozenset({S.SUBMITTED}) | OPEN_AFTER_RECEIPT, applicant=True),
    "apologise": Rule(
        OPEN_AFTER_RECEIPT | {S.PROCESSED},
        (P.DOSSIER_RETURN, P.DOSSIER_PROCESS),
        when=lambda d, now: is_late(d, now=now),
    ),
    "return": Rule(frozenset({S.PROCESSED}), (P.DOSSIER_RETURN,)),
    "rate": Rule(frozenset({S.RETURNED}), applicant=True, when=lambda d, now: not hasattr_rating(d)),
}

ACTIONS = tuple(RULES)


def hasattr_rating(dossier: Dossier) -> bool:
    """Whether the dossier was rated already (the reverse one-to-one raises when there is none)."""
    try:
        dossier.rating  # noqa: B018 - the lookup is the test
    except Exception:  # RelatedObjectDoesNotExist
        return False
    return True
