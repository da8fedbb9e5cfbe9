"""What a reminder says: the placeholders a rule's template may use, and
rendering. Plain values in and out; the admin form and the worker both ask
`template_errors`, so a template the form refuses is also refused at send time.
"""

from __future__ import annotations

import string
from collections.abc import Mapping

# Every placeholder, with what it stands for (shown in the admin's help text).
PLACEHOLDERS: dict[str, str] = {
    "client_name": "the client's first and last name",
    "first_name": "the client's first name",
    "date": "the date the reminder is about (the session, the next session or maintenance due, the screening's end)",
    "time": "the session's time (upcoming session and aftercare check only)",
    "clinic": "the clinic's name",
    "practitioner": "the practitioner's name",
    "link": "the client's personal check-in page (check-in only)",
}
# Kinds whose reminder is about a date without a time of day.
_NO_TIME = {"next_session_unbooked", "maintenance_due", "screening_renewal", "side_effect_unresolved"}
# Kinds whose message carries the client's personal link.
_LINK = {"check_in"}


class TemplateError(ValueError):
    """A template uses a placeholder that does not exist, or bad braces."""


def allowed_placeholders(kind: str) -> set[str]:
    names = set(PLACEHOLDERS)
    if kind in _NO_TIME:
        names.discard("time")
    if kind not in _LINK:
        names.discard("link")
    return names


def template_errors(text: str, kind: str) -> list[str]:
    """Readable reasons the template cannot be rendered for this kind of
    reminder; empty when it can."""
    allowed = allowed_placeholders(kind)
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        return [f"The braces do not match ({exc}). Write {{{{ and }}}} for a literal brace."]
    errors = []
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if name == "":
            errors.append("An empty placeholder {} names nothing.")
        elif name not in allowed:
            known = ", ".join(f"{{{n}}}" for n in sorted(allowed))
            errors.append(f"Unknown placeholder {{{name}}}: use one of {known}.")
        elif spec or conversion:
            errors.append(f"Write {{{name}}} on its own, without a format.")
    return list(dict.fromkeys(errors))


def render(text: str, kind: str, values: Mapping[str, str]) -> str:
    """The template with its placeholders filled in; TemplateError when it
    cannot be (a placeholder unknown for this kind, bad braces)."""
    errors = template_errors(text, kind)
    if errors:
        raise TemplateError(" ".join(errors))
    return text.format_map({name: values.get(name, "") for name in allowed_placeholders(kind)})
