"""CSV cells a spreadsheet shows as text and never runs as a formula (OWASP CSV injection), for
every CSV the app writes: the records' exports, the monitoring figures, the audit trail, the
admin's."""

import csv

# A cell starting with one of these is read as a formula by Excel, LibreOffice or Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "|", "%")


def csv_cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    text = str(value)
    return "'" + text if text.lstrip(" ").startswith(FORMULA_STARTS) else text


def safe_row(values):
    return [csv_cell(value) for value in values]


class _Echo:
    def write(self, value):
        return value


def csv_lines(header, rows):
    """The header and each row as a line of text, cells made safe: for a streamed response."""
    writer = csv.writer(_Echo())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow(safe_row(row))
