"""Reception's booking pages: a whole series, a move, a re-booking, and the plan.

Each write goes: form, preview (nothing saved), confirm. The confirm step
recomputes the preview and refuses to save a schedule that differs from what the
user saw; a race lost to another booking shows "slot just taken" with the
nearest free slot, never a 500.
"""

import datetime as dt
import hashlib
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_GET, require_http_methods

from sessions_app.booking_forms import SLOT_OPTIONS, MoveForm, SeriesForm, chosen_slots
from sessions_app.models import Client, SessionStatus, TreatmentPlan, TreatmentSession
from sessions_app.scheduling import bookable_until
from sessions_app.services import maintenance, moves, series
from sessions_app.services.maintenance import Offer
from sessions_app.services.moves import NoFreeSlot
from sessions_app.services.protocols import booking_defaults_by_indication
from sessions_app.services.series import Slot
from sessions_app.services.session_status import InvalidTransition
from sessions_app.services.slots import SlotTaken, free_to_book
from sessions_app.views.params import int_param, text_param

# Where each of the plan's fields is typed on the booking form.
PLAN_FIELD_ON_FORM = {
    "client": "client",
    "interval_days": "interval",
    "maintenance_interval_days": "maintenance_interval_days",
    "sessions_planned": "sessions",
    "notes": "notes",
}


def _signature(values) -> str:
    """A short fingerprint of a proposed schedule, carried from preview to confirm."""
    text = "|".join(v.isoformat() if isinstance(v, dt.datetime) else "-" if v is None else str(v) for v in values)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _safe_next(request, default: str) -> str:
    """The page to go back to, when it is a page of this site ("/..."), else
    `default`: a bare word would be taken for a view's name by redirect()."""
    target = request.POST.get("next") or request.GET.get("next")
    if (
        target
        and target.startswith("/")
        and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure())
    ):
        return target
    return default


@permission_required("sessions_app.view_client", raise_exception=True)
@require_GET
def client_lookup(request):
    """Clients matching what reception typed (the client search's own rule:
    Client.objects.search), as radio buttons, and "+ New client" when none is the one."""
    query = text_param(request)
    clients = []
    if len(query) >= 2:
        clients = Client.objects.active().search_first(query, 20)
    return render(request, "booking/client_options.html", {"clients": clients, "query": query})


def _calendar_initial(request) -> tuple[dict, dict | None]:
    """What a free slot clicked on the calendar fills in: its date and time, its
    practitioner or room, and for the one it does not say the first free then;
    and the words saying so. Nothing when the query names no date and time."""
    try:
        day = dt.date.fromisoformat(request.GET.get("date", ""))
        time = dt.time.fromisoformat(request.GET.get("time", ""))
    except ValueError:
        return {}, None
    if not timezone.localdate() <= day <= bookable_until(timezone.localdate()):
        return {}, None  # not a slot the calendar offers (and year 9999 would overflow below)
    start = timezone.make_aware(dt.datetime.combine(day, time))
    people, rooms = free_to_book(start=start, end=start + dt.timedelta(minutes=settings.CLINIC_SESSION_MINUTES))
    # The column's own practitioner or room is kept even if booked meanwhile
    # (the preview will say so); the other is the first free one.
    named_practitioner, named_room = int_param(request, "practitioner"), int_param(request, "room")
    practitioner = next((p for p in people if p.pk == named_practitioner), None) if named_practitioner else None
    room = next((r for r in rooms if r.pk == named_room), None) if named_room else None
    practitioner = practitioner or (None if named_practitioner else next(iter(people), None))
    room = room or (None if named_room else next(iter(rooms), None))
    initial = {"first_date": day, "first_time": time}
    if named_practitioner or practitioner:
        initial["practitioner"] = named_practitioner or practitioner.pk
    if named_room or room:
        initial["room"] = named_room or room.pk
    if (sessions := int_param(request, "sessions")) and 1 <= sessions <= settings.CLINIC_MAX_SERIES_SESSIONS:
        initial["sessions"] = sessions
    slot = {"start": start, "practitioner": practitioner, "room": room, "single": initial.get("sessions") == 1}
    slot["series_url"] = "?" + urlencode({k: v for k, v in request.GET.items() if k != "sessions"})
    slot["single_url"] = slot["series_url"] + "&sessions=1"
    return initial, slot


