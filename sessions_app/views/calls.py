"""Reception's call list, and the one-click unsubscribe page of messages."""

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, permission_required
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sessions_app.models import CallOutcome, Client, Reminder, ReminderChannel
from sessions_app.reminders.calls import CallClosed, call_list, reminder_record_call
from sessions_app.reminders.unsubscribe import client_unsubscribe, read_token
from sessions_app.views.params import parse_int

# The buttons of a call, in the order shown: (outcome, label, Bootstrap colour).
OUTCOMES = [
    (CallOutcome.REACHED, "Reached", "success"),
    (CallOutcome.NO_ANSWER, "No answer", "secondary"),
    (CallOutcome.BOOKED, "Booked", "primary"),
    (CallOutcome.DECLINED, "Declined", "danger"),
]


@permission_required("sessions_app.view_reminder", raise_exception=True)
@require_GET
def call_list_page(request):
    calls = call_list(now=timezone.now(), page=request.GET.get("page"))
    return render(
        request,
        "calls/list.html",
        {
            "calls": calls,
            "page": calls.page,
            "urgent": calls.urgent,
            "groups": [
                (slug, title, explanation, getattr(calls, slug), calls.totals[slug])
                for slug, title, explanation in (
                    ("aftercare", "Aftercare calls", "How is the client after their session?"),
                    ("maintenance", "Maintenance recalls", "Maintenance is overdue and nothing is booked."),
                    (
                        "side_effects",
                        "Side effects past their expected time",
                        "A side effect of this kind is usually gone by now: how is it?",
                    ),
                    ("other", "Other calls", "Clients who prefer a call, or agreed to no message."),
                )
            ],
            "outcomes": OUTCOMES,
            "can_record": request.user.has_perm("sessions_app.change_reminder"),
            "can_record_side_effect": request.user.has_perm("sessions_app.add_sideeffect"),
        },
    )


@permission_required("sessions_app.change_reminder", raise_exception=True)
@require_POST
def call_outcome(request, pk: int, outcome: str):
    """Record an outcome. "booked" goes on to booking for the client; "side
    effect" (for staff who may record one) records the call as reached and
    opens the side-effect form for the client and session."""
    reminder = get_object_or_404(Reminder.objects.select_related("client"), pk=pk, channel=ReminderChannel.CALL)
    # Back to the page of the list the call was on.
    page = parse_int(request.POST.get("page"))
    back = reverse("call_list") + (f"?page={page}" if page and page > 1 else "")
    side_effect = outcome == "side_effect"
    if side_effect and not request.user.has_perm("sessions_app.add_sideeffect"):
        raise PermissionDenied
    try:
        reminder_record_call(
            reminder_id=reminder.pk, outcome=CallOutcome.REACHED if side_effect else outcome, user=request.user
        )
    except CallClosed as exc:
        messages.info(request, str(exc))
        return redirect(back)
    name = reminder.client.full_name
    if side_effect:
        query = f"?{urlencode({'next': back})}" + (f"&session={reminder.session_id}" if reminder.session_id else "")
        return redirect(reverse("side_effect_new", args=[reminder.client_id]) + query)
    messages.success(request, f"{name}: {CallOutcome(outcome).label.lower()}.")
    if outcome == CallOutcome.BOOKED and request.user.has_perm("sessions_app.add_treatmentplan"):
        return redirect(reverse("book_series") + f"?client={reminder.client_id}")
    return redirect(back)


@login_not_required
@csrf_exempt  # the signed token is the credential; RFC 8058 mail programs POST without a CSRF cookie
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    """GET shows what the link does and a button (mail scanners follow links:
    a GET changes nothing); POST, from that button or from a mail program's
    one-click unsubscribe (RFC 8058), withdraws the agreement."""
    try:
        client_id, channel = read_token(token)
        client = Client.objects.get(pk=client_id)
    except (signing.BadSignature, Client.DoesNotExist):
        return render(request, "calls/unsubscribe.html", {"invalid": True}, status=404)
    label = "email" if channel == ReminderChannel.EMAIL else "SMS"
    if request.method == "POST":
        client_unsubscribe(client_id=client.pk, channel=channel)
        return render(request, "calls/unsubscribe.html", {"done": True, "label": label})
    return render(request, "calls/unsubscribe.html", {"label": label, "first_name": client.first_name})
