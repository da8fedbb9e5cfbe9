"""The schedule's calendar layout: where each session, free period and closed
hour sits on a time grid (a column per practitioner, room or day), and the
week's compact overview. Plain values in and out, no database: the view loads
the sessions, the opening hours and the closed days, and the template places
what this returns.

What is free and what is open are `sessions_app.scheduling`'s rules
(open_periods, free_periods); this module only measures them out in rows.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.urls import reverse
from django.utils.http import urlencode
from django.utils.safestring import mark_safe

from sessions_app.badges import address_pattern, esc
from sessions_app.models import Room, SessionStatus, TreatmentSession, User
from sessions_app.scheduling import free_periods, open_periods

# One row of the grid; the lines are drawn every three rows (a quarter of an hour).
ROW_MINUTES = 5
# The hours shown when no day shown has opening hours (a week the clinic is closed).
DEFAULT_HOURS = (dt.time(9), dt.time(18))

Hours = Mapping[int, Sequence[tuple[dt.time, dt.time]]]


def _minutes(moment: dt.datetime | dt.time, tz: ZoneInfo | None = None) -> int:
    """Minutes since midnight on the clinic's wall clock."""
    if isinstance(moment, dt.datetime):
        moment = moment.astimezone(tz).time()
    return moment.hour * 60 + moment.minute


@dataclass(frozen=True)
class Item:
    """Something placed on a column: a session, a free period (a link to book
    there) or a closed period. `row` is the first grid row (1-based), `span`
    the rows it covers."""

    kind: str  # "session", "free" or "closed"
    row: int
    span: int
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    session: TreatmentSession | None = None
    label: str = ""
    url: str = ""
    # Written here rather than by template filters and tags: a busy week has
    # dozens of sessions, and these strings are most of the page's work.
    times: tuple[str, str] = ("", "")  # "10:00", "10:45" on the clinic's clock
    move_url: str = ""

    @property
    def short(self) -> bool:
        """Under half an hour: room for one line of text only."""
        return self.span * ROW_MINUTES < 30


@dataclass
class Column:
    day: dt.date
    label: str
    sublabel: str
    practitioner: User | None = None
    room: Room | None = None
    closed: str | None = None  # why the whole day is closed, if it is
    items: list[Item] = field(default_factory=list)
    now_row: int | None = None
    now_minute: int | None = None
    is_today: bool = False
    day_url: str = ""  # the day view of this column's practitioner or room

    @property
    def sessions(self) -> int:
        return sum(1 for item in self.items if item.kind == "session")


@dataclass
class Grid:
    first_minute: int  # the wall-clock minute of the grid's first row
    rows: int
    hour_marks: list[tuple[str, int]]
    columns: list[Column]
    droppable: bool  # columns say which practitioner or room a session dropped there goes to

    @property
    def last_minute(self) -> int:
        return self.first_minute + self.rows * ROW_MINUTES


def grid_hours(
    days: Sequence[dt.date], hours: Hours, sessions: Iterable[TreatmentSession], tz: ZoneInfo
) -> tuple[int, int]:
    """The first and last wall-clock minute the grid shows: from the earliest
    opening to the latest closing of the days shown, widened to take in any
    session outside them, on whole hours."""
    periods = [p for day in days for p in hours.get(day.weekday(), ())]
    first = min((_minutes(o) for o, _ in periods), default=_minutes(DEFAULT_HOURS[0]))
    last = max((_minutes(c) or 24 * 60 for _, c in periods), default=_minutes(DEFAULT_HOURS[1]))
    for s in sessions:
        start, end = s.starts_at.astimezone(tz), s.ends_at.astimezone(tz)
        first = min(first, _minutes(start.time()))
        last = max(last, _minutes(end.time()) if end.date() == start.date() else 24 * 60)
    return first // 60 * 60, min(24 * 60, math.ceil(last / 60) * 60)


