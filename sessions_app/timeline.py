"""The client page's timeline, a line per event, written in Python: a long
history has a hundred events, and through the template language their
lines cost more than the page's thirty queries. templates/clients/detail.html
places them (the `timeline_event` tag); views/clients.py gathers the events."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import quote

from django.utils.formats import localize
from django.utils.safestring import SafeString, mark_safe

from sessions_app import badges
from sessions_app.badges import address_pattern, date, esc, plural
from sessions_app.body_chart import chart_mini
from sessions_app.clearance import ABSOLUTE, CAUTION
from sessions_app.models import SessionStatus
from sessions_app.side_effect_html import side_effect_badges

LINKED = ("side_effect_detail", "session_record", "screening_judge")


@dataclass(frozen=True)
class Page:
    """What every line of one page's timeline needs to know of the page."""

    here: str  # the page's own address, urlencoded, for the record links' `next`
    path: str  # the page's path, urlencoded, for the screening's Judge link
    sees_injections: bool
    clinical: bool
    physician: bool
    today: dt.date
    # The pages an event links to, as "/sessions/{}/record/": one reverse() each a page.
    urls: dict[str, str]

    def url(self, name: str, pk: int) -> str:
        return self.urls[name].format(pk)

    @classmethod
    def of(cls, request, *, sees_injections: bool, clinical: bool, today: dt.date) -> Page:
        return cls(
            quote(request.get_full_path(), safe="/"),
            quote(request.path, safe="/"),
            sees_injections,
            clinical,
            bool(request.user.is_physician),
            today,
            {name: address_pattern(name) for name in LINKED},
        )


def _head(e, page: Page) -> str:
    """The event's first line, after its date: what happened."""
    obj = e.obj
    if e.kind == "session":
        return (
            f'<span class="fw-semibold">Session</span> {badges.series_position(obj)} {badges.status_badge(obj)}\n'
            f'        <span class="small text-break">{esc(obj.plan.indication)} · {esc(obj.practitioner)} · '
            f"{esc(obj.room)}</span>"
        )
    if e.kind == "plan":
        return (
            f'<span class="fw-semibold">Plan agreed</span> <span class="text-break">{esc(obj.indication)}: '
            f"{localize(obj.sessions_planned)} sessions of {esc(obj.mixture)}</span>"
        )
    if e.kind == "screening":
        return f'<span class="fw-semibold">Screening</span> <span class="small">by {esc(obj.screened_by)}</span>'
    if e.kind == "consent":
        return (
            f'<span class="fw-semibold">Consent signed</span> <span class="small text-break">'
            f"“{esc(obj.signed_name)}”, {esc(obj.consent_text)}</span>"
        )
    if e.kind == "side_effect":
        area = f", {esc(obj.area)}" if obj.area else ""
        course = []
        if obj.resolved_on:
            course.append(f"resolved on {date(obj.resolved_on, 'd/m/Y')}")
        if obj.reviewed_at:
            course.append(f"reviewed by {esc(obj.reviewed_by)}")
        if obj.follow_up_count:
            course.append(
                f"{localize(obj.follow_up_count)} follow-up{plural(obj.follow_up_count)}, the latest "
                f"{date(obj.last_follow_up_at, 'd/m/Y')}"
            )
        return (
            f'<span class="fw-semibold">Side effect</span> <span class="text-break"><a href="'
            f'{page.url("side_effect_detail", obj.pk)}">{esc(obj.kind)}</a>, '
            f"{esc(obj.get_severity_display().lower())}{area}</span>\n"
            f"        {side_effect_badges(obj, page.today)}\n"
            f'        <span class="small">{" · ".join(course)}</span>'
        )
    if e.kind == "check_in":
        answer = esc(obj.get_answer_display().lower())
        if obj.answer == "fine":
            said = f'<span class="badge text-bg-success">{answer}</span>'
        else:
            became = ""
            if obj.side_effect_id:
                link = page.url("side_effect_detail", obj.side_effect_id)
                became = f' · <a href="{link}">the side effect it became</a>'
            said = (
                f'<span class="badge text-bg-warning">{answer}</span> <span class="small">'
                f"{localize(obj.score)} out of 10{became}</span>"
            )
        return (
            f'<span class="fw-semibold">Check-in</span> <span class="small">after the session of '
            f"{date(obj.session.starts_at, 'd/m/Y')}:</span> {said}"
        )
    if e.kind == "reminder":
        return (
            f'<span class="fw-semibold">Reminder</span> <span class="small">{esc(obj.get_kind_display())} · '
            f"{esc(obj.get_channel_display().lower())} · {esc(obj.get_status_display().lower())}</span>"
        )
    return ""


