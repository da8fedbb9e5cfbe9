"""Reception's booking pages: a whole series, a move, a re-booking, and the plan.

Each write goes: form, preview (nothing saved), confirm. The confirm step
recomputes the preview and refuses to save a schedule that differs from what the
user saw; a race lost to another booking shows "slot just taken" with the
nearest free slot, never a 500.
"""

import datetime as dt
import hashlib
from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sessions_app.booking_forms import MoveForm, SeriesForm
from sessions_app.models import Client, SessionStatus, TreatmentPlan, TreatmentSession
from sessions_app.services import maintenance, moves, series, session_status
from sessions_app.services.maintenance import Offer
from sessions_app.services.moves import NoFreeSlot
from sessions_app.services.protocols import booking_defaults_by_indication
from sessions_app.services.series import Slot
from sessions_app.services.session_status import InvalidTransition
from sessions_app.services.slots import SlotTaken
from sessions_app.views.params import int_param, text_param

# Where each of the plan's fields is typed on the booking form.
PLAN_FIELD_ON_FORM = {
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
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default


@permission_required("sessions_app.view_client", raise_exception=True)
@require_GET
def client_lookup(request):
    """Clients matching what reception typed (name or phone), as radio buttons."""
    query = text_param(request)
    clients = []
    if len(query) >= 2:
        clients = list(Client.objects.active().matching(query).order_by("last_name", "first_name")[:20])
    return render(request, "booking/client_options.html", {"clients": clients, "query": query})


@permission_required("sessions_app.add_treatmentplan", raise_exception=True)
@require_http_methods(["GET", "POST"])
def book_series(request):
    client = None
    protocols = booking_defaults_by_indication()
    if request.method == "GET":
        initial = {}
        if client_id := int_param(request, "client"):
            client = Client.objects.active().filter(pk=client_id).first()
            if client:
                initial["client"] = client.pk
        if (indication := int_param(request, "indication")) in protocols:
            initial |= {"indication": indication} | protocols[indication]
        form = SeriesForm(initial=initial, protocols=protocols)
        return render(request, "booking/book_series.html", {"form": form, "selected_client": client})

    form = SeriesForm(request.POST, protocols=protocols)
    action = request.POST.get("action", "preview")
    if not form.is_valid():
        selected = form.cleaned_data.get("client") if hasattr(form, "cleaned_data") else None
        return render(request, "booking/book_series.html", {"form": form, "selected_client": selected}, status=200)

    data = form.cleaned_data
    proposal = series.series_preview(
        practitioner=data["practitioner"],
        room=data["room"],
        first_start=form.first_start,
        count=data["sessions"],
        interval=data["interval"],
        unit=data["interval_unit"],
        duration=form.session_duration,
    )
    signature = _signature(p.start for p in proposal)
    context = {
        "form": form,
        "selected_client": data["client"],
        "proposal": proposal,
        "signature": signature,
        "complete": all(p.start for p in proposal),
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
        return _slot_taken(request, form, data, taken)
    except ValidationError as invalid:
        # The plan's own bounds: shown beside the field that was typed, never a 500.
        for field, errors in invalid.message_dict.items():
            form.add_error(PLAN_FIELD_ON_FORM.get(field), errors)
        return render(request, "booking/book_series.html", {"form": form, "selected_client": data["client"]})
    messages.success(request, f"Booked {len(proposal)} sessions for {plan.client.full_name}.")
    return redirect("plan_detail", plan.pk)


def _slot_taken(request, form, data, taken: SlotTaken):
    """Show the race lost to another booking, with the preview recomputed: the
    nearest free slot replaces the one just taken."""
    proposal = series.series_preview(
        practitioner=data["practitioner"],
        room=data["room"],
        first_start=form.first_start,
        count=data["sessions"],
        interval=data["interval"],
        unit=data["interval_unit"],
        duration=form.session_duration,
    )
    replacement = next((p.start for p in proposal if p.sequence == taken.sequence), None)
    text = f"{taken} Nothing was saved."
    if replacement:
        text += f" The nearest free slot is {timezone.localtime(replacement):%A %d %B %Y at %H:%M}."
    messages.error(request, text)
    context = {
        "form": form,
        "selected_client": data["client"],
        "proposal": proposal,
        "signature": _signature(p.start for p in proposal),
        "complete": all(p.start for p in proposal),
    }
    return render(request, "booking/book_series.html", context, status=409)


@permission_required("sessions_app.change_treatmentsession", raise_exception=True)
@require_POST
def session_action(request, pk: int, action: str):
    session = get_object_or_404(TreatmentSession.objects.select_related("plan__client"), pk=pk)
    back = _safe_next(request, reverse("schedule"))
    try:
        session_status.session_set_status(session_id=session.pk, action=action)
    except InvalidTransition as exc:
        messages.error(request, str(exc))
        return redirect(back)
    session.refresh_from_db()
    session.plan.refresh_from_db(fields=["status"])
    when = timezone.localtime(session.starts_at)
    text = f"{session.plan.client.full_name}, {when:%d/%m %H:%M}: {session.get_status_display().lower()}."
    if session.status in SessionStatus.NOT_KEPT and series.series_shortfall(session.plan):
        messages.warning(request, text + " The series is now one session short.")
        return redirect(reverse("plan_rebook", args=[session.plan_id]) + "?" + urlencode({"next": back}))
    messages.success(request, text)
    return redirect(back)


@permission_required("sessions_app.change_treatmentsession", raise_exception=True)
@require_http_methods(["GET", "POST"])
def session_move(request, pk: int):
    session = get_object_or_404(TreatmentSession.objects.for_schedule(), pk=pk)
    back = _safe_next(request, reverse("schedule") + f"?date={timezone.localtime(session.starts_at):%Y-%m-%d}")
    if session.status not in SessionStatus.MOVABLE:
        messages.error(request, f"A {session.get_status_display().lower()} session cannot be moved.")
        return redirect(back)
    if request.method == "GET":
        local = timezone.localtime(session.starts_at)
        form = MoveForm(initial={"new_date": local.date(), "new_time": local.time().replace(second=0)})
        return render(request, "booking/move.html", {"form": form, "session": session, "next": back})

    form = MoveForm(request.POST)
    context = {"form": form, "session": session, "next": back}
    if not form.is_valid():
        return render(request, "booking/move.html", context)
    try:
        planned, left = moves.move_preview(
            session=session, new_start=form.new_start, shift_later=form.cleaned_data["shift_later"]
        )
    except (NoFreeSlot, InvalidTransition) as exc:
        form.add_error("new_date", str(exc))
        return render(request, "booking/move.html", context)
    signature = _signature(m.start for m in planned)
    context |= {"moves": planned, "left": left, "signature": signature}
    if request.POST.get("action") != "confirm":
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
