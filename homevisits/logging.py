"""Logs carry no personal data: a filter on every handler blanks what looks like a phone
number or an email address, wherever it comes from (an exception's message quoting a row, a
library's warning about a request). Code does not log names, addresses or texts to begin with;
this catches what slips through."""

import logging
import re

# A phone number as people and gateways write them: 07700 900123, +447700900123, 0161 496 0000
# (not a date, a time or an id: those have dashes, colons, or too few digits).
PHONE = re.compile(r"(?<![\w.+-])(?:\+\d{1,3} ?|0)\d{2,4} ?\d{3,4} ?\d{3,4}(?![\w:])")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")


def redact(text):
    return EMAIL.sub("[email]", PHONE.sub("[phone]", text))


class RedactPersonalData(logging.Filter):
    def filter(self, record):
        message = record.getMessage()
        clean = redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if clean != message:
            record.msg, record.args = clean, ()
        return True
