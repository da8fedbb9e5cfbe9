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


def parse_int(raw: str | None) -> int | None:
    """A whole number from ASCII digits within a bigint, or None for anything
    else ("²" and "٣" pass str.isdigit() but are not ids; 5,000 digits make
    int() raise)."""
    return int(raw) if raw and _ID.fullmatch(raw) else None


def int_param(request: HttpRequest, name: str) -> int | None:
    """An id from the query string, or None for anything else."""
    return parse_int(request.GET.get(name))