def _session_detail(session, page: Page) -> str:
    """Under a session, for staff who read injections: its record, what was
    injected where, and (clinical staff) its notes."""
    lines = []
    if session.status in (SessionStatus.COMPLETED, SessionStatus.ARRIVED):
        label = "Signed record" if session.status == SessionStatus.COMPLETED else "Record the session"
        extra = ""
        if session.amendment_count:
            n = session.amendment_count
            extra += f" · amended {localize(n)} time{plural(n)}"
        if session.photo_count:
            n = session.photo_count
            extra += f" · {localize(n)} photo{plural(n)}"
        link = f"{page.url('session_record', session.pk)}?next={page.here}"
        lines.append(f'<div class="small ms-md-4 record-line"><a href="{link}">{label}</a>{extra}</div>')
    injections = session.injections.all()
    if injections:
        rows = "\n".join(
            f'<div class="small text-break injection-line">{esc(i.area)}: {localize(i.volume_ml)} ml, '
            f"{esc(i.get_depth_display().lower())}, {esc(i.get_technique_display().lower())}, "
            f"{localize(i.needle_length_mm)} mm needle, {localize(i.points)} points · lots "
            f"{esc(', '.join(i.lot_labels))}</div>"
            for i in injections
        )
        lines.append(
            f'<div class="d-flex gap-2 align-items-start ms-md-4 mt-1">\n{chart_mini(injections)}\n<div>\n'
            f"{rows}\n</div></div>"
        )
    if page.clinical and session.notes:
        lines.append(f'<div class="small ms-md-4 text-break fst-italic">{esc(session.notes)}</div>')
    return "\n".join(lines)


def _screening_detail(screening, page: Page) -> str:
    """Under a screening: its yes answers, and for a physician the Judge link."""
    answers = screening.answers.all()
    judge = ""
    if page.physician and any(a.answer and a.severity == CAUTION for a in answers):
        judge = (
            f'<a class="btn btn-sm btn-outline-primary py-0 me-1" href="{page.url("screening_judge", screening.pk)}'
            f'?next={page.path}">Judge</a>'
        )
    said = "".join(
        f'<span class="badge {"text-bg-danger" if a.severity == ABSOLUTE else "text-bg-warning"}">'
        f'{esc(a.get_question_display())}</span> <span class="text-break">{esc(a.details)}'
        f"{f' (judgement: {esc(a.judgement)})' if a.judgement else ''}</span> "
        for a in answers
        if a.answer
    )
    return f'<div class="small ms-md-4">{judge}{said}</div>'


def timeline_event(e, page: Page) -> SafeString:
    """One event of the timeline as a list item."""
    obj = e.obj
    when = date(obj.onset, "d/m/Y") if e.kind == "side_effect" else date(e.at, "d/m/Y H:i")
    below = ""
    if e.kind == "session" and page.sees_injections:
        below = _session_detail(obj, page)
    elif e.kind == "screening":
        below = _screening_detail(obj, page)
    elif e.kind == "side_effect" and obj.action_taken:
        below = f'<div class="small ms-md-4 text-break">Action: {esc(obj.action_taken)}</div>'
    elif e.kind == "check_in" and obj.note:
        below = f'<div class="small ms-md-4 text-break fst-italic">“{esc(obj.note)}”</div>'
    return mark_safe(
        f'<li class="list-group-item timeline-{e.kind}">\n'
        '    <div class="d-flex flex-wrap gap-2 align-items-baseline">\n'
        f'      <span class="text-nowrap small text-body-secondary timeline-date">{when}</span>\n'
        f"      {_head(e, page)}\n"
        "    </div>\n"
        f"    {below}\n"
        "  </li>"
    )
