"""The session record, opened from the schedule: recorded and signed once,
read-only afterwards, corrected by amendments with a reason; and its photos,
streamed only to staff allowed to see them."""

from __future__ import annotations

from pathlib import PurePath

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.db.models import Prefetch
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from sessions_app.models import (
    AccessAction,
    Injection,
    PlanStatus,
    ProductLot,
    SessionAmendment,
    SessionPhoto,
    TreatmentArea,
    TreatmentSession,
)
from sessions_app.record_forms import InjectionFormSet, SessionRecordForm, record_input
from sessions_app.services.audit import access_record
from sessions_app.services.clearance import clearance
from sessions_app.services.records import (
    INJECTION_FIELDS,
    LotContext,
    RecordRefused,
    lots_offered,
    session_record_amend,
    session_record_sign,
)
from sessions_app.services.session_status import InvalidTransition
from sessions_app.views.booking import _safe_next


def _session(pk: int) -> TreatmentSession:
    lots = Prefetch("lots", ProductLot.objects.select_related("product").order_by("product__name", "lot_number"))
    return get_object_or_404(
        TreatmentSession.objects.with_series_position()
        .select_related("plan__client", "plan__indication", "plan__mixture", "practitioner", "room", "signed_by")
        .prefetch_related(
            "plan__areas",
            Prefetch("injections", Injection.objects.select_related("area").prefetch_related(lots)),
            # "before" sorts after "after": descending puts the before photos first.
            Prefetch("photos", SessionPhoto.objects.order_by("-kind", "uploaded_at", "pk")),
            Prefetch("amendments", SessionAmendment.objects.select_related("amended_by")),
        ),
        pk=pk,
    )


def _choices(session: TreatmentSession, context: LotContext) -> tuple[list, list]:
    """The lots a row offers (the mixture's products, usable on the session's
    day, grouped by product) and the areas, both read once for every row. Lots
    and areas already on the record stay offered, so an amendment shows them."""
    recorded = list(session.injections.all())
    lots = {lot.pk: lot for lot in lots_offered(context)}
    lots |= {lot.pk: lot for i in recorded for lot in i.lots.all()}
    grouped: dict[str, list] = {}
    for lot in sorted(lots.values(), key=lambda lot: (lot.product.name, lot.expiry_date, lot.lot_number)):
        grouped.setdefault(lot.product.name, []).append((lot.pk, f"{lot.lot_number} · exp. {lot.expiry_date:%d/%m/%Y}"))
    areas = {a.pk: a for a in TreatmentArea.objects.filter(active=True)} | {i.area_id: i.area for i in recorded}
    area_choices = [("", "Choose the area")] + [(a.pk, a.name) for a in sorted(areas.values(), key=lambda a: a.name)]
    return list(grouped.items()), area_choices


def _recorded_rows(session: TreatmentSession) -> list[dict]:
    return [
        {"treated": True, "area": i.area_id, "lots": [lot.pk for lot in i.lots.all()]}
        | {name: getattr(i, name) for name in INJECTION_FIELDS}
        for i in session.injections.all()
    ]


def _new_rows(session: TreatmentSession) -> list[dict]:
    """One row per area of the plan, ticked, with the technique of the same area
    at the plan's previous session to start from; lots are always picked anew."""
    previous = (
        Injection.objects.filter(session__plan_id=session.plan_id, session__status="completed")
        .exclude(session=session)
        .order_by("area_id", "-session__starts_at")
        .values("area_id", *INJECTION_FIELDS)
    )
    last = {}
    for row in previous:
        last.setdefault(row.pop("area_id"), row)
    drafts = {row["area"]: row for row in _recorded_rows(session)}  # entered in the admin, not yet signed
    return [
        drafts.get(area.pk) or {"treated": True, "area": area.pk, **last.get(area.pk, {})}
        for area in session.plan.areas.all()
    ]


