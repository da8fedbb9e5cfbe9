"""The schedule as a calendar: a day as a time grid with a column per
practitioner (or per room), a week as a grid of seven days for one
practitioner or room, or everyone's week at a glance; and the list, a page at
a time, for printing."""

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth.decorators import permission_required
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from sessions_app.models import Room, SessionStatus, TreatmentSession
from sessions_app.scheduling import clinic_tz
from sessions_app.services.alerts import annotate_badges
from sessions_app.services.slots import closed_days, opening_hours, practitioners
from sessions_app.views.paging import group_pages, page_slice
from sessions_app.views.params import int_param
from sessions_app.views.timegrid import Column, Mark, build_grid, build_overview

# Sessions on one page of the printable list: a busy chain's day or week comes
# in pages, and each page costs the same whatever the size of the clinic.
SCHEDULE_PAGE_SIZE = 25
# How far from today a schedule can be shown: a date beyond is brought back to
# this edge (a typed 0001-01-01 or 9999-12-31 would overflow the date arithmetic).
SCHEDULE_REACH = dt.timedelta(days=10 * 365)
# Columns of everyone's day (rows of everyone's week) on one page: at 1366 px
# they fit without scrolling sideways, and a chain's day or week costs what a
# small clinic's does.
DAY_COLUMNS = 8


@dataclass(frozen=True)
class ScheduleDay:
    day: dt.date
    sessions: list[TreatmentSession]  # those on this page
    count: int  # all of the day's, on every page
    other_pages: list[int]  # the other pages that show some of the day's


def session_table_context(user) -> dict:
    """What schedule/_session_table.html needs beside its sessions: whether
    this user may change a session's status or time."""
    return {"can_change": user.has_perm("sessions_app.change_treatmentsession")}


def _date_param(request) -> dt.date:
    today = timezone.localdate()
    try:
        day = dt.date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        return today
    return min(max(day, today - SCHEDULE_REACH), today + SCHEDULE_REACH)


def _day_range(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Midnight before `first` to midnight after `last`, in the clinic's time zone."""
    return (
        timezone.make_aware(dt.datetime.combine(first, dt.time.min)),
        timezone.make_aware(dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min)),
    )


@permission_required("sessions_app.view_treatmentsession", raise_exception=True)
@require_GET
def schedule(request):
    """A day or a week for everyone, one practitioner or one room, as a time
    grid (or, for everyone's week, an overview), or as the printable list. A
    fixed number of queries whatever the size of the clinic."""
    view = "week" if request.GET.get("view") == "week" else "day"
    layout = "list" if request.GET.get("layout") == "list" else "grid"
    day = _date_param(request)
    first = day - dt.timedelta(days=day.weekday()) if view == "week" else day
    days = [first + dt.timedelta(days=i) for i in range(7 if view == "week" else 1)]
    start, end = _day_range(days[0], days[-1])

    # What the schedule shows of a practitioner is their name: a chain has 160.
    staff = list(practitioners().only("username", "first_name", "last_name"))
    rooms = list(Room.objects.filter(active=True))
    practitioner_id, room_id, cols = (int_param(request, name) for name in ("practitioner", "room", "cols"))
    practitioner = next((p for p in staff if p.pk == practitioner_id), None)
    room = next((r for r in rooms if r.pk == room_id), None)
    by_room = request.GET.get("by") == "room" and practitioner is None
    show_cancelled = request.GET.get("cancelled") == "1"

    filters = {"view": view, "date": day.isoformat()}
    if practitioner:
        filters["practitioner"] = practitioner.pk
    if room:
        filters["room"] = room.pk
    if by_room:
        filters["by"] = "room"
    if show_cancelled:
        filters["cancelled"] = "1"
    # The page of practitioners (or rooms) of everyone's day or week, kept from
    # one day or week to the next.
    if (cols or 1) > 1 and not (practitioner or room):
        filters["cols"] = cols
    if layout == "list":
        filters["layout"] = "list"
    step = dt.timedelta(days=7 if view == "week" else 1)

    def link(**changes) -> str:
        """This schedule with `changes` to its filters (None drops one)."""
        changed = {k: v for k, v in (filters | changes).items() if v is not None}
        return "?" + urlencode(changed)

    links = {
        "previous": link(date=(first - step).isoformat()),
        "today": link(date=timezone.localdate().isoformat()),
        "next": link(date=(first + step).isoformat()),
        "day": link(view="day"),
        "week": link(view="week"),
        "by_practitioner": link(by=None, cols=None),
        "by_room": link(by="room", cols=None),
        "grid": link(layout=None),
        "list": link(layout="list"),
    }
    context = {
        "view": view,
        "layout": layout,
        "day": day,
        "days": days,
        "filters": urlencode(filters),
        "links": links,
        "today": timezone.localdate(),
        "practitioners": staff,
        "rooms": rooms,
        "practitioner": practitioner,
        "room": room,
        "by_room": by_room,
        "show_cancelled": show_cancelled,
        **session_table_context(request.user),
    }
    sessions = TreatmentSession.objects.filter(starts_at__gte=start, starts_at__lt=end)
    if layout == "list":
        context |= _list(request, sessions, days, practitioner, room, show_cancelled)
        return render(request, "schedule/schedule.html", context)

    # What the columns are: the days of one practitioner's or room's week, one
    # practitioner or room, or, DAY_COLUMNS practitioners (or rooms) a page so
    # that a chain's costs what a small clinic's does, everyone's day (a column
    # each) or everyone's week at a glance (a row each).
    if view == "week" and (practitioner or room):
        columns = [
            Column(d, f"{d:%a %d}", f"{d:%B}", practitioner=practitioner, room=None if practitioner else room)
            for d in days
        ]
    elif practitioner or room:
        columns = [
            Column(day, str(practitioner or room), "", practitioner=practitioner, room=None if practitioner else room)
        ]
    else:
        resources = rooms if by_room else staff
        page = page_slice(request.GET.get("cols"), total=len(resources), size=DAY_COLUMNS)
        context["columns_page"] = page
        context["columns_links"] = {
            "previous": link(cols=page.previous_number) if page.has_previous else "",
            "next": link(cols=page.next_number) if page.has_next else "",
        }
        shown = resources[page.start : page.stop]
        ids = [r.pk for r in shown]
        sessions = sessions.filter(room__in=ids) if by_room else sessions.filter(practitioner__in=ids)
        columns = None  # everyone's week at a glance
        if view == "day":
            columns = [Column(day, str(r), "", **{"room" if by_room else "practitioner": r}) for r in shown]
    # A column shows its every booking, whichever room or practitioner it
    # shares, so that its free time is true: only the column's own filter.
    if practitioner:
        sessions = sessions.filter(practitioner=practitioner)
    elif room:
        sessions = sessions.filter(room=room)
    hours, closed = opening_hours(), closed_days(days[0], days[-1])
    if columns is None:
        context |= _glance(sessions, days, shown, by_room, show_cancelled, hours, closed)
        return render(request, "schedule/schedule.html", context)
    if not show_cancelled:
        sessions = sessions.exclude(status=SessionStatus.CANCELLED)
    found = list(sessions.for_calendar().order_by("starts_at", "pk"))
    # Their practitioner and room from the lists already read (a query each for
    # one no longer active, in the cancelled list only).
    people, places = {p.pk: p for p in staff}, {r.pk: r for r in rooms}
    for s in found:
        if s.practitioner_id in people:
            s.practitioner = people[s.practitioner_id]
        if s.room_id in places:
            s.room = places[s.room_id]
    booked = [s for s in found if s.status != SessionStatus.CANCELLED]
    context["cancelled"] = [s for s in found if s.status == SessionStatus.CANCELLED]
    context["total"] = len(booked)

    for column in columns:
        param = {"practitioner": column.practitioner.pk} if column.practitioner else {"room": column.room.pk}
        column.day_url = "?" + urlencode({"view": "day", "date": column.day.isoformat(), **param})
    # Clinical roles: allergies, conditions, side effects on the badge too.
    annotate_badges(booked, alerts=request.user.has_perm("sessions_app.view_screening"))
    context["grid"] = build_grid(
        columns=columns,
        sessions=booked,
        hours=hours,
        closed=closed,
        tz=clinic_tz(),
        now=timezone.now(),
        booking={"room": room.pk} if practitioner and room else None,
    )
    return render(request, "schedule/schedule.html", context)


