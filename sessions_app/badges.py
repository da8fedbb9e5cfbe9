"""The small pieces of HTML that say what a session is, written in Python
once and used by every page that shows sessions (the template tags
`series_position`, `status_badge` and `clearance_badge` in
templatetags/clinic.py, and the calendar's blocks in views/timegrid.py): a
busy day's calendar shows a hundred sessions, and through templates these
badges cost more than the day's queries. Also what every piece of HTML
written in Python uses (the timeline, the side effects' rows): a value
escaped, a date and a plural as the templates write them, and an address
with "{}" for an id."""

from __future__ import annotations

import datetime as dt
import html
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.formats import get_format
from django.utils.safestring import SafeString, mark_safe

from sessions_app.phones import phone_display

# A session's status as a coloured badge; text, not colour alone, carries the meaning.
STATUS_CLASSES = {
    "booked": "text-bg-secondary",
    "confirmed": "text-bg-primary",
    "arrived": "text-bg-info",
    "completed": "text-bg-success",
    "no_show": "text-bg-warning",
}
# Why a session cannot go ahead yet (sessions_app.clearance decides).
CLEARANCE_WORDS = {
    "blocked": "Do not treat",
    "needs_screening": "Screening due",
    "needs_judgement": "Needs judgement",
}


def esc(value) -> str:
    """One value as format_html writes it: escaped, unless it is already safe
    HTML. The strings here are joined with f-strings and marked safe once: a
    hundred blocks' format_html calls cost more than the calendar's queries."""
    return value.__html__() if hasattr(value, "__html__") else html.escape(str(value))


def series_position(session) -> SafeString:
    """The session's place in its plan ("3 of 6"): TreatmentSession.series_label, as in the calendar feed."""
    muted = " text-body-secondary" if session.missed else ""
    return mark_safe(f'<span class="text-nowrap{muted}">{esc(session.series_label)}</span>')


def status_badge(session) -> SafeString:
    status = esc(session.status)
    colour = STATUS_CLASSES.get(session.status, "text-bg-light border")
    return mark_safe(
        f'<span class="badge status-badge status-{status} {colour}">{esc(session.get_status_display())}</span>'
    )


def clearance_badge(session, *, reasons: bool) -> SafeString:
    """Why the session cannot go ahead yet, with the reasons as its title for
    staff who may read screenings (`reasons`); then, for clinical roles, what
    not to miss about the client (session.alerts, set by services/alerts.py)."""
    parts = []
    verdict = getattr(session, "clearance", None)
    if verdict and not verdict.may_treat:
        colour = "text-bg-danger" if verdict.clearance == "blocked" else "text-bg-warning"
        title = f' title="{esc(" ".join(verdict.reasons))}"' if reasons else ""
        words = CLEARANCE_WORDS.get(verdict.clearance, "Consent needed")
        parts.append(f'<span class="badge clearance-badge {colour}"{title}>{esc(words)}</span>')
    alerts = getattr(session, "alerts", None)
    if alerts:
        for alert in alerts.items:
            colour = "text-bg-danger" if alert.level == "danger" else "text-bg-warning"
            parts.append(
                f'<span class="badge alert-badge {colour} text-wrap text-start" '
                f'title="{esc(alert.text)}">{esc(alert.title)}</span>'
            )
    return mark_safe("".join(parts))  # each value escaped


def date(value: dt.date | dt.datetime | None, fmt: str) -> str:
    """As the template's date filter writes it: a moment on the clinic's clock."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    return date_format(value, fmt)


def plural(count) -> str:
    """The template's pluralize."""
    return "" if count == 1 else "s"


def number(value, places: int, decimal_separator: str | None = None) -> str:
    """As the template's floatformat:places writes a number: rounded half
    up to that many places, no thousands grouping, the language's decimal
    separator (read here unless given: a table's hundred numbers read it once)."""
    rounded = Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    if not rounded:
        rounded = abs(rounded)  # "-0.0" is written 0.0
    return f"{rounded:f}".replace(".", decimal_separator or get_format("DECIMAL_SEPARATOR"))


def phone(value: str | None) -> str:
    """A stored number as staff read it: the national format of the clinic's
    country (the template filter `phone`, and the rows written in Python)."""
    return phone_display(value or "", settings.CLINIC_PHONE_REGION)


def address_pattern(name: str, *samples) -> str:
    """The address of the page `name` names, with "{}" for each of its
    arguments ("/sessions/{}/record/", "/calls/{}/{}/"): one reverse() for a
    page's hundred links. `samples` are values the arguments' patterns accept,
    in order (by default one argument, an id)."""
    samples = samples or (0,)
    address = reverse(name, args=list(samples))
    for sample in samples:
        address = address.replace(f"/{sample}/", "/{}/", 1)
    return address
