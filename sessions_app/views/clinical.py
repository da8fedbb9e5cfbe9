"""Screening, a physician's judgement, and consent pages, for practitioners."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from sessions_app.clearance import CAUTION
from sessions_app.clinical_forms import ConsentForm, JudgementForm, ScreeningForm
from sessions_app.models import AccessAction, Client, Consent, PlanStatus, Screening, TreatmentArea, TreatmentPlan
from sessions_app.services.audit import access_record
from sessions_app.services.clearance import current_consent_text
from sessions_app.services.clinical import (
    AlreadySigned,
    ScreeningRefused,
    consent_sign,
    screening_judge,
    screening_record,
)
from sessions_app.views.booking import _safe_next


def _asks_fat_reduction(client: Client) -> bool:
    """Whether a plan of the client still under way reduces fat: its screening
    must then answer the fat-reduction question."""
    ongoing = client.plans.filter(status__in=[PlanStatus.ACTIVE, PlanStatus.MAINTENANCE])
    return ongoing.filter(indication__reduces_fat=True).exists()


@permission_required("sessions_app.add_screening", raise_exception=True)
@require_http_methods(["GET", "POST"])
def screening_new(request, client_pk: int):
    client = get_object_or_404(Client.objects.prefetch_related("allergies"), pk=client_pk)
    back = _safe_next(request, reverse("client_detail", args=[client.pk]))
    form = ScreeningForm(
        request.POST if request.method == "POST" else None,
        physician=request.user.is_physician,
        ask_fat_reduction=_asks_fat_reduction(client),
        areas=TreatmentArea.objects.filter(active=True),
    )
    if request.method == "POST" and form.is_valid():
        try:
            screening_record(
                client=client,
                screened_by=request.user,
                answers=form.answers(),
                notes=form.cleaned_data["notes"],
                required_extra=form.required_extra(),
            )
        except ScreeningRefused as exc:
            for message in exc.messages:
                form.add_error(None, message)
        else:
            messages.success(request, f"Screening of {client.full_name} saved.")
            return redirect(back)
    return render(request, "clinical/screening.html", {"form": form, "client": client, "next": back})


@permission_required("sessions_app.change_screeninganswer", raise_exception=True)
@require_http_methods(["GET", "POST"])
def screening_judge_page(request, pk: int):
    """A physician judges the conditions of a screening that call for caution."""
    if not request.user.is_physician:
        raise PermissionDenied("Only a physician's judgement clears a condition that calls for caution.")
    screening = get_object_or_404(Screening.objects.select_related("client", "screened_by"), pk=pk)
    if request.method == "GET":
        access_record(request, AccessAction.VIEW_RECORD, client=screening.client_id, detail=f"screening {screening.pk}")
    answers = screening.answers.filter(answer=True, severity=CAUTION).select_related("judged_by").order_by("pk")
    back = _safe_next(request, reverse("client_detail", args=[screening.client_id]))
    form = JudgementForm(request.POST or None, answers=answers)
    if request.method == "POST" and form.is_valid():
        try:
            screening_judge(judgements=form.judgements(), by=request.user)
        except ScreeningRefused as exc:
            for message in exc.messages:
                form.add_error(None, message)
        else:
            messages.success(request, f"Judgement of {screening.client.full_name}'s screening recorded.")
            return redirect(back)
    context = {"form": form, "screening": screening, "next": back}
    return render(request, "clinical/judge.html", context)


@permission_required("sessions_app.add_consent", raise_exception=True)
@require_http_methods(["GET", "POST"])
def consent_new(request, plan_pk: int):
    plan = get_object_or_404(TreatmentPlan.objects.select_related("client", "indication", "mixture"), pk=plan_pk)
    back = _safe_next(request, reverse("plan_detail", args=[plan.pk]))
    text = current_consent_text()
    if text is None:
        messages.error(request, "No consent text is in force: a manager must add one in the admin.")
        return redirect(back)
    signed = Consent.objects.filter(plan=plan, consent_text=text).first()
    form = ConsentForm(request.POST or None)
    if request.method == "POST" and signed is None and form.is_valid():
        try:
            consent_sign(
                plan=plan, consent_text=text, signed_name=form.cleaned_data["signed_name"], witnessed_by=request.user
            )
        except AlreadySigned as exc:
            messages.info(request, str(exc))
        else:
            messages.success(request, f"{plan.client.full_name} signed version {text.version} of the consent.")
        return redirect(back)
    context = {"form": form, "plan": plan, "text": text, "signed": signed, "next": back}
    return render(request, "clinical/consent.html", context)
