"""Side effects: recorded from a session or later (a follow-up call, the
client's check-in), followed up until resolved, reviewed, reported to the
authorities; the list with its filters, and the signal across clients."""

from __future__ import annotations

import io
import json
from pathlib import PurePath

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Prefetch
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sessions_app.models import (
    AccessAction,
    Client,
    Injection,
    Mixture,
    SideEffect,
    SideEffectFollowUp,
    SideEffectKind,
    SideEffectStatus,
    TreatmentArea,
    User,
)
from sessions_app.models.expressions import attach_related
from sessions_app.models.side_effects import REVIEW_ORDER
from sessions_app.services.audit import access_record, access_record_many
from sessions_app.services.pv_report import for_report, pharmacovigilance_report, report_rows
from sessions_app.services.side_effects import (
    EDITABLE,
    AlreadyReviewed,
    SideEffectRefused,
    allergy_to_offer,
    client_allergy_from_side_effect,
    side_effect_follow_up,
    side_effect_record,
    side_effect_review,
    side_effect_update,
)
from sessions_app.services.signal import Period, signal_for
from sessions_app.side_effect_forms import (
    FollowUpForm,
    PeriodForm,
    SideEffectEditForm,
    SideEffectFilterForm,
    SideEffectForm,
)
from sessions_app.spreadsheet import csv_writer
from sessions_app.views.booking import _safe_next
from sessions_app.views.params import int_param

PAGE_SIZE = 25
# The rows each table of the signal opens with (all of them on asking).
SIGNAL_ROWS = 20


@permission_required("sessions_app.add_sideeffect", raise_exception=True)
@require_http_methods(["GET", "POST"])
def side_effect_new(request, client_pk: int):
    client = get_object_or_404(Client, pk=client_pk)
    back = _safe_next(request, reverse("side_effect_list"))
    if request.method == "POST":
        form = SideEffectForm(request.POST, client=client)
        if form.is_valid():
            try:
                effect = side_effect_record(client=client, recorded_by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                _to_form(form, exc)
            else:
                messages.success(
                    request,
                    f"Recorded {effect.kind} ({effect.get_severity_display().lower()}) for {client.full_name}.",
                )
                return redirect(back)
    else:
        initial = {}
        if session_id := int_param(request, "session"):
            initial["session"] = session_id
        form = SideEffectForm(initial=initial, client=client)
    return render(request, "side_effects/form.html", {"form": form, "client": client, "next": back})


def _to_form(form, exc: ValidationError) -> None:
    """A service's refusal, beside the field it names (or at the top)."""
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def _filtered(filters: dict):
    """The side effects the list's filters ask for, serious ones first, then
    those not yet reviewed, the most recent first."""
    # The rest the list shows is attached to its page (side_effect_list): joined here,
    # eight tables made the query slow to plan (12 ms, for 1 ms of work).
    effects = SideEffect.objects.select_related("client", "session__plan")
    status = filters.get("status", "open")
    today = timezone.localdate()
    if status == "open":
        effects = effects.open()
    elif status == "review":
        effects = effects.filter(reviewed_at__isnull=True)
    elif status == "unresolved":
        effects = effects.filter(resolved_on__isnull=True)
    elif status == "overdue":
        effects = effects.filter(resolved_on__isnull=True, expected_resolution_on__lt=today)
    elif status in SideEffectStatus.values:
        effects = effects.filter(status=status)
    if "severity" in filters:
        effects = effects.filter(severity=filters["severity"])
    if "kind" in filters:
        effects = effects.filter(kind=filters["kind"])
    if "practitioner" in filters:
        effects = effects.filter(session__practitioner=filters["practitioner"])
    if "mixture" in filters:
        effects = effects.filter(session__plan__mixture=filters["mixture"])
    if "lot" in filters:
        used = Injection.lots.through.objects.filter(
            injection__session=OuterRef("session"), productlot__lot_number__iexact=filters["lot"]
        )
        effects = effects.filter(Exists(used))
    if "onset_from" in filters:
        effects = effects.filter(onset__gte=filters["onset_from"])
    if "onset_to" in filters:
        effects = effects.filter(onset__lte=filters["onset_to"])
    return effects.order_by(*REVIEW_ORDER)


@permission_required("sessions_app.view_sideeffect", raise_exception=True)
@require_GET
def side_effect_list(request):
    """Side effects, open ones by default, filtered; a page at a time: a fixed
    number of queries whatever their number."""
    form = SideEffectFilterForm(request.GET or None)
    filters = form.filters()
    page = Paginator(_filtered(filters), PAGE_SIZE).get_page(request.GET.get("page"))
    shown = list(page.object_list)
    attach_related(shown, User.objects.all(), "session.practitioner", "reviewed_by")
    attach_related(shown, SideEffectKind.objects.all(), "kind")
    attach_related(shown, TreatmentArea.objects.all(), "area")
    attach_related(shown, Mixture.objects.all(), "session.plan.mixture")
    access_record_many(request, AccessAction.VIEW_LIST, client_ids=[e.client_id for e in shown], detail="side effects")
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "effects": shown,
        "form": form,
        "filtered": bool(set(filters) - {"status"}) or filters.get("status", "open") != "open",
        "status": filters.get("status", "open"),
        "query": query.urlencode(),
        "today": timezone.localdate(),
    }
    return render(request, "side_effects/list.html", context)


