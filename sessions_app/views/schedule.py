"""Day and week schedules, per practitioner and per room."""

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth.decorators import permission_required
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from sessions_app.booking_forms import practitioners
from sessions_app.models import Room, SessionStatus, TreatmentSession
from sessions_app.services.alerts import annotate_alerts
from sessions_app.services.clearance import annotate_clearance
from sessions_app.views.paging import group_pages, page_slice
from sessions_app.views.params import int_param

# Sessions on one page of the schedule: a busy chain's day or week comes in
# pages, and each page costs the same whatever the number of practitioners.
SCHEDULE_PAGE_SIZE = 25
# How far from today a schedule can be shown: a date beyond is brought back to
# this edge (a typed 0001-01-01 or 9999-12-31 would overflow the date arithmetic).
SCHEDULE_REACH = dt.timedelta(days=10 * 365)


@dataclass(frozen=True)
class ScheduleDay:
    day: dt.date
    sessions: list[TreatmentSession]  # those on this page
    count: int  # all of the day's, on every page
    other_pages: list[int]  # the other pages that show some of the day's


def session_table_context(user) -> dict:
    """What schedule/_session_table.html needs beside its sessions: which status
    actions and moves each status offers, and whether this user may take them."""
    return {
        "actions": SessionStatus.TRANSITIONS,
        "movable": SessionStatus.MOVABLE,
        "can_change": user.has_perm("sessions_app.change_treatmentsession"),
    }


def _date_param(request) -> dt.date:
    today = timezone.localdate()
    try:
        day = dt.date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        return today
    return min(max(day, today - SCHEDULE_REACH), today + SCHEDULE_REACH)


@permission_required("sessions_app.view_treatmentsession", raise_exception=True)
@require_GET
def schedule(request):
    """One day or one week of sessions, for a practitioner, a room, or everyone,
    SCHEDULE_PAGE_SIZE sessions a page: a fixed number of queries and rows
    whatever the size of the clinic."""
    view = "week" if request.GET.get("view") == "week" else "day"
    day = _date_param(request)
    first = day - dt.timedelta(days=day.weekday()) if view == "week" else day
    days = [first + dt.timedelta(days=i) for i in range(7 if view == "week" else 1)]
    start = timezone.make_aware(dt.datetime.combine(days[0], dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(days[-1] + dt.timedelta(days=1), dt.time.min))

    staff = list(practitioners())
    rooms = list(Room.objects.filter(active=True))
    practitioner = next((p for p in staff if p.pk == int_param(request, "practitioner")), None)
    room = next((r for r in rooms if r.pk == int_param(request, "room")), None)
    show_cancelled = request.GET.get("cancelled") == "1"

    sessions = TreatmentSession.objects.filter(starts_at__gte=start, starts_at__lt=end)
    if practitioner:
        sessions = sessions.filter(practitioner=practitioner)
    if room:
        sessions = sessions.filter(room=room)
    if not show_cancelled:
        sessions = sessions.exclude(status=SessionStatus.CANCELLED)
    per_day = sessions.per_local_day()
    page = page_slice(request.GET.get("page"), total=sum(per_day.values()), size=SCHEDULE_PAGE_SIZE)
    shown = list(sessions.for_schedule().order_by("starts_at", "room__name", "pk")[page.start : page.stop])
    annotate_clearance(shown)
    if request.user.has_perm("sessions_app.view_screening"):
        annotate_alerts(shown)  # clinical roles: allergies, conditions, side effects on the badge
    by_day: dict[dt.date, list] = {d: [] for d in days}
    for session in shown:
        by_day.setdefault(timezone.localtime(session.starts_at).date(), []).append(session)
    counts = [per_day.get(d, 0) for d in days]
    pages = group_pages(counts, size=SCHEDULE_PAGE_SIZE)

    filters = {"view": view, "date": day.isoformat()}
    if practitioner:
        filters["practitioner"] = practitioner.pk
    if room:
        filters["room"] = room.pk
    if show_cancelled:
        filters["cancelled"] = "1"
    step = dt.timedelta(days=7 if view == "week" else 1)
    context = {
        "view": view,
        "day": day,
        "days": [
            ScheduleDay(d, by_day[d], count, [p for p in on_pages if p != page.number])
            for d, count, on_pages in zip(days, counts, pages, strict=True)
        ],
        "page": page,
        "filters": urlencode(filters),
        "previous": first - step,
        "next": first + step,
        "today": timezone.localdate(),
        "practitioners": staff,
        "rooms": rooms,
        "practitioner": practitioner,
        "room": room,
        "show_cancelled": show_cancelled,
        "total": page.total,
        **session_table_context(request.user),
    }
    return render(request, "schedule/schedule.html", context)
