"""Client search and the client page: one timeline of the whole history.

What a role sees follows its permissions: reception gets contact details, plan
progress, sessions and reminders; screening answers, injections, session notes
and side effects only for staff allowed to read clinical records.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import permission_required
from django.db.models import OuterRef, Prefetch, Q
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from sessions_app.models import (
    AccessAction,
    CheckIn,
    Client,
    Consent,
    Injection,
    PlanStatus,
    Reminder,
    Screening,
    ScreeningAnswer,
    SessionAmendment,
    SessionPhoto,
    SessionStatus,
    SideEffect,
    TreatmentArea,
    TreatmentPlan,
    TreatmentSession,
)
from sessions_app.models.expressions import SubqueryCount
from sessions_app.services.alerts import client_alerts
from sessions_app.services.audit import access_record
from sessions_app.services.clearance import ScreeningFacts, plan_clearances, screening_facts
from sessions_app.views.params import int_param, text_param

SEARCH_LIMIT = 50
# The client page shows this many of the latest sessions, and the check-ins and
# reminders of that time, unless the whole history is asked for: a loyal client's years of
# maintenance would otherwise make the page grow without end. Plans, consents,
# screenings and side effects are always shown whole (few, and what a
# practitioner must not miss).
TIMELINE_SESSIONS = 30


@permission_required("sessions_app.view_client", raise_exception=True)
@require_GET
def client_search(request):
    """Client.objects.search_first: names in any order and any part, accents and
    case ignored, a phone in any format, an email, a date of birth. Active
    clients unless archived ones are asked for. htmx asks for the results
    alone as reception types; without JavaScript the form submits."""
    query = text_param(request)
    archived = request.GET.get("archived") == "1"
    clients = []
    if query:
        found = Client.objects.all() if archived else Client.objects.active()
        clients = found.search_first(query, SEARCH_LIMIT)
    context = {"query": query, "clients": clients, "archived": archived, "limit": SEARCH_LIMIT}
    partial = request.headers.get("HX-Request") == "true" and not request.headers.get("HX-History-Restore-Request")
    return render(request, "clients/_results.html" if partial else "clients/search.html", context)


@dataclass
class Event:
    """One line of the timeline."""

    at: dt.datetime
    kind: str  # screening, consent, plan, session, side_effect, check_in, reminder
    obj: Any


def _at(day: dt.date) -> dt.datetime:
    """A date's place in the timeline: its midday."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time(12)))


def _attach_lot_labels(injections: list[Injection]) -> None:
    """Set `lot_labels` on each injection ("Hyalu Meso 1% L2501-3"), read as
    plain values in one query: a long history names hundreds of lots, and a
    model object for each lot and its product cost more than the rest of the
    page's data together."""
    labels: dict[int, list[str]] = defaultdict(list)
    if injections:
        links = Injection.lots.through.objects.filter(injection_id__in=[i.pk for i in injections])
        for injection_id, product, number in links.order_by(
            "productlot__product__name", "productlot__lot_number"
        ).values_list("injection_id", "productlot__product__name", "productlot__lot_number"):
            labels[injection_id].append(f"{product} {number}")
    for injection in injections:
        injection.lot_labels = labels[injection.pk]


def _header(client: Client, plans: list[TreatmentPlan], facts: ScreeningFacts | None):
    """What the client page's header tells at a glance: the next session
    booked, the plans under way (already loaded), the records merged into
    this one (two queries); and, for clinical staff (who are given the
    client's screening `facts`), each active plan's verdict from the one
    treatment rule (plan_clearances). What else the treatment room must not
    miss is the alerts banner (services.alerts)."""
    next_session = (
        TreatmentSession.objects.filter(
            plan__client=client, status__in=SessionStatus.MOVABLE, starts_at__gte=timezone.now()
        )
        .select_related("plan__indication", "practitioner", "room")
        .order_by("starts_at", "pk")
        .first()
    )
    active = [p for p in plans if p.status in (PlanStatus.ACTIVE, PlanStatus.MAINTENANCE)]
    header = {
        "next_session": next_session,
        "active_plans": active,
        "merged_records": list(client.merged_records.order_by("pk")),
    }
    if facts is not None:
        verdicts = plan_clearances(active, facts)
        header["verdicts"] = [(p, verdicts[p.pk]) for p in active]
    return header


