"""CSV exports open in a spreadsheet: a cell that begins like a formula must
open as the text it is (OWASP's "CSV injection"), still readable."""

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from django.urls import reverse

import sessions_app
from sessions_app.models import SessionStatus
from sessions_app.spreadsheet import spreadsheet_cell

from .factories import make_client, make_injection, make_lot, make_plan, make_session


@pytest.mark.parametrize(
    "value",
    ['=HYPERLINK("http://evil.example","Click")', "+33 6 12 34 56 78", "-2+3", "@SUM(1+1)", "\tx", "\r=1+1"],
)
def test_a_cell_that_begins_like_a_formula_is_prefixed_with_a_quote(value):
    assert spreadsheet_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["Dupont", "O'Brien", "García", "06 12 34 56 78", "2026-03-29 10:00", "", " =1"])
def test_other_text_is_left_as_it_is(value):
    assert spreadsheet_cell(value) == value


def test_numbers_and_empty_values_are_left_as_they_are():
    assert spreadsheet_cell(-1) == -1
    assert spreadsheet_cell(None) is None


@pytest.mark.django_db
def test_the_lot_trace_csv_opens_no_formula(client, practitioner):
    """Issue 18: names like `@SUM(1+1)` and every `+33 …` phone opened as formulas."""
    lot = make_lot(lot_number="REC-9")
    hostile = make_client(
        first_name='=HYPERLINK("http://evil.example","Recall")',
        last_name="Martin",
        phone="+33 6 12 34 56 78",
        email="-x@example.org",
    )
    start = dt.datetime(2026, 3, 10, 10, tzinfo=dt.UTC)
    session = make_session(
        plan=make_plan(client=hostile), starts_at=start, status=SessionStatus.COMPLETED, completed_at=start
    )
    make_injection(session, lots=[lot])
    at_sign = make_client(first_name="@SUM(1+1)", last_name="Roux", phone="")
    start2 = start + dt.timedelta(days=7)
    session2 = make_session(
        plan=make_plan(client=at_sign), starts_at=start2, status=SessionStatus.COMPLETED, completed_at=start2
    )
    make_injection(session2, lots=[lot])

    client.force_login(practitioner)
    response = client.get(reverse("lot_trace", args=[lot.pk]), {"format": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    cells = [cell for row in rows for cell in row]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    header, first, second = rows
    by_column = dict(zip(header, first, strict=True))
    assert by_column["client"] == '\'=HYPERLINK("http://evil.example","Recall") Martin'
    # Stored and exported in E.164 (issue 13), still text, not a formula.
    assert by_column["phone"] == "'+33612345678"
    assert by_column["email"] == "'-x@example.org"
    assert dict(zip(header, second, strict=True))["client"] == "'@SUM(1+1) Roux"


def test_every_csv_export_writes_through_the_one_rule():
    """A new export that calls csv.writer itself would skip spreadsheet_cell."""
    root = Path(sessions_app.__file__).parent
    direct = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if path.name != "spreadsheet.py" and ("csv.writer(" in path.read_text() or "DictWriter(" in path.read_text())
    ]
    assert direct == []