def _detail(pk: int) -> SideEffect:
    return get_object_or_404(
        for_report().prefetch_related(
            Prefetch("follow_ups", SideEffectFollowUp.objects.select_related("recorded_by").order_by("at", "pk")),
            "client__allergies",
        ),
        pk=pk,
    )


def _changes(effect: SideEffect) -> list[dict]:
    """The side effect's history as who changed what, the newest first: its
    history rows compared two by two, in Python (one query)."""
    records = list(effect.history.select_related("history_user").order_by("history_date", "history_id"))
    labels = {f.name: f.verbose_name for f in SideEffect._meta.fields}
    changes = []
    for before, after in zip(records, records[1:], strict=False):
        delta = after.diff_against(before)
        lines = []
        for change in delta.changes:
            field = SideEffect._meta.get_field(change.field)
            label = str(labels.get(change.field, change.field)).capitalize()
            if field.is_relation:
                lines.append(f"{label} changed")
            else:
                choices = dict(field.choices or ())
                old, new = choices.get(change.old, change.old), choices.get(change.new, change.new)
                lines.append(
                    f"{label}: {old if old not in (None, '') else '—'} → {new if new not in (None, '') else '—'}"
                )
        if lines or after.history_change_reason:
            changes.append(
                {
                    "at": after.history_date,
                    "by": after.history_user,
                    "reason": after.history_change_reason,
                    "lines": lines,
                }
            )
    changes.reverse()
    return changes


@permission_required("sessions_app.view_sideeffect", raise_exception=True)
@require_GET
def side_effect_detail(request, pk: int):
    return _detail_page(request, pk)


def _detail_page(request, pk: int, form: FollowUpForm | None = None):
    """The side effect, its course with the follow-up form, its history; a
    fixed number of queries whatever the length of its course."""
    effect = _detail(pk)
    access_record(request, AccessAction.VIEW_RECORD, client=effect.client_id, detail=f"side effect {effect.pk}")
    allergies = [s.pk for s in effect.client.allergies.all()]
    context = {
        "effect": effect,
        "follow_ups": list(effect.follow_ups.all()),
        "form": form or FollowUpForm(side_effect=effect),
        "allergy": allergy_to_offer(effect, allergies),
        "allergy_recorded": effect.suspected_substance_id in allergies,
        "changes": _changes(effect),
        "overdue": effect.overdue_on(timezone.localdate()),
        "can_change": request.user.has_perm("sessions_app.change_sideeffect"),
        "can_add_allergy": request.user.has_perm("sessions_app.change_client"),
    }
    return render(request, "side_effects/detail.html", context)


@permission_required("sessions_app.add_sideeffectfollowup", raise_exception=True)
@require_POST
def side_effect_follow_up_add(request, pk: int):
    effect = get_object_or_404(SideEffect, pk=pk)
    form = FollowUpForm(request.POST, request.FILES, side_effect=effect)
    if form.is_valid():
        data = form.cleaned_data
        try:
            entry = side_effect_follow_up(
                side_effect_id=effect.pk,
                by=request.user,
                note=data["note"],
                severity=data["severity"],
                status=data["status"],
                resolved_on=data.get("resolved_on"),
                photo=data.get("photo"),
            )
        except SideEffectRefused as exc:
            form.add_error(None, str(exc))
        except ValidationError as exc:
            _to_form(form, exc)
        else:
            change = f", now {entry.get_status_display().lower()}" if entry.status_changed else ""
            messages.success(request, f"Added to the course{change}.")
            return redirect("side_effect_detail", effect.pk)
    return _detail_page(request, effect.pk, form=form)


@permission_required("sessions_app.change_sideeffect", raise_exception=True)
@require_http_methods(["GET", "POST"])
def side_effect_edit(request, pk: int):
    effect = get_object_or_404(SideEffect.objects.select_related("client", "kind"), pk=pk)
    form = SideEffectEditForm(request.POST or None, instance=effect)
    if request.method == "POST" and form.is_valid():
        changes = {name: form.cleaned_data[name] for name in EDITABLE if name in form.changed_data}
        if not changes:
            messages.info(request, "Nothing was changed.")
            return redirect("side_effect_detail", pk)
        try:
            side_effect_update(side_effect_id=pk, by=request.user, **changes)
        except ValidationError as exc:
            _to_form(form, exc)
        else:
            messages.success(request, "Saved; the history keeps what it was.")
            return redirect("side_effect_detail", pk)
    return render(request, "side_effects/edit.html", {"form": form, "effect": effect})