@permission_required("sessions_app.view_client", raise_exception=True)
@require_GET
def client_detail(request, pk: int):
    """A fixed number of queries whatever the length of the history."""
    client = get_object_or_404(Client.objects.select_related("merged_into"), pk=pk)
    access_record(request, AccessAction.VIEW_CLIENT, client=client)
    user = request.user
    clinical = user.has_perm("sessions_app.view_screening")
    sees_injections = user.has_perm("sessions_app.view_injection")
    sees_side_effects = user.has_perm("sessions_app.view_sideeffect")

    series = TreatmentSession.objects.filter(plan=OuterRef("pk")).kept_series()
    plans = list(
        TreatmentPlan.objects.filter(client=client)
        .select_related("indication", "mixture", "practitioner")
        .prefetch_related("areas", Prefetch("consents", Consent.objects.select_related("consent_text")))
        .annotate(done=SubqueryCount(series.filter(status=SessionStatus.COMPLETED)), kept=SubqueryCount(series))
        .order_by("-created_at")
    )
    plan_id = int_param(request, "plan")
    plan = next((p for p in plans if p.pk == plan_id), None)
    area_id = int_param(request, "area")
    # Each a subquery on the client's own rows: a join ORed with the side
    # effects would read every plan's areas of the clinic.
    treated = Q(pk__in=TreatmentPlan.areas.through.objects.filter(treatmentplan__client=client).values("treatmentarea"))
    if sees_side_effects:
        # Where a side effect was (it may be outside the plans' areas).
        treated |= Q(pk__in=SideEffect.objects.filter(client=client, area__isnull=False).values("area"))
    areas = list(TreatmentArea.objects.filter(treated).order_by("name"))
    area = next((a for a in areas if a.pk == area_id), None)

    sessions = TreatmentSession.objects.filter(plan__client=client).select_related(
        "plan__indication", "practitioner", "room"
    )
    sessions = sessions.with_series_position()
    if sees_injections:
        # What the timeline says of each record; counted in the sessions query itself.
        sessions = sessions.annotate(
            photo_count=SubqueryCount(SessionPhoto.objects.filter(session=OuterRef("pk"))),
            amendment_count=SubqueryCount(SessionAmendment.objects.filter(session=OuterRef("pk"))),
        )
    if plan:
        sessions = sessions.filter(plan=plan)
    if area:
        sessions = sessions.filter(Q(injections__area=area) | Q(plan__areas=area)).distinct()
    if sees_injections:
        injections = Injection.objects.select_related("area").order_by("area__name")
        if area:
            injections = injections.filter(area=area)
        sessions = sessions.prefetch_related(Prefetch("injections", queryset=injections))
    whole = request.GET.get("all") == "1"
    sessions = list(sessions.order_by("-starts_at", "-pk")[: None if whole else TIMELINE_SESSIONS + 1])
    since = None
    if not whole and len(sessions) > TIMELINE_SESSIONS:
        sessions = sessions[:TIMELINE_SESSIONS]
        since = sessions[-1].starts_at
    if sees_injections:
        _attach_lot_labels([i for s in sessions for i in s.injections.all()])

    events = [Event(s.starts_at, "session", s) for s in sessions]
    events += [Event(p.created_at, "plan", p) for p in plans if not plan or p == plan]
    if clinical and not plan and not area:
        # The page shows the yes answers: twelve questions a screening, mostly no.
        yes = Prefetch("answers", ScreeningAnswer.objects.filter(answer=True))
        screenings = Screening.objects.filter(client=client).select_related("screened_by").prefetch_related(yes)
        events += [Event(s.screened_at, "screening", s) for s in screenings]
    for p in plans:
        if not plan or p == plan:
            events += [Event(c.signed_at, "consent", c) for c in p.consents.all()]
    if sees_side_effects:
        effects = SideEffect.objects.filter(client=client).for_client_timeline()
        if plan:
            effects = effects.filter(session__plan=plan)
        if area:
            effects = effects.filter(Q(area=area) | Q(session__injections__area=area)).distinct()
        events += [Event(_at(e.onset), "side_effect", e) for e in effects]
    if user.has_perm("sessions_app.view_checkin"):
        # The client's own answers after a session, "fine" ones included.
        check_ins = CheckIn.objects.filter(client=client).select_related("session")
        if plan:
            check_ins = check_ins.filter(session__plan=plan)
        if area:
            check_ins = check_ins.filter(
                Q(side_effect__area=area) | Q(session__injections__area=area) | Q(session__plan__areas=area)
            ).distinct()
        if since:
            check_ins = check_ins.filter(answered_at__gte=since)
        events += [Event(c.answered_at, "check_in", c) for c in check_ins]
    reminders = Reminder.objects.filter(client=client).select_related("session")
    if plan:
        reminders = reminders.filter(plan=plan)
    if since:
        # Those of the sessions' time: a reminder's place is when it went, or is due.
        reminders = reminders.filter(Q(sent_at__gte=since) | Q(sent_at__isnull=True, due_at__gte=since))
    if not area:
        events += [Event(r.sent_at or r.due_at, "reminder", r) for r in reminders]
    events.sort(key=lambda e: (e.at, e.kind), reverse=True)

    # The latest screening and the allergies, read once for the header's
    # verdicts and the alerts.
    facts = screening_facts([client.pk]) if clinical else None
    context = {
        **_header(client, plans, facts),
        "client": client,
        "alerts": client_alerts([client.pk], facts=facts)[client.pk] if clinical else None,
        "plans": plans,
        "plan": plan,
        "areas": areas,
        "area": area,
        "events": events,
        "clinical": clinical,
        "sees_injections": sees_injections,
        "sees_side_effects": sees_side_effects,
        "now": timezone.now(),
        "today": timezone.localdate(),
        "since": since,
    }
    return render(request, "clients/detail.html", context)
