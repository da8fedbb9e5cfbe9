"""What every CSV (or other spreadsheet) export writes in a cell.

A spreadsheet program opening a file runs a cell that begins with `=`, `+`,
`-` or `@` (or a tab or carriage return before one) as a formula: a client
named `=HYPERLINK(...)` becomes a link that leaks the sheet, and a phone number
`+33 6 ...` an arithmetic error. OWASP's remedy, used here: such a cell begins
with a single quote, which spreadsheets take as "this is text", and which a
reader still reads past. Every export writes its rows through `csv_writer`.
"""

import csv
from collections.abc import Iterable
from typing import Any

# What makes a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: Any) -> Any:
    """The value as a spreadsheet must receive it: text that begins like a
    formula gets a leading single quote; numbers, dates and empty values are
    written as they are (a negative number is not a formula)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeCsvWriter:
    """`csv.writer` whose rows go through `spreadsheet_cell`, cell by cell."""

    def __init__(self, stream, **options):
        self._writer = csv.writer(stream, **options)

    def writerow(self, row: Iterable[Any]):
        return self._writer.writerow([spreadsheet_cell(value) for value in row])


def csv_writer(stream, **options) -> SafeCsvWriter:
    return SafeCsvWriter(stream, **options)
