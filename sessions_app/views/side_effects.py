"""Side effects: recorded from a session or later (a follow-up call), and
the list of open ones a practitioner reviews."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sessions_app.models import AccessAction, Client, SideEffect
from sessions_app.services.audit import access_record_many
from sessions_app.services.side_effects import AlreadyReviewed, side_effect_record, side_effect_review
from sessions_app.side_effect_forms import SideEffectForm
from sessions_app.views.booking import _safe_next
from sessions_app.views.params import int_param

PAGE_SIZE = 50


@permission_required("sessions_app.add_sideeffect", raise_exception=True)
@require_http_methods(["GET", "POST"])
def side_effect_new(request, client_pk: int):
    client = get_object_or_404(Client, pk=client_pk)
    back = _safe_next(request, reverse("side_effect_list"))
    if request.method == "POST":
        form = SideEffectForm(request.POST, client=client)
        if form.is_valid():
            data = form.cleaned_data
            effect = side_effect_record(client=client, recorded_by=request.user, **data)
            messages.success(
                request, f"Recorded {effect.kind} ({effect.get_severity_display().lower()}) for {client.full_name}."
            )
            return redirect(back)
    else:
        initial = {}
        if session_id := int_param(request, "session"):
            initial["session"] = session_id
        form = SideEffectForm(initial=initial, client=client)
    return render(request, "side_effects/form.html", {"form": form, "client": client, "next": back})


@permission_required("sessions_app.view_sideeffect", raise_exception=True)
@require_GET
def side_effect_list(request):
    """Open side effects (unresolved or not yet reviewed), serious ones first,
    a page at a time: a fixed number of queries whatever their number."""
    effects = SideEffect.objects.for_review()
    page = Paginator(effects, PAGE_SIZE).get_page(request.GET.get("page"))
    shown = list(page.object_list)
    access_record_many(
        request, AccessAction.VIEW_LIST, client_ids=[e.client_id for e in shown], detail="open side effects"
    )
    return render(request, "side_effects/list.html", {"page": page, "effects": shown})


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
