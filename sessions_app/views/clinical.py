"""Screening and consent pages, for practitioners."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from sessions_app.clinical_forms import ConsentForm, ScreeningForm
from sessions_app.models import Client, Consent, TreatmentPlan
from sessions_app.services.clearance import current_consent_text
from sessions_app.services.clinical import AlreadySigned, consent_sign, screening_record
from sessions_app.views.booking import _safe_next


@permission_required("sessions_app.add_screening", raise_exception=True)
@require_http_methods(["GET", "POST"])
def screening_new(request, client_pk: int):
    client = get_object_or_404(Client.objects.prefetch_related("allergies"), pk=client_pk)
    back = _safe_next(request, reverse("dashboard"))
    form = ScreeningForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        screening_record(
            client=client, screened_by=request.user, answers=form.answers(), notes=form.cleaned_data["notes"]
        )
        messages.success(request, f"Screening of {client.full_name} saved.")
        return redirect(back)
    return render(request, "clinical/screening.html", {"form": form, "client": client, "next": back})


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
