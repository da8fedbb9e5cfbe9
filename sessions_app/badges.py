"""The small pieces of HTML that say what a session is, written in Python
once and used by every page that shows sessions (the template tags
`series_position`, `status_badge` and `clearance_badge` in
templatetags/clinic.py, and the calendar's blocks in views/timegrid.py): a
busy day's calendar shows a hundred sessions, and through templates these
badges cost more than the day's queries."""

from __future__ import annotations

import html

from django.utils.safestring import SafeString, mark_safe

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