class Layout:
    """Measures moments out in grid rows, for one grid."""

    def __init__(self, first_minute: int, last_minute: int, tz: ZoneInfo):
        self.first, self.last, self.tz = first_minute, last_minute, tz
        self.rows = (last_minute - first_minute) // ROW_MINUTES

    def place(self, start: dt.datetime, end: dt.datetime) -> tuple[int, int]:
        """(row, span) of [start, end) on the day of `start`, kept on the grid."""
        top = _minutes(start, self.tz)
        bottom = _minutes(end, self.tz) if end.astimezone(self.tz).date() == start.astimezone(self.tz).date() else 1440
        top = min(max(top, self.first), self.last - ROW_MINUTES)
        bottom = min(max(bottom, top + ROW_MINUTES), self.last)
        row = (top - self.first) // ROW_MINUTES + 1
        return row, max(1, math.ceil((bottom - self.first) / ROW_MINUTES) + 1 - row)

    def place_minutes(self, top: int, bottom: int) -> tuple[int, int]:
        row = (top - self.first) // ROW_MINUTES + 1
        return row, max(1, (bottom - top) // ROW_MINUTES)

    def hour_marks(self) -> list[tuple[str, int]]:
        return [
            (f"{minute // 60:02d}:00", (minute - self.first) // ROW_MINUTES + 1)
            for minute in range(self.first, self.last, 60)
        ]


def _closed_items(layout: Layout, periods: Sequence[tuple[dt.datetime, dt.datetime]], closed: str | None) -> list[Item]:
    """The grid's hours outside the opening periods, shaded."""
    if closed is not None:
        return [Item("closed", 1, layout.rows, label=closed)]
    items, cursor = [], layout.first
    for start, end in periods:
        top = _minutes(start, layout.tz)
        if top > cursor:
            items.append(Item("closed", *layout.place_minutes(cursor, top), label="Closed"))
        cursor = max(cursor, _minutes(end, layout.tz) or 1440)
    if cursor < layout.last:
        items.append(Item("closed", *layout.place_minutes(cursor, layout.last), label="Closed"))
    return [item for item in items if item.span > 0]


def build_grid(
    *,
    columns: Sequence[Column],
    sessions: Sequence[TreatmentSession],
    hours: Hours,
    closed: Mapping[dt.date, str],
    tz: ZoneInfo,
    now: dt.datetime,
    booking: Mapping[str, int] | None = None,
) -> Grid:
    """Places `sessions` (none cancelled) on the `columns` (each a day and a
    practitioner or a room; the sessions it shows are those of its day and its
    practitioner or room), with the closed hours shaded and the free periods
    between bookings as links to book there. `booking` adds fixed fields to
    those links (the room chosen in the filter, for example)."""
    first, last = grid_hours(sorted({c.day for c in columns}), hours, sessions, tz)
    layout = Layout(first, last, tz)
    by_key: dict[tuple[dt.date, str, int], list[TreatmentSession]] = {}
    for s in sessions:
        day = s.starts_at.astimezone(tz).date()
        by_key.setdefault((day, "p", s.practitioner_id), []).append(s)
        by_key.setdefault((day, "r", s.room_id), []).append(s)
    today, now_minute = now.astimezone(tz).date(), _minutes(now, tz)
    book_url = reverse("book_series")
    # The session pages' addresses, from one reverse() each: sessions/<pk>/...
    detail, move = address_pattern("session_detail"), address_pattern("session_move")

    def clock(moment: dt.datetime) -> str:
        return moment.astimezone(tz).strftime("%H:%M")

    for column in columns:
        key = (column.day, "p", column.practitioner.pk) if column.practitioner else (column.day, "r", column.room.pk)
        mine = sorted(by_key.get(key, []), key=lambda s: (s.starts_at, s.pk))
        if column.day in closed:
            column.closed = f"Closed: {closed[column.day]}" if closed[column.day] else "Closed"
        elif not hours.get(column.day.weekday()):
            column.closed = f"Closed on {column.day:%A}s"
        periods = open_periods(column.day, hours, closed, tz)
        items = _closed_items(layout, periods, column.closed)
        fixed = {"date": column.day.isoformat(), **(booking or {})}
        if column.practitioner:
            fixed["practitioner"] = column.practitioner.pk
        if column.room:
            fixed["room"] = column.room.pk
        for start, end in free_periods(periods, [(s.starts_at, s.ends_at) for s in mine]):
            if column.day < today or end <= now:
                continue  # time gone by is not offered
            start = max(start, now) if column.day == today else start
            times = (clock(start), clock(end))
            url = f"{book_url}?{urlencode(fixed | {'time': times[0]})}"
            label = f"Free {times[0]}–{times[1]}"
            items.append(Item("free", *layout.place(start, end), start, end, label=label, url=url, times=times))
        items += [
            Item(
                "session",
                *layout.place(s.starts_at, s.ends_at),
                s.starts_at,
                s.ends_at,
                s,
                label=f"{clock(s.starts_at)}–{clock(s.ends_at)} {s.plan.client.full_name} · {s.series_label} · "
                f"{s.get_status_display()}",
                url=detail.format(s.pk),
                times=(clock(s.starts_at), clock(s.ends_at)),
                move_url=move.format(s.pk),
            )
            for s in mine
        ]
        column.items = sorted(items, key=lambda item: (item.row, item.kind != "closed"))
        column.is_today = column.day == today
        if column.is_today and first <= now_minute < last:
            column.now_row, column.now_minute = (now_minute - first) // ROW_MINUTES + 1, now_minute
    return Grid(first, layout.rows, layout.hour_marks(), list(columns), droppable=True)


@dataclass(frozen=True)
class Mark:
    """What everyone's week at a glance needs of a session: read as plain
    values (a chain's week has hundreds of sessions, a model each would cost
    more than the rest of the page)."""

    starts_at: dt.datetime
    ends_at: dt.datetime
    status: str
    practitioner_id: int
    room_id: int
    client: str

    FIELDS = ("starts_at", "ends_at", "status", "practitioner_id", "room_id")


@dataclass(frozen=True)
class Segment:
    """A session in the week's compact overview: where it sits along its day,
    in percent of the hours shown, and what it says on hover."""

    status: str
    left: float
    width: float
    title: str


@dataclass
class OverviewCell:
    day: dt.date
    closed: str | None
    segments: list[Segment]
    url: str  # that day for that practitioner or room

    @property
    def count(self) -> int:
        return len(self.segments)

    @property
    def bar(self) -> str:
        """The day's sessions as marks along a bar, as HTML: written here in
        one go, since a busy clinic's week has hundreds of them."""
        return mark_safe(
            "".join(
                f'<span class="ov-seg status-{esc(seg.status)}" style="left: {seg.left}%; width: {seg.width}%" '
                f'title="{esc(seg.title)}"></span>'
                for seg in self.segments
            )
        )


@dataclass
class OverviewRow:
    label: str
    url: str  # the week of that practitioner or room, as a calendar
    cells: list[OverviewCell]


def build_overview(
    *,
    resources: Sequence[User | Room],
    by_room: bool,
    days: Sequence[dt.date],
    sessions: Sequence[Mark],
    hours: Hours,
    closed: Mapping[dt.date, str],
    tz: ZoneInfo,
) -> tuple[list[OverviewRow], tuple[str, str]]:
    """The week of everyone at once: a row per practitioner (or room), a cell
    per day, each session a segment along the day; and the first and last hour
    a cell spans. Every session of the week is on it, whatever their number."""
    first, last = grid_hours(days, hours, sessions, tz)
    length = last - first
    cells: dict[tuple[int, dt.date], list[Segment]] = {}
    for s in sessions:
        start = s.starts_at.astimezone(tz)
        left = (_minutes(start.time()) - first) / length * 100
        width = max((s.ends_at - s.starts_at).total_seconds() / 60 / length * 100, 0.8)
        key = (s.room_id if by_room else s.practitioner_id, start.date())
        title = f"{start:%H:%M}–{s.ends_at.astimezone(tz):%H:%M} {s.client} · {SessionStatus(s.status).label}"
        cells.setdefault(key, []).append(Segment(s.status, round(left, 2), round(min(width, 100 - left), 2), title))
    param = "room" if by_room else "practitioner"
    schedule = reverse("schedule")
    rows = []
    for resource in resources:
        row = []
        for day in days:
            shut = f"Closed: {closed[day]}" if day in closed else (None if hours.get(day.weekday()) else "Closed")
            url = f"{schedule}?{urlencode({'view': 'day', 'date': day.isoformat(), param: resource.pk})}"
            row.append(OverviewCell(day, shut, cells.get((resource.pk, day), []), url))
        week = f"{schedule}?{urlencode({'view': 'week', 'date': days[0].isoformat(), param: resource.pk})}"
        rows.append(OverviewRow(str(resource), week, row))
    return rows, (f"{first // 60:02d}:00", f"{last // 60:02d}:00")
