"""One side effect as the authorities' pharmacovigilance forms ask for it
(reporter, patient, suspected product and lot, dates, reaction, seriousness,
outcome), in plain values: the printable page, the JSON and the CSV are all
this one report."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from sessions_app.models import Injection, SideEffect, SideEffectStatus

# Outcome as ICH E2B names it.
OUTCOMES = {
    SideEffectStatus.RESOLVED: "Recovered/resolved",
    SideEffectStatus.IMPROVING: "Recovering/resolving",
    SideEffectStatus.OPEN: "Not recovered/not resolved",
}


def for_report():
    """A side effect with everything the report names, in one query."""
    return SideEffect.objects.select_related(
        "client",
        "kind",
        "area",
        "suspected_product",
        "suspected_substance",
        "session__plan__mixture",
        "session__practitioner",
        "recorded_by",
        "reviewed_by",
    )


def initials(first_name: str, last_name: str) -> str:
    """ "C.D." for Camille Durand, "J.-P.L.G." for Jean-Pierre Le Goff."""

    def of(name: str) -> str:
        parts = []
        for word in name.replace("-", " - ").split():
            parts.append("-" if word == "-" else word[0].upper() + ".")
        return "".join(parts)

    return of(first_name) + of(last_name)


def age_on(born: dt.date, day: dt.date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _lots(effect: SideEffect) -> list[dict[str, str]]:
    """The lots injected in the session (in the side effect's area when it
    says one), the suspected product's first: product, lot number, expiry."""
    if effect.session_id is None:
        return []
    injections = Injection.lots.through.objects.filter(injection__session_id=effect.session_id)
    if effect.area_id:
        injections = injections.filter(injection__area_id=effect.area_id)
    rows = injections.values_list(
        "productlot__product_id", "productlot__product__name", "productlot__lot_number", "productlot__expiry_date"
    ).distinct()
    lots = sorted(set(rows), key=lambda r: (r[0] != effect.suspected_product_id, r[1], r[2]))
    return [{"product": name, "lot": number, "expiry": f"{expiry:%Y-%m-%d}"} for _, name, number, expiry in lots]


def pharmacovigilance_report(effect: SideEffect) -> dict:
    """The report's fields, in the order the forms ask them. Needs the side
    effect from `for_report()`; one more query for the lots."""
    client, session = effect.client, effect.session
    reporter = effect.reviewed_by or effect.recorded_by or (session.practitioner if session else None)
    lots = _lots(effect)
    products = [effect.suspected_product.name] if effect.suspected_product else sorted({lot["product"] for lot in lots})
    treated = timezone.localtime(session.starts_at).date() if session else None
    return {
        "report": {
            "clinic": settings.CLINIC_NAME,
            "side_effect_id": effect.pk,
            "prepared_on": f"{timezone.localdate():%Y-%m-%d}",
            "source": effect.get_source_display(),
        },
        "reporter": {
            "name": str(reporter) if reporter else "",
            "profession": reporter.get_profession_display() if reporter and reporter.profession else "",
            "registration_number": reporter.registration_number if reporter else "",
        },
        "patient": {
            "initials": initials(client.first_name, client.last_name),
            "age_at_onset": age_on(client.date_of_birth, effect.onset),
            "sex": client.get_sex_display() if client.sex else "Not recorded",
        },
        "suspected": {
            "products": products,
            "substance": effect.suspected_substance.name if effect.suspected_substance else "",
            "lots": lots,
            "mixture": session.plan.mixture.name if session else "",
        },
        "dates": {
            "treatment": f"{treated:%Y-%m-%d}" if treated else "",
            "onset": f"{effect.onset:%Y-%m-%d}",
            "resolved": f"{effect.resolved_on:%Y-%m-%d}" if effect.resolved_on else "",
        },
        "reaction": {
            "kind": effect.kind.name,
            "area": effect.area.name if effect.area else "",
            "severity": effect.get_severity_display(),
            "description": effect.notes,
            "action_taken": effect.action_taken,
        },
        "seriousness": "Serious" if effect.serious else "Not serious",
        "outcome": OUTCOMES[SideEffectStatus(effect.status)],
    }


def report_rows(report: dict) -> list[tuple[str, str]]:
    """The report as (field, value) pairs, for the CSV and the printable page."""
    rows: list[tuple[str, str]] = []
    for section, values in report.items():
        if not isinstance(values, dict):
            rows.append((section, str(values)))
            continue
        for name, value in values.items():
            if name == "lots":
                text = "; ".join(f"{lot['product']} lot {lot['lot']} (exp. {lot['expiry']})" for lot in value)
            elif isinstance(value, list):
                text = ", ".join(value)
            else:
                text = str(value)
            rows.append((f"{section}.{name}", text))
    return rows
