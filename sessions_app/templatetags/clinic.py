"""Template filters of the clinic's pages."""

import datetime as dt
from decimal import Decimal

from django import template
from django.middleware.csrf import get_token
from django.utils.dateformat import format as date_format
from django.utils.formats import get_format
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from sessions_app import badges, side_effect_html, table_rows, timeline
from sessions_app.badges import address_pattern, esc
from sessions_app.body_chart import CHART_ORDER
from sessions_app.navigation import menu_entry
from sessions_app.phones import is_canonical, phone_dial

register = template.Library()


@register.filter
def iso(value: str | None, fmt: str = "d/m/Y H:i") -> str:
    """An ISO 8601 date or datetime string (as the JSON export holds them),
    formatted like the |date filter."""
    if not value:
        return ""
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    return date_format(parsed, fmt)


@register.filter
def phone(value: str | None) -> str:
    """A stored number as staff read it: national format for the clinic's country."""
    return badges.phone(value)


@register.filter
def dial(value: str | None) -> str:
    """A stored number for a tel: link."""
    return phone_dial(value or "")


@register.simple_tag(takes_context=True)
def nav_link_attrs(context, entry: str) -> SafeString:
    """The class of a main-menu link, and aria-current: "page" on the page it
    opens, "true" on the pages inside its section (sessions_app/navigation.py)."""
    match = getattr(context.get("request"), "resolver_match", None)
    url_name = match.url_name if match else None
    if menu_entry(url_name) != entry:
        return mark_safe('class="nav-link"')
    return format_html('class="nav-link active" aria-current="{}"', "page" if url_name == entry else "true")


@register.inclusion_tag("includes/chart.html")
def body_chart(areas, chosen=(), *, pick: bool = False, label: str = "Areas treated"):
    """The face and body chart (its shapes: includes/chart_defs.html, once on
    the page). Each zone shows the area that names it; `chosen` (area ids) are
    marked. With `pick`, a zone is a button that chooses its area (static/js/
    record.js ticks the area's box in the list beside it)."""
    chosen = {int(pk) for pk in chosen}
    by_zone = {a.chart_zone: a for a in areas if a.chart_zone}
    zones = [
        {"key": key, "area": by_zone.get(key), "on": key in by_zone and by_zone[key].pk in chosen}
        for key in CHART_ORDER
    ]
    names = [a.name for a in areas if a.pk in chosen]
    return {"zones": zones, "pick": pick, "label": label, "names": names}


@register.filter
def amount(value) -> str:
    """A ledger amount: a tenth above 10, a hundredth below, no trailing zeros; "0" for none."""
    if value is None or value == "":
        return "0"
    value = Decimal(value)
    rounded = value.quantize(Decimal("0.1")) if abs(value) >= 10 else value.quantize(Decimal("0.01"))
    text = f"{rounded.normalize():f}"
    return text if text != "-0" else "0"


@register.filter
def get_item(mapping, key):
    """mapping[key], or None."""
    return mapping.get(key) if mapping else None


@register.filter
def pair(first, second) -> tuple:
    return (first, second)


@register.filter
def is_e164(value: str | None) -> bool:
    """Whether a stored number is in the form the app writes (not one kept as typed)."""
    return is_canonical(value or "")


@register.filter
def undo_session(message) -> str:
    """The id of the session a message's "undo:<id>" tag names (a status change
    just made, which base.html offers to undo), or ""."""
    for tag in (getattr(message, "extra_tags", "") or "").split():
        name, _, pk = tag.partition(":")
        if name == "undo" and pk.isascii() and pk.isdigit():
            return pk
    return ""


@register.filter
def undoable_by(session, user) -> bool:
    """Whether `user` may undo the session's last status change now (SessionStatus.undo_refusal)."""
    return bool(user.is_authenticated and session.undo_status and session.undo_refusal(user) is None)


# A session's badges (sessions_app/badges.py writes them).


def _once_a_page(context, key: str, make):
    """`make()`, worked out once a page and kept in its render context: the
    tags below are asked a hundred times a page."""
    cache = context.render_context
    if key not in cache:
        cache[key] = make()
    return cache[key]


def _sees_reasons(context) -> bool:
    """Whether the badge may say why a session cannot go ahead: staff who may read screenings."""

    def sees() -> bool:
        perms = context.get("perms")
        return bool(perms and perms["sessions_app"]["view_screening"])

    return _once_a_page(context, "sees_reasons", sees)


@register.simple_tag
def series_position(session) -> SafeString:
    return badges.series_position(session)


@register.simple_tag
def status_badge(session) -> SafeString:
    return badges.status_badge(session)


@register.simple_tag(takes_context=True)
def clearance_badge(context, session) -> SafeString:
    return badges.clearance_badge(session, reasons=_sees_reasons(context))


@register.simple_tag
def select_options(choices, chosen=None) -> SafeString:
    """<option>s for `choices` (model instances: their pk and str), `chosen`
    selected: a chain's 160 practitioners and rooms, written in Python."""
    chosen_pk = getattr(chosen, "pk", None)
    return mark_safe(
        "".join(
            f'<option value="{esc(c.pk)}"{" selected" if c.pk == chosen_pk else ""}>{esc(c)}</option>' for c in choices
        )
    )


