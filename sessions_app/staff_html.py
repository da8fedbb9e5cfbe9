"""The staff page's rows, written in Python: a page lists fifty members, and
through the template language their rows cost more than the page's queries."""

from __future__ import annotations

from django.utils.safestring import SafeString, mark_safe

from sessions_app.badges import date, esc


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
