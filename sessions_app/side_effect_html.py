"""Side effects as the pages list them, written in Python: their badges
(the client's timeline, the list), the list's rows and the signal's rows. A page of the list
has twenty-five rows; through the template language they cost more than
the page's queries."""

from __future__ import annotations

import datetime as dt

from django.template.defaultfilters import truncatechars
from django.utils.safestring import SafeString, mark_safe

from sessions_app.badges import date, esc, number


def side_effect_badges(effect, today: dt.date) -> SafeString:
    """A side effect's status, source and flags, as badges."""
    status = effect.status
    colour = {"resolved": "text-bg-success", "improving": "text-bg-info"}.get(status, "text-bg-warning")
    parts = [f'<span class="badge {colour}">{esc(effect.get_status_display())}</span>']
    if effect.serious:
        parts.append('<span class="badge text-bg-danger">serious</span>')
    if effect.source == "check_in":
        parts.append('<span class="badge text-bg-light border">client\'s check-in</span>')
    expected = effect.expected_resolution_on
    if status != "resolved" and expected and expected < today:
        parts.append(f'<span class="badge text-bg-danger">past the expected {date(expected, "d/m")}</span>')
    if not effect.reviewed_at:
        parts.append('<span class="badge text-bg-secondary">to review</span>')
    return mark_safe("\n".join(parts))


ROW = """      <tr>
        <td class="side-effect-client d-none d-sm-table-cell"><a href="{client_url}">{client}</a></td>
        <td class="text-break"><a class="d-sm-none d-block mb-1" href="{client_url}">{client}</a><a class="fw-semibold"
          href="{url}">{kind}, {severity}</a>{area}
          <div>{badges}</div>
          {notes}
          <div class="small text-body-secondary d-md-none">since {onset}{after}</div></td>
        <td class="text-nowrap d-none d-md-table-cell">{onset}</td>
        <td class="small d-none d-lg-table-cell">{course}
          {action}</td>
        <td class="small d-none d-md-table-cell">{session}</td>
        <td class="text-end">
          {review}
        </td>
      </tr>"""


def side_effect_row(effect, *, today: dt.date, urls: dict[str, str], review: str | None) -> SafeString:
    """One side effect as a row of the list. `urls` are the client's, the
    side effect's and its review's addresses with {} for the id; `review`,
    the review form's hidden fields (CSRF token and next) for staff who may
    mark it reviewed, None for others."""
    session = effect.session
    if effect.resolved_on:
        course = f"resolved {date(effect.resolved_on, 'd/m/Y')}"
    elif effect.expected_resolution_on:
        course = f"usually gone by {date(effect.expected_resolution_on, 'd/m/Y')}"
    else:
        course = "ongoing"
    if effect.reviewed_at:
        reviewed = (
            f'<span class="small text-body-secondary">reviewed by {esc(effect.reviewed_by)}, '
            f"{date(effect.reviewed_at, 'd/m/Y')}</span>"
        )
    elif review is not None:
        reviewed = (
            f'<form method="post" action="{urls["review"].format(effect.pk)}">{review}\n'
            '              <button class="btn btn-sm btn-outline-primary" type="submit">Mark reviewed</button>\n'
            "            </form>"
        )
    else:
        reviewed = ""
    client_url = urls["client"].format(effect.client_id)
    return mark_safe(
        ROW.format(
            client_url=client_url,
            client=esc(effect.client.full_name),
            url=urls["detail"].format(effect.pk),
            kind=esc(effect.kind),
            severity=esc(effect.get_severity_display().lower()),
            area=f' <span class="small">· {esc(effect.area)}</span>' if effect.area else "",
            badges=side_effect_badges(effect, today),
            notes=f'<div class="small text-break">{esc(truncatechars(effect.notes, 160))}</div>'
            if effect.notes
            else "",
            onset=date(effect.onset, "d/m/Y"),
            after=f", after the session of {date(session.starts_at, 'd/m')}" if session else "",
            course=course,
            action=(
                f'<div class="text-break text-body-secondary">{esc(truncatechars(effect.action_taken, 100))}</div>'
                if effect.action_taken
                else ""
            ),
            session=(
                f"{date(session.starts_at, 'd/m/Y')}, {esc(session.practitioner)}"
                f'<div class="text-body-secondary text-break">{esc(session.plan.mixture)}</div>'
                if session
                else "—"
            ),
            review=reviewed,
        )
    )


def signal_row(dimension, row, decimal_separator: str) -> SafeString:
    """One row of a table of the side-effect signal: what it counts, its
    sessions and those with a side effect, the rate with its interval, and
    (lots and mixtures) the exact test against the rest of the clinic. The
    page has a hundred rows of five numbers each."""
    rate = row.rate

    def one(value) -> str:
        return number(value, 1, decimal_separator)

    highlight, flag = "", ""
    if rate.flagged:
        highlight = ' class="table-danger"'
        flag = '<span class="badge text-bg-danger me-1">flag</span>'
    cells = [
        f'<tr id="{esc(dimension.slug)}-{esc(row.key)}"{highlight}>',
        f'<th scope="row" class="fw-normal signal-label">{flag}{esc(row.label)}</th>',
        f'<td class="text-end">{rate.sessions}</td>',
        f'<td class="text-end">{rate.with_side_effect}</td>',
        f'<td>{one(rate.percent)}% <span class="small text-body-secondary text-nowrap">'
        f"({one(rate.low_percent)}–{one(rate.high_percent)}%)</span></td>",
    ]
    if dimension.flags:
        if rate.p_value is None:
            test = "—"
        else:
            ratio = f"{one(rate.ratio)}×, " if rate.ratio else ""
            p = "&lt; 0.0001" if rate.p_value < 0.0001 else number(rate.p_value, 4, decimal_separator)
            test = f"{ratio}p = {p}"
        cells.append(f'<td class="small">{test}</td>')
    cells.append("</tr>")
    return mark_safe("\n".join(cells))
