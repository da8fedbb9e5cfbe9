"""Rows of the tables that list fifty things a page, written in Python:
through the template language, a page's rows cost more than its queries.
Each value is escaped as the templates escape it (badges.esc)."""

from __future__ import annotations

from django.conf import settings
from django.utils.formats import localize
from django.utils.safestring import SafeString, mark_safe

from sessions_app.badges import date, esc
from sessions_app.phones import phone_display


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
    phone = phone_display(client.phone or "", settings.CLINIC_PHONE_REGION)
    email = f"<br>{esc(client.email)}" if client.email else ""
    return mark_safe(
        "<tr>\n"
        f'<td class="text-nowrap">{date(session.starts_at, "d/m/Y H:i")}</td>\n'
        f'<td class="text-break">{esc(client.full_name)} '
        f'<span class="small text-body-secondary">({date(client.date_of_birth, "d/m/Y")})</span></td>\n'
        f'<td class="small text-break">{esc(phone)}{email}</td>\n'
        f"<td>{esc(injection.area)}</td>\n"
        f'<td class="text-nowrap">{esc(localize(injection.volume_ml))} ml</td>\n'
        f"<td>{esc(session.practitioner)}</td>\n"
        "</tr>"
    )
