"""Today at a glance: the day's sessions (a practitioner's own first), open
side effects, reminders due; and the whole list of reminders due.

Each panel is a function that returns its part of the page's context (nothing
for a role that may not see it) and a template of its own
(templates/dashboard/_<panel>.html): a new panel is one more of each.
"""

import datetime as dt

from django.contrib.auth.decorators import permission_required
from django.db.models import Count, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from sessions_app.models import Reminder, Role, SessionStatus, SideEffect, TreatmentSession
from sessions_app.models.expressions import count_up_to
from sessions_app.reports.today import manager_panel_context
from sessions_app.roles import user_roles
from sessions_app.services.alerts import annotate_badges
from sessions_app.views.paging import page_slice, window_from
from sessions_app.views.schedule import session_table_context
from sessions_app.views.side_effect_today import side_effects_today

# The dashboard lists at most this many side effects and reminders; the count says how many in all.
DASHBOARD_LIMIT = 10
# The reminders due are counted up to this many ("999+"); their own page counts them all.
DASHBOARD_COUNT_MAX = 999
# Today's sessions shown: all of them in a small clinic; in a busy one, this many
# from the first not over yet (the day's last ones in the evening). The whole day
# is on the schedule.
DASHBOARD_SESSIONS = 20
# Reminders due on one page of their list.
REMINDERS_PAGE_SIZE = 25
# The order of today's sessions on the dashboard, as on the day's schedule.
TODAY_ORDER = ("starts_at", "room__name", "pk")


def _today_range() -> tuple[dt.datetime, dt.datetime]:
    """Midnight to midnight in the clinic's time zone (23 or 25 hours on a DST change)."""
    today = timezone.localdate()
    start = timezone.make_aware(dt.datetime.combine(today, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(today + dt.timedelta(days=1), dt.time.min))
    return start, end


def sessions_panel(request) -> dict:
    """Today's sessions: a window of DASHBOARD_SESSIONS from the first not over
    yet. A practitioner sees their own day, and how many the others have."""
    user = request.user
    if not user.has_perm("sessions_app.view_treatmentsession"):
        return {}
    start, end = _today_range()
    day = TreatmentSession.objects.filter(starts_at__gte=start, starts_at__lt=end).exclude(
        status=SessionStatus.CANCELLED
    )
    own = Role.PRACTITIONER in user_roles(user)
    today = day.filter(practitioner=user) if own else day
    # The window starts at the first session still to come or under way
    # (booked time not over, or arrived and not yet recorded), in the list's
    # order; with none, at the day's end.
    under_way = Q(ends_at__gt=timezone.now()) | Q(status=SessionStatus.ARRIVED)
    first = today.filter(under_way).order_by("starts_at").values("starts_at")[:1]
    first_start = Coalesce(Subquery(first), Value(end))
    counts = day.aggregate(
        clinic=Count("pk"),
        total=Count("pk", filter=Q(practitioner=user) if own else Q()),
        before=Count("pk", filter=(Q(practitioner=user) if own else Q()) & Q(starts_at__lt=first_start)),
    )
    window = window_from(total=counts["total"], before=counts["before"], size=DASHBOARD_SESSIONS)
    # The window's rows read from where it starts, never skipping the
    # sessions over (an OFFSET would, and work out each one's place in its
    # series only to throw it away): the evening costs what the morning does.
    shown = today.for_schedule()
    size = window.stop - window.start
    if window.start == counts["before"]:
        sessions = list(shown.filter(starts_at__gte=first_start).order_by(*TODAY_ORDER)[:size])
    else:  # late in the day: the day's last rows, read from the end
        sessions = list(shown.order_by(*(f"-{field}" for field in TODAY_ORDER))[:size])[::-1]
    # Clinical roles: what not to miss, on the badge too.
    annotate_badges(sessions, alerts=user.has_perm("sessions_app.view_screening"))
    return {
        "sessions": sessions,
        "sessions_window": window,
        "own_day": own,
        "clinic_sessions": counts["clinic"],
        **session_table_context(user),
    }


def side_effects_panel(request) -> dict:
    """The first of the open side effects, in review order."""
    if not request.user.has_perm("sessions_app.view_sideeffect"):
        return {}
    return {
        "side_effects": list(SideEffect.objects.for_review()[:DASHBOARD_LIMIT]),
        "side_effects_total": SideEffect.objects.open().count(),
    }


def reminders_panel(request) -> dict:
    """The reminders due, the oldest first: those the send loop has not sent,
    and the calls to make."""
    if not request.user.has_perm("sessions_app.view_reminder"):
        return {}
    due = Reminder.objects.due(timezone.now()).select_related("client")
    # Counted up to DASHBOARD_COUNT_MAX: a chain's backlog of 30,000 read on
    # every Today was most of the page; the list of them all counts them all.
    counted = count_up_to(due, DASHBOARD_COUNT_MAX)
    return {
        "reminders": list(due.order_by("due_at", "pk")[:DASHBOARD_LIMIT]),
        "reminders_total": min(counted, DASHBOARD_COUNT_MAX),
        "reminders_more": counted > DASHBOARD_COUNT_MAX,
    }


def side_effects_today_panel(request) -> dict:
    """Severe check-ins to review, new signal flags, side effects past their
    expected time (views.side_effect_today)."""
    return side_effects_today(request.user)


def manager_panel(request) -> dict:
    """The manager's figures of the day and the week, each a link to its list
    (sessions_app.reports.today)."""
    return manager_panel_context(request.user)


# Today's panels, in the page's order (templates/dashboard/dashboard.html includes their templates).
PANELS = (manager_panel, side_effects_today_panel, sessions_panel, side_effects_panel, reminders_panel)


@require_GET
def dashboard(request):
    """Each panel only for a role whose permissions cover it: reception sees no
    side-effect details. A fixed number of queries and rows whatever the day
    holds."""
    context = {"today": timezone.localdate()}
    for panel in PANELS:
        context |= panel(request)
    return render(request, "dashboard/dashboard.html", context)


@permission_required("sessions_app.view_reminder", raise_exception=True)
@require_GET
def reminders_due(request):
    """Every reminder due, the oldest first, REMINDERS_PAGE_SIZE a page: where
    Today's "10 of 92" leads."""
    due = Reminder.objects.due(timezone.now())
    page = page_slice(request.GET.get("page"), total=due.count(), size=REMINDERS_PAGE_SIZE)
    reminders = list(due.select_related("client").order_by("due_at", "pk")[page.start : page.stop])
    return render(request, "dashboard/reminders_due.html", {"reminders": reminders, "page": page, "filters": ""})
