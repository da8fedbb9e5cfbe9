"""Rows of the lists of twenty-five or fifty things a page (the staff, a lot's
trace, the call list), written in Python: through the template language, a
page's rows cost more than its queries.
Each value is escaped as the templates escape it (badges.esc)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.formats import localize
from django.utils.safestring import SafeString, mark_safe

from sessions_app.badges import date, esc, phone
from sessions_app.models import CallOutcome, ReminderKind
from sessions_app.phones import phone_dial


def staff_row(member, detail_url: str) -> SafeString:
    """One member (from services.staff.staff_for_list, with `role` and
    `locked` set): name and sign-in name, role, profession, registration
    number, last sign-in, and the account's state. On a phone, the name, role
    and account only (the member's page has the rest): six columns squeezed
    the names into a letter or two a line."""
    muted = "" if member.is_active else "text-body-secondary"
    title = f" · {esc(member.job_title)}" if member.job_title else ""
    role = esc(member.role.label) if member.role else '<span class="badge text-bg-warning">no role</span>'
    signed_in = date(member.last_login, "d/m/Y H:i") if member.last_login else "never"
    account = []
    if not member.is_active:
        account.append('<span class="badge text-bg-secondary">deactivated</span>')
    elif not member.locked:
        account.append('<span class="small">active</span>')
    if member.locked:
        account.append('<span class="badge text-bg-danger">locked out</span>')
    if not member.has_usable_password():
        account.append('<span class="badge text-bg-light border">no password yet</span>')
    if member.has_authenticator:
        account.append('<span class="badge text-bg-light border">authenticator</span>')
    return mark_safe(
        f'<tr class="{muted}" data-member="{member.pk}">\n'
        f'<td class="text-break"><a href="{detail_url.format(member.pk)}" class="fw-semibold">'
        f"<bdi>{esc(member)}</bdi></a>\n"
        f'<div class="small text-body-secondary text-break">{esc(member.username)}{title}</div></td>\n'
        f"<td>{role}</td>\n"
        f'<td class="d-none d-md-table-cell">{esc(member.get_profession_display() or "—")}</td>\n'
        f'<td class="text-break d-none d-md-table-cell">{esc(member.registration_number or "—")}</td>\n'
        f'<td class="text-nowrap d-none d-sm-table-cell">{signed_in}</td>\n'
        f"<td>\n{' '.join(account)}\n</td>\n"
        "</tr>"
    )


def lot_trace_row(injection) -> SafeString:
    """One injection of a lot's trace (views.lots._trace): when, the client
    with their date of birth, how to reach them, where, how much, and who
    injected it."""
    session = injection.session
    client = session.plan.client
    number = phone(client.phone)
    email = f"<br>{esc(client.email)}" if client.email else ""
    return mark_safe(
        "<tr>\n"
        f'<td class="text-nowrap">{date(session.starts_at, "d/m/Y H:i")}</td>\n'
        f'<td class="text-break">{esc(client.full_name)} '
        f'<span class="small text-body-secondary">({date(client.date_of_birth, "d/m/Y")})</span></td>\n'
        f'<td class="small text-break">{esc(number)}{email}</td>\n'
        f"<td>{esc(injection.area)}</td>\n"
        f'<td class="text-nowrap">{esc(localize(injection.volume_ml))} ml</td>\n'
        f"<td>{esc(session.practitioner)}</td>\n"
        "</tr>"
    )


@dataclass(frozen=True)
class CallPage:
    """What every call of a page of the call list shares: who may do what,
    the form's hidden fields, and the addresses with {} for the ids."""

    can_record: bool
    can_record_side_effect: bool
    sees_side_effects: bool
    hidden: str  # the CSRF token's and the page number's inputs, written once
    outcomes: list[tuple[str, str, str]]  # (value, label, colour)
    client_url: str
    side_effect_url: str
    outcome_url: str  # "/calls/{}/{}/": the call, the outcome


# Calls about what comes after a session: the row names it "last session".
LAST_SESSION_KINDS = (ReminderKind.MAINTENANCE_DUE, ReminderKind.NEXT_SESSION_UNBOOKED)


def call_row(call, page: CallPage) -> SafeString:
    """One call of the call list (reminders.calls.call_list): the client and
    their phone, what the call is about and when it was due, the tries without
    an answer, and the outcome buttons for staff who record them."""
    client = call.client
    if client.phone:
        shown = esc(phone(client.phone))
        reach = f'<a class="text-nowrap" href="tel:{esc(phone_dial(client.phone))}">{shown}</a>'
    else:
        reach = '<span class="badge text-bg-warning">no phone number</span>'
    about = esc(call.get_kind_display())
    effect = call.side_effect
    if effect and page.sees_side_effects:
        about += (
            f": {esc(effect.kind)}, {esc(effect.get_severity_display().lower())}, since {date(effect.onset, 'd/m')} ·"
        )
    if call.session:
        which = "last session" if call.kind in LAST_SESSION_KINDS else "session"
        session = call.session
        about += f": {which} of {date(session.starts_at, 'D d/m H:i')} with {esc(session.practitioner)}"
    elif call.plan:
        about += f": {esc(call.plan.indication)} with {esc(call.plan.practitioner)}"
    lines = [
        f'<li class="list-group-item" data-call="{call.pk}">',
        '<div class="d-flex flex-wrap gap-2 align-items-start">',
        '<div class="call-who me-auto">',
        '<div class="d-flex flex-wrap column-gap-2 align-items-baseline">',
        f'<a class="fw-semibold text-break" href="{page.client_url.format(call.client_id)}">'
        f"{esc(client.full_name)}</a>",
        reach,
        "</div>",
        f'<div class="small text-body-secondary text-break">{about} · due {date(call.due_at, "d/m H:i")}</div>',
    ]
    no_answer = call.call_outcome == CallOutcome.NO_ANSWER
    if no_answer:
        lines.append(
            f'<div class="small"><span class="badge text-bg-light border">No answer ×{call.attempts}</span> '
            f"last tried {date(call.handled_at, 'd/m H:i')} by {esc(call.handled_by)}</div>"
        )
    if call.last_error and not no_answer:
        lines.append(f'<div class="small text-body-secondary text-break">{esc(call.last_error)}</div>')
    lines.append("</div>")
    if page.can_record:
        lines.append(
            '<form method="post" class="d-flex flex-wrap gap-1 call-actions" '
            f'aria-label="Outcome of the call to {esc(client.full_name)}">'
        )
        lines.append(page.hidden)
        for value, label, colour in page.outcomes:
            lines.append(
                f'<button class="btn btn-sm btn-outline-{colour} text-nowrap" '
                f'formaction="{page.outcome_url.format(call.pk, value)}">{esc(label)}</button>'
            )
        if call.side_effect_id and page.sees_side_effects:
            lines.append(
                f'<a class="btn btn-sm btn-outline-dark text-nowrap" '
                f'href="{page.side_effect_url.format(call.side_effect_id)}">Open the side effect</a>'
            )
        elif page.can_record_side_effect:
            lines.append(
                '<button class="btn btn-sm btn-outline-dark text-nowrap" '
                f'formaction="{page.outcome_url.format(call.pk, "side_effect")}">Side effect reported</button>'
            )
        lines.append("</form>")
    lines += ["</div>", "</li>"]
    return mark_safe("\n".join(lines))