@permission_required("sessions_app.add_treatmentplan", raise_exception=True)
@require_http_methods(["GET", "POST"])
def book_series(request):
    """Book a series: the form, then the preview of every session (each moved
    off clashes with its reason, each open to another choice of slot), then
    one confirm that books them all or nothing."""
    client = None
    protocols = booking_defaults_by_indication()
    if request.method == "GET":
        initial, slot = _calendar_initial(request)
        if client_id := int_param(request, "client"):
            client = Client.objects.active().filter(pk=client_id).first()
            if client:
                initial["client"] = client.pk
        if (indication := int_param(request, "indication")) in protocols:
            initial |= {"indication": indication} | protocols[indication]
        form = SeriesForm(initial=initial, protocols=protocols)
        context = {"form": form, "selected_client": client, "from_calendar": slot}
        return render(request, "booking/book_series.html", context)

    form = SeriesForm(request.POST, protocols=protocols)
    action = request.POST.get("action", "preview")
    if not form.is_valid():
        selected = form.cleaned_data.get("client") if hasattr(form, "cleaned_data") else None
        return render(request, "booking/book_series.html", {"form": form, "selected_client": selected}, status=200)

    data = form.cleaned_data
    pins, slot_errors = chosen_slots(request.POST, data["sessions"])
    proposal = _series_preview(form, pins)
    signature = _signature(v for p in proposal for v in (p.start, p.refused))
    context = {
        "form": form,
        "selected_client": data["client"],
        "proposal": proposal,
        "slot_errors": slot_errors,
        "signature": signature,
        "complete": all(p.bookable for p in proposal) and not slot_errors,
    }
    if action != "confirm":
        return render(request, "booking/book_series.html", context)

    if request.POST.get("signature") != signature:
        messages.warning(request, "The schedule changed since your preview. Check the new dates, then confirm again.")
        return render(request, "booking/book_series.html", context)
    if not context["complete"]:
        messages.error(request, "Some sessions have no free slot: change the dates or the practitioner.")
        return render(request, "booking/book_series.html", context)
    try:
        plan = series.plan_book(
            client=data["client"],
            indication=data["indication"],
            areas=list(data["areas"]),
            mixture=data["mixture"],
            practitioner=data["practitioner"],
            room=data["room"],
            interval_days=form.interval_days,
            maintenance_interval_days=data["maintenance_interval_days"],
            slots=[Slot(p.start, p.end) for p in proposal],
            notes=data["notes"],
        )
    except SlotTaken as taken:
        return _slot_taken(request, form, data, taken, pins)
    except ValidationError as invalid:
        # The plan's own bounds: shown beside the field that was typed, never a 500.
        for field, errors in invalid.message_dict.items():
            form.add_error(PLAN_FIELD_ON_FORM.get(field), errors)
        return render(request, "booking/book_series.html", {"form": form, "selected_client": data["client"]})
    messages.success(request, f"Booked {len(proposal)} sessions for {plan.client.full_name}.")
    return redirect("plan_detail", plan.pk)


def _series_preview(form: SeriesForm, pins: dict) -> list:
    data = form.cleaned_data
    return series.series_preview(
        practitioner=data["practitioner"],
        room=data["room"],
        first_start=form.first_start,
        count=data["sessions"],
        interval=data["interval"],
        unit=data["interval_unit"],
        duration=form.session_duration,
        pinned=pins,
        options=SLOT_OPTIONS,
    )


def _slot_taken(request, form, data, taken: SlotTaken, pins: dict):
    """Show the race lost to another booking, with the preview recomputed: the
    nearest free slot replaces the one just taken (unless reception chose it,
    when the row says it is taken)."""
    proposal = _series_preview(form, pins)
    replacement = next((p.start for p in proposal if p.sequence == taken.sequence and p.bookable), None)
    text = f"{taken} Nothing was saved."
    if replacement:
        text += f" The nearest free slot is {timezone.localtime(replacement):%A %d %B %Y at %H:%M}."
    messages.error(request, text)
    context = {
        "form": form,
        "selected_client": data["client"],
        "proposal": proposal,
        "signature": _signature(v for p in proposal for v in (p.start, p.refused)),
        "complete": all(p.bookable for p in proposal),
    }
    return render(request, "booking/book_series.html", context, status=409)


