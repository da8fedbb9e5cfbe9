"""What a practitioner must not miss about a client, where the treatment
happens: allergies, the conditions the last screening found (and the
physician's judgement of those calling for caution), side effects still open,
no screening on record, a screening or a consent about to run out.

One function builds them for many clients in a fixed number of queries;
templates/includes/client_alerts.html shows them as a banner (the record page,
the client page) and sessions_app/badges.py (clearance_badge) as badges (the
schedule, for clinical roles)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

from sessions_app.clearance import ABSOLUTE, CAUTION, IN_AREA, INDICATION, caution_cleared, screening_runs_out_on
from sessions_app.models import (
    ConsentText,
    Contraindication,
    PlanStatus,
    Profession,
    SessionStatus,
    SideEffect,
    SideEffectSeverity,
    TreatmentPlan,
    TreatmentSession,
)
from sessions_app.services.clearance import ScreeningFacts, annotate_clearance, screening_facts

# A screening or a consent running out within this many days is announced.
ALERT_DAYS = 30


@dataclass(frozen=True)
class Alert:
    level: str  # "danger" or "warning": the banner's colour
    kind: str  # allergy, condition, side_effect, screening, consent
    title: str  # what it is, short (the schedule's badge)
    text: str = ""  # what to know, a sentence or two
    link: str = ""  # the record it comes from (a side effect's session), when there is one


@dataclass
class ClientAlerts:
    client_id: int
    items: list[Alert] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.items)

    @property
    def danger(self) -> bool:
        return any(a.level == "danger" for a in self.items)


def _judge_name(first: str, last: str, username: str) -> str:
    return f"{first} {last}".strip() or username


def _condition(row: dict, areas: list[str]) -> Alert:
    label = Contraindication(row["question"]).label
    details = row["details"]
    severity = row["severity"]
    if severity == CAUTION:
        physician = row["judged_by__profession"] == Profession.PHYSICIAN
        if caution_cleared(judgement=row["judgement"] or "", judged_by_physician=physician):
            judge = _judge_name(row["judged_by__first_name"], row["judged_by__last_name"], row["judged_by__username"])
            when = timezone.localtime(row["judged_at"]).date()
            text = f"{details} Judged by {judge} on {when:%d/%m/%Y}: “{row['judgement']}”"
            return Alert("warning", "condition", f"Caution: {label}", text.strip())
        return Alert(
            "danger", "condition", f"Caution: {label}", f"{details} Waits for a physician's judgement.".strip()
        )
    if severity == IN_AREA:
        where = ", ".join(areas) or "the area"
        return Alert("danger", "condition", f"{label}: {where}", f"{details} No treatment there.".strip())
    if severity == INDICATION:
        return Alert("warning", "condition", label, f"{details} Rules out fat reduction.".strip())
    if severity == ABSOLUTE:
        return Alert("danger", "condition", label, f"{details} Rules treatment out.".strip())
    return Alert("warning", "condition", label, details)


def client_alerts(
    client_ids: Iterable[int], *, today: dt.date | None = None, facts: ScreeningFacts | None = None
) -> dict[int, ClientAlerts]:
    """The alerts of each client, by client id: at most seven queries
    whatever the number of clients, three when `facts` (screening_facts of
    those clients, shared with the treatment rule) are given."""
    ids = set(client_ids)
    today = today or timezone.localdate()
    alerts = {pk: ClientAlerts(pk) for pk in ids}
    if not ids:
        return alerts
    facts = screening_facts(ids, facts)

    for client_id, names in facts.allergies.items():
        if client_id in alerts:
            alerts[client_id].items.append(
                Alert("danger", "allergy", f"Allergy: {', '.join(names.values())}", "Never inject these.")
            )

    screenings = {client_id: facts.screenings[client_id] for client_id in ids & facts.screenings.keys()}
    for client_id, (screening_id, _) in screenings.items():
        for row in facts.answers.get(screening_id, ()):
            if row["answer"]:
                names = [name for _, name in facts.areas.get(row["pk"], ())]
                alerts[client_id].items.append(_condition(row, names))

    for client_id in ids - set(screenings):
        alerts[client_id].items.append(
            Alert("danger", "screening", "No screening on record", "Screen the client before any treatment.")
        )
    months = settings.CLINIC_SCREENING_MAX_AGE_MONTHS
    for client_id, (_, screened_at) in screenings.items():
        ends = screening_runs_out_on(timezone.localtime(screened_at).date(), months)
        if ends <= today:
            alerts[client_id].items.append(
                Alert("danger", "screening", "Screening out of date", f"It ran out on {ends:%d/%m/%Y}: screen again.")
            )
        elif ends <= today + dt.timedelta(days=ALERT_DAYS):
            alerts[client_id].items.append(
                Alert("warning", "screening", f"Screening ends {ends:%d/%m}", f"It runs out on {ends:%d/%m/%Y}.")
            )

    effects = (
        SideEffect.objects.open().filter(client_id__in=ids).select_related("kind").order_by("-serious", "-onset", "-pk")
    )
    for effect in effects:
        state = "not resolved" if effect.resolved_on is None else "not yet reviewed"
        level = "danger" if effect.serious or effect.severity == SideEffectSeverity.SEVERE else "warning"
        text = f"{effect.get_severity_display()}, since {effect.onset:%d/%m/%Y}, {state}."
        if effect.action_taken:
            text += f" Action: {effect.action_taken}"
        alerts[effect.client_id].items.append(Alert(level, "side_effect", f"Side effect: {effect.kind}", text))

    _consent_alerts(alerts, ids, today)
    return alerts


def _consent_alerts(alerts: dict[int, ClientAlerts], ids: set[int], today: dt.date) -> None:
    """A new consent text coming into force within ALERT_DAYS: each plan under
    way that has not signed it must, or its next session waits. One query when
    none is coming (the texts are a handful of versions)."""
    texts = list(
        ConsentText.objects.filter(effective_from__lte=today + dt.timedelta(days=ALERT_DAYS)).order_by("-version")
    )
    current = next((t for t in texts if t.effective_from <= today), None)
    later = [t for t in texts if t.effective_from > today and (current is None or t.version > current.version)]
    if not later:
        return
    upcoming = later[-1]  # the first to come into force
    plans = (
        TreatmentPlan.objects.filter(client_id__in=ids, status__in=[PlanStatus.ACTIVE, PlanStatus.MAINTENANCE])
        .exclude(consents__consent_text=upcoming)
        .select_related("indication")
    )
    for plan in plans:
        alerts[plan.client_id].items.append(
            Alert(
                "warning",
                "consent",
                f"Consent ends {upcoming.effective_from:%d/%m}",
                f"{plan.indication}: version {upcoming.version} of the consent applies from "
                f"{upcoming.effective_from:%d/%m/%Y}; the client signs it before the next session.",
            )
        )


def annotate_badges(sessions: Sequence[TreatmentSession], *, alerts: bool) -> None:
    """Set `session.clearance` (annotate_clearance) on each session and, for
    clinical roles (`alerts`, the caller decides), `session.alerts`
    (ClientAlerts) on each still ahead, for the schedule's badges: the
    clients' screenings and allergies are read once for both."""
    ahead = {s.pk for s in sessions if s.status in SessionStatus.AHEAD}
    facts = screening_facts({s.plan.client_id for s in sessions if s.pk in ahead})
    annotate_clearance(sessions, facts)
    found = client_alerts(facts.client_ids, facts=facts) if alerts else {}
    for session in sessions:
        session.alerts = found.get(session.plan.client_id) if session.pk in ahead else None
