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
