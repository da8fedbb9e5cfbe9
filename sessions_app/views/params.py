"""Reading what a visitor put in an address's query string, safely: whatever
was typed or forged, the views get a clean value or nothing."""

import re
import unicodedata

from django.http import HttpRequest

_ID = re.compile(r"[0-9]{1,18}")


def text_param(request: HttpRequest, name: str = "q", max_length: int = 80) -> str:
    """Search text: control characters (NUL included, which PostgreSQL refuses
    in text) removed, spaces collapsed, at most `max_length` characters."""
    raw = request.GET.get(name, "")
    printable = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in raw)
    return " ".join(printable.split())[:max_length]


def int_param(request: HttpRequest, name: str) -> int | None:
    """An id, or None for anything else (ASCII digits only, within a bigint)."""
    raw = request.GET.get(name, "")
    return int(raw) if _ID.fullmatch(raw) else None
