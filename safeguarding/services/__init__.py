"""Every state change of concerns, minutes, debriefs and actions goes through these functions.

One module per area: concerns.py (A5, A8), minutes.py (A1, A3, A6), actions.py (A7),
exports.py (A2, A4), reminders.py (A7).
"""

from .concerns import (  # noqa: F401
    DSL_ROLES,
    READING_ROLES,
    concern_close,
    concern_raise,
    concern_triage,
    concern_viewed,
    concerns_unread,
    may_read_all,
    may_triage,
)
