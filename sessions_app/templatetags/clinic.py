"""Template filters of the clinic's pages."""

import datetime as dt

from django import template
from django.conf import settings
from django.utils.dateformat import format as date_format

from sessions_app.phones import is_canonical, phone_dial, phone_display

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
    return phone_display(value or "", settings.CLINIC_PHONE_REGION)


@register.filter
def dial(value: str | None) -> str:
    """A stored number for a tel: link."""
    return phone_dial(value or "")


@register.filter
def get_item(mapping, key):
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
