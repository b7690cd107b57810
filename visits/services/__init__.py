"""Every change to a visit goes through one of these functions.

Each checks the policy rules (visits/rules.py), records who and when, and writes one event to
the visit's timeline. An illegal move raises `RuleBroken` (a ValidationError) with a message for
the person; repeating a move that has already happened does nothing.

planning.py: request, risk assessment, authorisation (P1-P16). checkins.py: on the day (D1-D6,
E3). The escalation chain itself (E1-E3) is in escalation/ (services.py, responses.py).
"""

from .checkins import (
    EXTENSION_MINUTES,
    clean_position,
    visit_arrive,
    visit_cancel_at_door,
    visit_complete,
    visit_extend,
    visit_leave,
    visit_need_help,
    visit_safe_by_phone,
    visit_set_off,
)
from .planning import (
    AUTHORISED_FIELDS,
    CHANGE_WORDS,
    DEFAULT_REPORTING,
    DETAIL_FIELDS,
    changed_words,
    last_risk_assessment_for,
    risk_assessment_record,
    submission_problems,
    visit_authorise,
    visit_cancel,
    visit_close,
    visit_create,
    visit_refuse,
    visit_request_changes,
    visit_snapshot,
    visit_submit,
    visit_update,
    withdrawn_changes,
)

__all__ = [
    "AUTHORISED_FIELDS",
    "CHANGE_WORDS",
    "DEFAULT_REPORTING",
    "DETAIL_FIELDS",
    "EXTENSION_MINUTES",
    "changed_words",
    "clean_position",
    "last_risk_assessment_for",
    "risk_assessment_record",
    "submission_problems",
    "visit_arrive",
    "visit_authorise",
    "visit_cancel",
    "visit_cancel_at_door",
    "visit_close",
    "visit_complete",
    "visit_create",
    "visit_extend",
    "visit_leave",
    "visit_need_help",
    "visit_refuse",
    "visit_request_changes",
    "visit_safe_by_phone",
    "visit_set_off",
    "visit_snapshot",
    "visit_submit",
    "visit_update",
    "withdrawn_changes",
]