def _glance(sessions, days, resources, by_room, show_cancelled, hours, closed) -> dict:
    """Everyone's week at a glance, a page of practitioners (or rooms): every
    session of theirs that week as a mark, read as plain values; the cancelled
    ones, when asked for, listed below."""
    rows = sessions.exclude(status=SessionStatus.CANCELLED).order_by("starts_at", "pk")
    marks = [
        Mark(*values[:5], f"{values[5]} {values[6]}")
        for values in rows.values_list(*Mark.FIELDS, "plan__client__first_name", "plan__client__last_name")
    ]
    overview, span = build_overview(
        resources=resources,
        by_room=by_room,
        days=days,
        sessions=marks,
        hours=hours,
        closed=closed,
        tz=clinic_tz(),
    )
    cancelled = []
    if show_cancelled:
        called_off = sessions.filter(status=SessionStatus.CANCELLED)
        cancelled = list(called_off.select_related("plan__client", "practitioner", "room").order_by("starts_at"))
    return {"overview": overview, "overview_hours": span, "total": len(marks), "cancelled": cancelled}


def _list(request, sessions, days, practitioner, room, show_cancelled) -> dict:
    """The printable list: SCHEDULE_PAGE_SIZE sessions a page, each day saying
    how many it has and on which pages."""
    if practitioner:
        sessions = sessions.filter(practitioner=practitioner)
    if room:
        sessions = sessions.filter(room=room)
    if not show_cancelled:
        sessions = sessions.exclude(status=SessionStatus.CANCELLED)
    per_day = sessions.per_local_day()
    page = page_slice(request.GET.get("page"), total=sum(per_day.values()), size=SCHEDULE_PAGE_SIZE)
    shown = list(sessions.for_schedule().order_by("starts_at", "room__name", "pk")[page.start : page.stop])
    # Clinical roles: allergies, conditions, side effects on the badge too.
    annotate_badges(shown, alerts=request.user.has_perm("sessions_app.view_screening"))
    by_day: dict[dt.date, list] = {d: [] for d in days}
    for session in shown:
        by_day.setdefault(timezone.localtime(session.starts_at).date(), []).append(session)
    counts = [per_day.get(d, 0) for d in days]
    pages = group_pages(counts, size=SCHEDULE_PAGE_SIZE)
    return {
        "list_days": [
            ScheduleDay(d, by_day[d], count, [p for p in on_pages if p != page.number])
            for d, count, on_pages in zip(days, counts, pages, strict=True)
        ],
        "page": page,
        "total": page.total,
    }
