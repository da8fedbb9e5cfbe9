"""The main menu's sections: which entry each page belongs to, so that the
menu marks its entry current on the pages inside it too (a client's page
under Clients, the signal and a side effect's page under Side effects)."""

from __future__ import annotations

# Each menu entry, by the url name it opens, and the pages inside it.
SECTIONS: dict[str, tuple[str, ...]] = {
    "dashboard": ("reminders_due",),
    "schedule": ("session_detail", "session_move", "session_record", "session_amend"),
    "client_search": (
        "client_new",
        "client_detail",
        "client_edit",
        "client_merge",
        "client_export",
        "client_erase",
        "screening_new",
        "screening_judge",
        "consent_new",
        "plan_detail",
    ),
    "book_series": ("plan_rebook", "plan_maintenance"),
    "call_list": (),
    "side_effect_list": (
        "side_effect_new",
        "side_effect_signal",
        "side_effect_detail",
        "side_effect_edit",
        "side_effect_report",
    ),
    "lot_search": ("lot_trace",),
    "reports": ("reports_section",),
    "calendar_settings": (),
    "staff_list": ("staff_add", "staff_detail"),
}
_ENTRY_OF = {page: entry for entry, pages in SECTIONS.items() for page in (entry, *pages)}


def menu_entry(url_name: str | None) -> str | None:
    """The menu entry (its url name) of the page named `url_name`, if any."""
    return _ENTRY_OF.get(url_name or "")
