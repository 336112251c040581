"""Every write of the dossiers app; import from here.

- ``filing``: ``ComponentInput``, ``dossier_submit``, ``dossier_register_at_desk``
- ``workflow``: ``dossier_act`` (the dispatcher) and one service per action: ``dossier_receive``,
  ``dossier_refuse``, ``dossier_assign``, ``dossier_forward``, ``dossier_approve``,
  ``dossier_request_supplement``, ``dossier_supplement``, ``dossier_request_payment``, ``dossier_sign``,
  ``dossier_stop``, ``dossier_withdraw``, ``dossier_apologise``, ``dossier_return``, ``dossier_rate``
- ``payments``: ``dossier_pay``, the gateway adapters
- ``portal``: delivery of the national-portal sync messages
- ``rollups``: the daily roll-ups kept current by the services above, ``rollups_rebuild``, ``rollups_check``
- ``receipts``: ``dossier_receipt_pdf``, ``apology_letter_pdf``
- ``codes``: ``dossier_code_allocate``
"""

from hanoismart.dossiers.services.codes import dossier_code_allocate
from hanoismart.dossiers.services.filing import ComponentInput, dossier_register_at_desk, dossier_submit
from hanoismart.dossiers.services.payments import dossier_pay
from hanoismart.dossiers.services.portal import portal_deliver_dossier, portal_dossiers_due
from hanoismart.dossiers.services.receipts import apology_letter_pdf, dossier_receipt_pdf
from hanoismart.dossiers.services.rollups import Mismatch, rollups_check, rollups_rebuild
from hanoismart.dossiers.services.workflow import (
    ACTION_SERVICES,
    NotAllowedNow,
    dossier_act,
    dossier_apologise,
    dossier_approve,
    dossier_assign,
    dossier_forward,
    dossier_rate,
    dossier_receive,
    dossier_refuse,
    dossier_request_payment,
    dossier_request_supplement,
    dossier_return,
    dossier_sign,
    dossier_stop,
    dossier_supplement,
    dossier_withdraw,
)

__all__ = [
    "ACTION_SERVICES",
    "ComponentInput",
    "Mismatch",
    "NotAllowedNow",
    "apology_letter_pdf",
    "dossier_act",
    "dossier_apologise",
    "dossier_approve",
    "dossier_assign",
    "dossier_code_allocate",
    "dossier_forward",
    "dossier_pay",
    "dossier_rate",
    "dossier_receipt_pdf",
    "dossier_receive",
    "dossier_refuse",
    "dossier_register_at_desk",
    "dossier_request_payment",
    "dossier_request_supplement",
    "dossier_return",
    "dossier_sign",
    "dossier_stop",
    "dossier_submit",
    "dossier_supplement",
    "dossier_withdraw",
    "portal_deliver_dossier",
    "portal_dossiers_due",
    "rollups_check",
    "rollups_rebuild",
]