@register.simple_tag(takes_context=True)
def calendar_item(context, item, column) -> SafeString:
    """One block of the calendar's time grid (views/timegrid.py places it): a
    session, a free period (a link to book there) or closed hours. A busy
    day has a hundred of them: written in Python, not through the template."""
    style = f"grid-row: {item.row} / span {item.span}"
    if item.kind == "free":
        start, end = item.times
        return mark_safe(
            f'<a class="cal-free" style="{style}" href="{esc(item.url)}" data-start="{esc(start)}" '
            f'data-end="{esc(end)}"><span class="cal-free-label">{esc(item.label)}</span> '
            '<span class="cal-free-book">Book</span></a>'
        )
    if item.kind != "session":
        closed_day = " cal-closed-day" if column.closed else ""
        label = esc(item.label)
        return mark_safe(
            f'<div class="cal-closed{closed_day}" style="{style}" data-reason="{label}"><span>{label}</span></div>'
        )
    session = item.session
    movable = context.get("can_change") and session.is_movable
    start, end = item.times
    move = f' data-move-url="{esc(item.move_url)}"' if movable else ""
    return mark_safe(
        f'<article class="cal-session status-{esc(session.status)}{" cal-short" if item.short else ""}'
        f'{" cal-movable" if movable else ""}" style="{style}" data-session="{session.pk}"{move}>\n'
        f'        <a class="cal-session-link" href="{esc(item.url)}?next={esc(context.get("here", ""))}" '
        f'title="{esc(item.label)}"><span class="cal-time">{esc(start)}–{esc(end)}</span> '
        f'<span class="cal-client">{esc(session.plan.client.full_name)}</span></a>\n'
        f'        <div class="cal-meta">{badges.series_position(session)} {badges.status_badge(session)}'
        f"{badges.clearance_badge(session, reasons=_sees_reasons(context))}</div>\n"
        "      </article>"
    )


def _csrf_input(request) -> str:
    """The CSRF token's hidden input, as {% csrf_token %} writes it, for a
    form written in Python (one a page serves all its rows' forms)."""
    return f'<input type="hidden" name="csrfmiddlewaretoken" value="{esc(get_token(request))}">'


@register.simple_tag(takes_context=True)
def side_effect_row(context, effect) -> SafeString:
    """One row of the list of side effects (sessions_app/side_effect_html.py writes it)."""

    def page():
        request = context["request"]
        review = None
        if context["perms"]["sessions_app"]["change_sideeffect"]:
            review = (
                f"{_csrf_input(request)}\n"
                f'              <input type="hidden" name="next" value="{esc(request.get_full_path())}">'
            )
        urls = {
            "client": address_pattern("client_detail"),
            "detail": address_pattern("side_effect_detail"),
            "review": address_pattern("side_effect_review"),
        }
        return urls, review

    urls, review = _once_a_page(context, "side_effect_row", page)
    return side_effect_html.side_effect_row(effect, today=context["today"], urls=urls, review=review)


@register.simple_tag(takes_context=True)
def signal_row(context, dimension, row) -> SafeString:
    """One row of a table of the side-effect signal (sessions_app/side_effect_html.py writes it)."""
    separator = _once_a_page(context, "decimal_separator", lambda: get_format("DECIMAL_SEPARATOR"))
    return side_effect_html.signal_row(dimension, row, separator)


@register.simple_tag(takes_context=True)
def staff_row(context, member) -> SafeString:
    """One row of the staff page (sessions_app/table_rows.py writes it)."""
    return table_rows.staff_row(member, _once_a_page(context, "staff_url", lambda: address_pattern("staff_detail")))


@register.simple_tag(takes_context=True)
def call_row(context, call) -> SafeString:
    """One call of the call list (sessions_app/table_rows.py writes it)."""

    def page() -> table_rows.CallPage:
        return table_rows.CallPage(
            can_record=context["can_record"],
            can_record_side_effect=context["can_record_side_effect"],
            sees_side_effects=bool(context["perms"]["sessions_app"]["view_sideeffect"]),
            hidden=(
                f"{_csrf_input(context['request'])}\n"
                f'<input type="hidden" name="page" value="{esc(context["page"].number)}">'
            ),
            outcomes=context["outcomes"],
            client_url=address_pattern("client_detail"),
            side_effect_url=address_pattern("side_effect_detail"),
            outcome_url=address_pattern("call_outcome", 0, "reached"),
        )

    return table_rows.call_row(call, _once_a_page(context, "call_page", page))


@register.simple_tag
def lot_trace_row(injection) -> SafeString:
    """One row of a lot's trace (sessions_app/table_rows.py writes it)."""
    return table_rows.lot_trace_row(injection)


@register.simple_tag(takes_context=True)
def timeline_event(context, event) -> SafeString:
    """One line of the client page's timeline (sessions_app/timeline.py writes it)."""
    page = _once_a_page(
        context,
        "timeline_page",
        lambda: timeline.Page.of(
            context["request"],
            sees_injections=context["sees_injections"],
            clinical=context["clinical"],
            today=context["today"],
        ),
    )
    return timeline.timeline_event(event, page)