@permission_required("sessions_app.change_sideeffect", raise_exception=True)
@require_POST
def side_effect_mark_reviewed(request, pk: int):
    effect = get_object_or_404(SideEffect.objects.select_related("client", "kind"), pk=pk)
    try:
        side_effect_review(side_effect_id=effect.pk, reviewer=request.user)
    except AlreadyReviewed as exc:
        messages.info(request, str(exc))
    else:
        messages.success(request, f"Reviewed: {effect.kind} of {effect.client.full_name}.")
    return redirect(_safe_next(request, reverse("side_effect_list")))


@permission_required("sessions_app.change_client", raise_exception=True)
@permission_required("sessions_app.change_sideeffect", raise_exception=True)
@require_POST
def side_effect_add_allergy(request, pk: int):
    """The allergy loop: one click adds the suspected substance of a reviewed
    allergic reaction to the client's allergies."""
    effect = get_object_or_404(SideEffect.objects.select_related("client"), pk=pk)
    try:
        substance = client_allergy_from_side_effect(side_effect_id=effect.pk, by=request.user)
    except SideEffectRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            f"Allergy to {substance} added to {effect.client.full_name}'s record: mixtures and lots that hold it "
            "are now refused.",
        )
    return redirect("side_effect_detail", pk)


@never_cache
@permission_required("sessions_app.view_sideeffect", raise_exception=True)
@require_GET
def side_effect_photo(request, pk: int):
    """Streams a follow-up's photo to staff allowed to see side effects; no public URL exists."""
    entry = get_object_or_404(SideEffectFollowUp.objects.select_related("side_effect").exclude(photo=""), pk=pk)
    access_record(
        request, AccessAction.VIEW_PHOTO, client=entry.side_effect.client_id, detail=f"side-effect photo {pk}"
    )
    try:
        handle = entry.photo.open("rb")
    except FileNotFoundError:
        raise Http404("The photo's file is missing.") from None
    response = FileResponse(handle, content_type=entry.photo_content_type)
    response["Content-Disposition"] = f'inline; filename="side-effect-{pk}{PurePath(entry.photo.name).suffix}"'
    response["Cache-Control"] = "private, no-store"
    return response


# --- The report for the authorities ----------------------------------------------------


@permission_required("sessions_app.view_sideeffect", raise_exception=True)
@require_GET
def side_effect_report(request, pk: int, fmt: str = "html"):
    """One side effect as pharmacovigilance forms ask for it: a printable page,
    JSON or CSV (every cell through the formula neutraliser)."""
    effect = get_object_or_404(for_report(), pk=pk)
    report = pharmacovigilance_report(effect)
    if fmt == "html":
        access_record(request, AccessAction.VIEW_RECORD, client=effect.client_id, detail=f"side-effect report {pk}")
        return render(request, "side_effects/report.html", {"effect": effect, "report": report})
    access_record(request, AccessAction.EXPORT_SIDE_EFFECT, client=effect.client_id, detail=f"side effect {pk} ({fmt})")
    name = f"side-effect-{pk}-report.{fmt}"
    if fmt == "json":
        response = HttpResponse(json.dumps(report, indent=2, ensure_ascii=False), content_type="application/json")
    else:
        out = io.StringIO()
        writer = csv_writer(out)
        writer.writerow(["field", "value"])
        for row in report_rows(report):
            writer.writerow(row)
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response


# --- The signal across clients ----------------------------------------------------------


@permission_required("sessions_app.view_sideeffect", raise_exception=True)
@require_GET
def side_effect_signal(request):
    """Rates by mixture, product, lot, practitioner and area over a period,
    with the flags: the default period as the reminder round last counted it
    (unless "Count now"), any other counted now, in one SQL statement."""
    default = Period.default()
    form = PeriodForm(request.GET or None, initial={"start": default.start, "end": default.end})
    period = default
    if form.is_bound and form.is_valid():
        period = Period(form.cleaned_data["start"], form.cleaned_data["end"])
    signal = signal_for(period, fresh=request.GET.get("fresh") == "1")
    # A chain has a hundred practitioners and lots: each table opens on its
    # highest rates (and every flag), and "Show all" lists one table whole.
    whole = request.GET.get("all", "")
    query = request.GET.copy()
    query.pop("all", None)
    query.pop("fresh", None)  # "Show all" reads the round's counts, as the page does
    tables = []
    for dimension in signal.dimensions:
        rows = dimension.rows if dimension.slug == whole else dimension.first(SIGNAL_ROWS)
        more = query.copy()
        more["all"] = dimension.slug
        tables.append((dimension, rows, len(dimension.rows) - len(rows), f"?{more.urlencode()}#dim-{dimension.slug}"))
    context = {"form": form, "signal": signal, "period": period, "tables": tables}
    return render(request, "side_effects/signal.html", context)