@permission_required("sessions_app.change_treatmentsession", raise_exception=True)
@require_http_methods(["GET", "POST"])
def session_move(request, pk: int):
    """The move form, filled with where the session is now; or, for a session
    dropped on the calendar (GET with new_date and new_time), the preview of
    the move there at once. Confirm saves exactly what the preview showed."""
    session = get_object_or_404(TreatmentSession.objects.for_schedule(), pk=pk)
    back = _safe_next(request, reverse("schedule") + f"?date={timezone.localtime(session.starts_at):%Y-%m-%d}")
    if not session.is_movable:
        messages.error(request, f"A {session.get_status_display().lower()} session cannot be moved.")
        return redirect(back)
    dropped = request.method == "GET" and "new_date" in request.GET
    if request.method == "GET" and not dropped:
        context = {"form": MoveForm.filled(session), "session": session, "next": back}
        return render(request, "booking/move.html", context)

    form = MoveForm.dropped(session, request.GET) if dropped else MoveForm(request.POST)
    context = {"form": form, "session": session, "next": back, "dropped": dropped}
    if not form.is_valid():
        return render(request, "booking/move.html", context)
    data = form.cleaned_data
    practitioner, room = data["practitioner"] or session.practitioner, data["room"] or session.room
    try:
        planned, left = moves.move_preview(
            session=session,
            new_start=form.new_start,
            shift_later=data["shift_later"],
            practitioner=practitioner,
            room=room,
        )
    except (NoFreeSlot, InvalidTransition) as exc:
        form.add_error("new_date", str(exc))
        return render(request, "booking/move.html", context)
    signature = _signature(v for m in planned for v in (m.start, m.practitioner_id, m.room_id))
    context |= {
        "moves": planned,
        "left": left,
        "signature": signature,
        "practitioner": practitioner,
        "room": room,
        "wanted": form.new_start,
    }
    if request.method == "GET" or request.POST.get("action") != "confirm":
        return render(request, "booking/move.html", context)
    if request.POST.get("signature") != signature:
        messages.warning(request, "The schedule changed since your preview. Check the new dates, then confirm again.")
        return render(request, "booking/move.html", context)
    try:
        moves.session_move(moves=planned)
    except SlotTaken as taken:
        messages.error(request, f"{taken} Nothing was moved; choose another time.")
        return render(request, "booking/move.html", context, status=409)
    messages.success(
        request, f"Moved {len(planned)} session{'s' if len(planned) > 1 else ''} of {session.plan.client.full_name}."
    )
    return redirect(back)


@permission_required("sessions_app.add_treatmentsession", raise_exception=True)
@require_http_methods(["GET", "POST"])
def plan_rebook(request, pk: int):
    """Re-book, at the end of the series, the session a no-show or cancellation cost."""
    nothing = "The series is complete: nothing to re-book."
    return _book_offer(
        request, pk, maintenance.rebook_at_end_preview, maintenance.session_rebook_at_end, "rebook", nothing
    )


@permission_required("sessions_app.add_treatmentsession", raise_exception=True)
@require_http_methods(["GET", "POST"])
def plan_maintenance(request, pk: int):
    """Book the plan's next maintenance session, near its due date."""
    nothing = "No maintenance session is due: it is booked already, or the series is not finished."
    return _book_offer(
        request, pk, maintenance.maintenance_preview, maintenance.session_book_maintenance, "maintenance", nothing
    )


def _book_offer(request, pk: int, preview: Callable, book: Callable, template: str, nothing: str):
    """One proposed session for plan `pk`: GET shows `preview`'s offer (or
    `nothing`), POST books with `book` exactly what was shown (the signature
    covers the slot, the practitioner and the room)."""
    plan = get_object_or_404(TreatmentPlan.objects.select_related("client", "indication"), pk=pk)
    offer: Offer | None = preview(plan)
    template = f"booking/{template}.html"
    back = _safe_next(request, reverse("plan_detail", args=[plan.pk]))
    if offer is None:
        messages.info(request, nothing)
        return redirect(back)
    proposal = offer.proposal
    signature = _signature([proposal.start, offer.practitioner.pk, offer.room.pk])
    context = {
        "plan": plan,
        "offer": offer,
        "proposal": proposal,
        "signature": signature,
        "next": back,
        "today": timezone.localdate(),
    }
    if request.method == "GET":
        return render(request, template, context)
    if request.POST.get("signature") != signature or proposal.start is None:
        messages.warning(request, "The free slots changed since your preview. Check the new date, then confirm.")
        return render(request, template, context)
    try:
        book(plan=plan, start=proposal.start, end=proposal.end, practitioner=offer.practitioner, room=offer.room)
    except (SlotTaken, InvalidTransition) as exc:
        messages.error(request, f"{exc} Nothing was saved.")
        return redirect(back)
    messages.success(request, f"Booked {offer.title} on {timezone.localtime(proposal.start):%A %d %B %Y at %H:%M}.")
    return redirect(back)


@permission_required("sessions_app.view_treatmentplan", raise_exception=True)
@require_GET
def plan_detail(request, pk: int):
    plan = get_object_or_404(
        TreatmentPlan.objects.select_related("client", "indication", "mixture", "practitioner").prefetch_related(
            "areas"
        ),
        pk=pk,
    )
    sessions = list(plan.sessions.for_schedule().order_by("starts_at"))
    kept = [s for s in sessions if s.counts_in_series]
    done = sum(1 for s in kept if s.status == SessionStatus.COMPLETED)
    context = {
        "plan": plan,
        "sessions": sessions,
        "done": done,
        "shortfall": max(0, plan.sessions_planned - len(kept)),
        "maintenance_due": maintenance.maintenance_due(plan, sessions),
        "next_session": next(
            (s for s in sessions if s.starts_at > timezone.now() and s.status in SessionStatus.MOVABLE), None
        ),
    }
    return TemplateResponse(request, "booking/plan_detail.html", context)
