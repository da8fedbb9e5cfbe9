"""Today at a glance: the day's sessions, open side effects, reminders due."""

import datetime as dt

from django.db.models import Count, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from sessions_app.models import Reminder, SessionStatus, SideEffect, TreatmentSession
from sessions_app.reports.today import manager_panel_context
from sessions_app.services.clearance import annotate_clearance
from sessions_app.views.paging import window_from
from sessions_app.views.schedule import session_table_context

# The dashboard lists at most this many side effects and reminders; the count says how many in all.
DASHBOARD_LIMIT = 10
# Today's sessions shown: all of them in a small clinic; in a busy one, this many
# from the first not over yet (the day's last ones in the evening). The whole day
# is on the schedule.
DASHBOARD_SESSIONS = 20


def _today_range() -> tuple[dt.datetime, dt.datetime]:
    """Midnight to midnight in the clinic's time zone (23 or 25 hours on a DST change)."""
    today = timezone.localdate()
    start = timezone.make_aware(dt.datetime.combine(today, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(today + dt.timedelta(days=1), dt.time.min))
    return start, end


@require_GET
def dashboard(request):
    """Each panel only for a role whose permissions cover it: reception sees no
    side-effect details. A fixed number of queries and rows whatever the day
    holds."""
    user = request.user
    start, end = _today_range()
    context = {"today": timezone.localdate()}
    if user.has_perm("sessions_app.view_treatmentsession"):
        today = TreatmentSession.objects.filter(starts_at__gte=start, starts_at__lt=end).exclude(
            status=SessionStatus.CANCELLED
        )
        # The window starts at the first session still to come or under way
        # (booked time not over, or arrived and not yet recorded), in the
        # list's order; with none, at the day's end.
        under_way = Q(ends_at__gt=timezone.now()) | Q(status=SessionStatus.ARRIVED)
        first = today.filter(under_way).order_by("starts_at").values("starts_at")[:1]
        counts = today.aggregate(
            total=Count("pk"), before=Count("pk", filter=Q(starts_at__lt=Coalesce(Subquery(first), Value(end))))
        )
        window = window_from(total=counts["total"], before=counts["before"], size=DASHBOARD_SESSIONS)
        ordered = today.for_schedule().order_by("starts_at", "room__name", "pk")
        context["sessions"] = list(ordered[window.start : window.stop])
        context["sessions_window"] = window
        annotate_clearance(context["sessions"])
        context |= session_table_context(user)
    if user.has_perm("sessions_app.view_sideeffect"):
        # The first of the review list.
        context["side_effects"] = list(SideEffect.objects.for_review()[:DASHBOARD_LIMIT])
        context["side_effects_total"] = SideEffect.objects.open().count()
    if user.has_perm("sessions_app.view_reminder"):
        due = Reminder.objects.due(timezone.now()).select_related("client")
        context["reminders"] = list(due.order_by("due_at", "pk")[:DASHBOARD_LIMIT])
        context["reminders_total"] = due.count()
    # The manager's figures of the day and the week (their own include and context).
    context |= manager_panel_context(user)
    return render(request, "dashboard/dashboard.html", context)
