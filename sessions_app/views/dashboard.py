"""Today at a glance: the day's sessions, open side effects, reminders due."""

import datetime as dt

from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from sessions_app.models import Reminder, SessionStatus, SideEffect, TreatmentSession
from sessions_app.services.booking import MOVABLE, TRANSITIONS
from sessions_app.services.clearance import annotate_clearance

# The dashboard lists at most this many side effects and reminders; the count says how many in all.
DASHBOARD_LIMIT = 10


def _today_range() -> tuple[dt.datetime, dt.datetime]:
    """Midnight to midnight in the clinic's time zone (23 or 25 hours on a DST change)."""
    today = timezone.localdate()
    start = timezone.make_aware(dt.datetime.combine(today, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(today + dt.timedelta(days=1), dt.time.min))
    return start, end


@require_GET
def dashboard(request):
    """Each panel only for a role whose permissions cover it: reception sees no
    side-effect details. A fixed number of queries whatever the day holds."""
    user = request.user
    start, end = _today_range()
    context = {"today": timezone.localdate()}
    if user.has_perm("sessions_app.view_treatmentsession"):
        sessions = TreatmentSession.objects.for_schedule().filter(starts_at__gte=start, starts_at__lt=end)
        context["sessions"] = list(sessions.exclude(status=SessionStatus.CANCELLED).order_by("starts_at", "room__name"))
        annotate_clearance(context["sessions"])
        context["actions"] = {name: allowed for name, (_, allowed) in TRANSITIONS.items()}
        context["movable"] = MOVABLE
        context["can_change"] = user.has_perm("sessions_app.change_treatmentsession")
    if user.has_perm("sessions_app.view_sideeffect"):
        open_effects = SideEffect.objects.open().select_related("client", "kind", "session")
        context["side_effects"] = list(open_effects.order_by("-serious", "onset", "pk")[:DASHBOARD_LIMIT])
        context["side_effects_total"] = open_effects.count()
    if user.has_perm("sessions_app.view_reminder"):
        due = Reminder.objects.due(timezone.now()).select_related("client")
        context["reminders"] = list(due.order_by("due_at", "pk")[:DASHBOARD_LIMIT])
        context["reminders_total"] = due.count()
    return render(request, "dashboard/dashboard.html", context)