def _form_page(request, session: TreatmentSession, *, amending: bool):
    context = LotContext.of(session)
    lot_choices, area_choices = _choices(session, context)
    options = {"context": context, "lot_choices": lot_choices, "area_choices": area_choices}
    if request.method == "POST":
        form = SessionRecordForm(request.POST, request.FILES, instance=session, amending=amending)
        formset = InjectionFormSet(request.POST, prefix="areas", **options)
        if form.is_valid() and formset.is_valid():
            try:
                if amending:
                    session_record_amend(
                        session_id=session.pk,
                        record=record_input(form, formset),
                        photos=form.photos(),
                        by=request.user,
                        reason=form.cleaned_data["reason"],
                    )
                else:
                    session_record_sign(
                        session_id=session.pk, record=record_input(form, formset), photos=form.photos(), by=request.user
                    )
            except RecordRefused as exc:
                for message in exc.messages:
                    form.add_error(None, message)
            except InvalidTransition as exc:  # NotCleared too
                form.add_error(None, str(exc))
            else:
                return _saved(request, session, amending=amending)
    else:
        rows = _recorded_rows(session) if amending else _new_rows(session)
        form = SessionRecordForm(instance=session, amending=amending)
        formset = InjectionFormSet(initial=[*rows, {"treated": False}], prefix="areas", **options)
    verdict = None if amending else clearance(session)
    page = {"session": session, "form": form, "formset": formset, "amending": amending, "verdict": verdict}
    return render(request, "records/form.html", page | {"next": _safe_next(request, "")})


def _saved(request, session: TreatmentSession, *, amending: bool):
    session = TreatmentSession.objects.select_related("plan__client", "plan").get(pk=session.pk)
    if amending:
        messages.success(request, "The record is amended; the previous values are kept in its history.")
    else:
        text = f"{session.plan.client.full_name}: session completed and the record signed."
        if session.plan.status == PlanStatus.MAINTENANCE:
            due = session.plan.maintenance_due_on(session.starts_at)
            text += f" The series is complete: maintenance is due on {due:%d/%m/%Y}, not booked yet."
        messages.success(request, text)
    url = reverse("session_record", args=[session.pk])
    if next_url := _safe_next(request, ""):
        url += "?next=" + next_url
    return redirect(url)


@permission_required("sessions_app.view_injection", raise_exception=True)
@require_http_methods(["GET", "POST"])
def session_record(request, pk: int):
    """A signed record, read-only; otherwise the form that records and signs it."""
    session = _session(pk)
    if request.method == "GET":
        access_record(request, AccessAction.VIEW_RECORD, client=session.plan.client_id, detail=f"session {session.pk}")
    if session.is_signed:
        if request.method == "POST":
            messages.error(request, "This record is signed: correct it with an amendment.")
            return redirect("session_record", pk)
        page = {"session": session, "next": _safe_next(request, "")}
        return render(request, "records/signed.html", page)
    if not request.user.has_perm("sessions_app.add_injection"):
        raise Http404  # nothing to read yet, and not theirs to write
    if request.method == "GET" and (refusal := session.record_refusal):
        # Said before anyone types, not on submit (SessionStatus.record_refusal).
        page = {"session": session, "refusal": refusal, "next": _safe_next(request, "")}
        return render(request, "records/not_yet.html", page)
    return _form_page(request, session, amending=False)


@permission_required("sessions_app.change_injection", raise_exception=True)
@require_http_methods(["GET", "POST"])
def session_amend(request, pk: int):
    session = _session(pk)
    if not session.is_signed:
        messages.info(request, "This session is not signed yet: record it first.")
        return redirect("session_record", pk)
    if request.method == "GET":  # the form shows the whole signed record
        access_record(request, AccessAction.VIEW_RECORD, client=session.plan.client_id, detail=f"session {session.pk}")
    return _form_page(request, session, amending=True)


@never_cache
@permission_required("sessions_app.view_sessionphoto", raise_exception=True)
@require_GET
def session_photo(request, pk: int):
    """Streams a clinical photo to staff allowed to see it; no public URL exists."""
    photo = get_object_or_404(SessionPhoto.objects.select_related("session__plan"), pk=pk)
    access_record(request, AccessAction.VIEW_PHOTO, client=photo.session.plan.client_id, detail=f"photo {photo.pk}")
    try:
        handle = photo.image.open("rb")
    except FileNotFoundError:
        raise Http404("The photo's file is missing.") from None
    response = FileResponse(handle, content_type=photo.content_type)
    response["Content-Disposition"] = f'inline; filename="{photo.kind}-{photo.pk}{PurePath(photo.image.name).suffix}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
