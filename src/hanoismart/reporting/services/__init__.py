"""Every write of the reporting app (one module per concern); import from here.

- ``periods``: ``period_for``, ``periods_between``, ``period_build``, ``working_days_after``
- ``forms``: ``indicator_upsert``, ``form_upsert``, ``form_version_publish``,
  ``assignments_sync``, ``assignment_add``
- ``values``: ``values_write`` (type checks, import summary), ``value_parse``, ``disaggregation_normalise``
- ``submissions``: ``submission_open``, ``submission_save_draft``, ``submission_sign_off``,
  ``submission_submit``,
  ``submission_return``, ``submission_accept``, ``submission_reopen``, ``submissions_lock_due``,
  ``submission_check``
- ``aggregation``: ``aggregates_report_moved``, ``aggregates_refresh``, ``aggregates_rebuild``,
  ``aggregates_compute``, ``combine``
- ``datavaluesets``: ``data_value_set_import``, ``csv_entries``
- ``reminders``: ``reminders_due``, ``reminder_chase``, ``rule_for``, ``reminder_days``
- ``requests``: ``report_request_send``
- ``spreadsheets``: ``submission_import_xlsx``
"""

from hanoismart.reporting.services.aggregation import (
    aggregates_rebuild,
    aggregates_refresh,
    aggregates_report_moved,
)
from hanoismart.reporting.services.datavaluesets import csv_entries, data_value_set_import
from hanoismart.reporting.services.forms import (
    ItemSpec,
    RuleSpec,
    assignment_add,
    assignments_sync,
    form_upsert,
    form_version_publish,
    indicator_upsert,
)
from hanoismart.reporting.services.periods import (
    period_build,
    period_for,
    periods_between,
    working_days_after,
)
from hanoismart.reporting.services.reminders import (
    ChaseResult,
    reminder_chase,
    reminder_days,
    reminders_due,
    rule_for,
)
from hanoismart.reporting.services.requests import report_request_send
from hanoismart.reporting.services.spreadsheets import submission_import_xlsx
from hanoismart.reporting.services.submissions import (
    ACTIONS,
    RuleResult,
    submission_accept,
    submission_check,
    submission_open,
    submission_reopen,
    submission_return,
    submission_save_draft,
    submission_sign_off,
    submission_submit,
    submissions_lock_due,
)
from hanoismart.reporting.services.values import ImportSummary, ValueEntry, values_write

__all__ = [
    "ACTIONS",
    "ChaseResult",
    "ImportSummary",
    "ItemSpec",
    "RuleResult",
    "RuleSpec",
    "ValueEntry",
    "aggregates_rebuild",
    "aggregates_refresh",
    "aggregates_report_moved",
    "assignment_add",
    "assignments_sync",
    "csv_entries",
    "data_value_set_import",
    "form_upsert",
    "form_version_publish",
    "indicator_upsert",
    "period_build",
    "period_for",
    "periods_between",
    "reminder_chase",
    "reminder_days",
    "reminders_due",
    "report_request_send",
    "rule_for",
    "submission_accept",
    "submission_check",
    "submission_import_xlsx",
    "submission_open",
    "submission_reopen",
    "submission_return",
    "submission_save_draft",
    "submission_sign_off",
    "submission_submit",
    "submissions_lock_due",
    "values_write",
    "working_days_after",
]
