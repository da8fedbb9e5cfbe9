"""The signal across clients: how often the sessions of each mixture, product,
lot, practitioner and treated area were followed by a side effect, over a
period, and which lots and mixtures stand well above the rest of the clinic
(sessions_app.signal_stats decides, in plain numbers).

Everything is counted in SQL, in one statement whatever the number of
sessions: the clinic's totals and a GROUP BY for each dimension. A session
counts once in a group however many injections, lots or side effects it had.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from sessions_app.models import (
    Injection,
    Mixture,
    Product,
    ProductLot,
    SessionStatus,
    SideEffect,
    SignalCount,
    SignalFlag,
    TreatmentArea,
    TreatmentPlan,
    TreatmentSession,
    User,
)
from sessions_app.plain_sql import column as _col
from sessions_app.plain_sql import moment
from sessions_app.plain_sql import table as _table
from sessions_app.reports import period as reports_period
from sessions_app.scheduling import clinic_tz
from sessions_app.signal_stats import Rate, rate_against_rest

# The period the page opens on, and the one the flags on Today are raised over.
DEFAULT_PERIOD_DAYS = 365


@dataclass(frozen=True)
class Period(reports_period.Period):
    """The reports' period (the same rule for what the page accepts), with
    the signal's default: the last year."""

    @classmethod
    def default(cls, today: dt.date | None = None) -> Period:
        today = today or timezone.localdate()
        return cls(today - dt.timedelta(days=DEFAULT_PERIOD_DAYS - 1), today)


@dataclass(frozen=True)
class Row:
    key: int
    label: str
    rate: Rate


@dataclass
class Dimension:
    slug: str
    title: str
    flags: bool  # whether its rows are tested against the rest of the clinic
    rows: list[Row] = field(default_factory=list)

    @property
    def flagged(self) -> list[Row]:
        return [row for row in self.rows if row.rate.flagged]

    def first(self, limit: int) -> list[Row]:
        """The rows a page opens with: the first `limit` (flagged first, then
        the highest rates), and every flagged row whatever their number."""
        return self.rows[: max(limit, len(self.flagged))]


@dataclass
class Signal:
    period: Period
    sessions: int
    with_side_effect: int
    dimensions: list[Dimension]
    # When the reminder round counted it; None when counted for this page.
    counted_at: dt.datetime | None = None

    @property
    def baseline(self) -> float:
        return self.with_side_effect / self.sessions if self.sessions else 0.0

    @property
    def percent(self) -> float:
        return 100 * self.baseline

    @property
    def flagged(self) -> list[tuple[Dimension, Row]]:
        return [(d, row) for d in self.dimensions for row in d.flagged]


# What each dimension is about, as its rows are labelled, and whether it is tested.
DIMENSIONS = {
    "mixture": ("Mixture", True),
    "product": ("Product", False),
    "lot": ("Lot", True),
    "practitioner": ("Practitioner", False),
    "area": ("Treated area", False),
}


def _counting_sql(wanted: tuple[str, ...]) -> str:
    """One statement for the clinic's totals and every dimension wanted: the
    period's completed sessions are read once (`s`, each with whether a side
    effect followed it: a hashed join, not a lookup per row), the sessions'
    lots once (`sl`), then each dimension is a GROUP BY over distinct
    (group, session) pairs, so a session counts once in a group whatever its
    injections, lots or side effects. A union of plain aggregates, the same on
    PostgreSQL and SQLite. Every name comes from the models, none from input."""
    ts, tp, se = _table(TreatmentSession), _table(TreatmentPlan), _table(SideEffect)
    inj, il, lot = _table(Injection), _table(Injection.lots.through), _table(ProductLot)
    prod, mix, user, area = _table(Product), _table(Mixture), _table(User), _table(TreatmentArea)
    q = connection.ops.quote_name
    ts_id, se_session, se_area = _col(TreatmentSession, "id"), _col(SideEffect, "session"), _col(SideEffect, "area")
    il_injection, il_lot = q(Injection.lots.field.m2m_column_name()), q(Injection.lots.field.m2m_reverse_name())
    ctes = [
        f"""s AS (
            SELECT ts.{ts_id} AS id, ts.{_col(TreatmentSession, "practitioner")} AS practitioner_id,
                   tp.{_col(TreatmentPlan, "mixture")} AS mixture_id,
                   CASE WHEN f.session_id IS NULL THEN 0 ELSE 1 END AS followed
            FROM {ts} ts
            JOIN {tp} tp ON tp.{_col(TreatmentPlan, "id")} = ts.{_col(TreatmentSession, "plan")}
            LEFT JOIN (SELECT DISTINCT {se_session} AS session_id FROM {se} WHERE {se_session} IS NOT NULL) f
                   ON f.session_id = ts.{ts_id}
            WHERE ts.{_col(TreatmentSession, "status")} = %s
              AND ts.{_col(TreatmentSession, "starts_at")} >= %s AND ts.{_col(TreatmentSession, "starts_at")} < %s
        )"""
    ]
    if {"lot", "product"} & set(wanted):
        ctes.append(
            f"""sl AS (
                SELECT DISTINCT il.{il_lot} AS lot_id, pl.{_col(ProductLot, "product")} AS product_id,
                       s.id AS session_id, s.followed
                FROM s
                JOIN {inj} i ON i.{_col(Injection, "session")} = s.id
                JOIN {il} il ON il.{il_injection} = i.{_col(Injection, "id")}
                JOIN {lot} pl ON pl.{_col(ProductLot, "id")} = il.{il_lot}
            )"""
        )
    parts = ["SELECT 'total' AS dimension, 0 AS key, '' AS label, COUNT(*) AS n, SUM(followed) AS k FROM s"]
    for slug in wanted:
        if slug == "mixture":
            parts.append(
                f"""SELECT 'mixture', s.mixture_id, MAX(m.{_col(Mixture, "name")}), COUNT(*), SUM(s.followed)
                FROM s JOIN {mix} m ON m.{_col(Mixture, "id")} = s.mixture_id GROUP BY s.mixture_id"""
            )
        elif slug == "practitioner":
            name = f"MAX(u.{_col(User, 'first_name')} || ' ' || u.{_col(User, 'last_name')})"
            parts.append(
                f"""SELECT 'practitioner', s.practitioner_id, {name}, COUNT(*), SUM(s.followed)
                FROM s JOIN {user} u ON u.{_col(User, "id")} = s.practitioner_id GROUP BY s.practitioner_id"""
            )
        elif slug == "lot":
            label = f"MAX(p.{_col(Product, 'name')} || ' lot ' || pl.{_col(ProductLot, 'lot_number')})"
            parts.append(
                f"""SELECT 'lot', sl.lot_id, {label}, COUNT(*), SUM(sl.followed)
                FROM sl JOIN {lot} pl ON pl.{_col(ProductLot, "id")} = sl.lot_id
                JOIN {prod} p ON p.{_col(Product, "id")} = sl.product_id GROUP BY sl.lot_id"""
            )
        elif slug == "product":
            parts.append(
                f"""SELECT 'product', x.product_id, MAX(p.{_col(Product, "name")}), COUNT(*), SUM(x.followed)
                FROM (SELECT DISTINCT product_id, session_id, followed FROM sl) x
                JOIN {prod} p ON p.{_col(Product, "id")} = x.product_id GROUP BY x.product_id"""
            )
        elif slug == "area":
            # A side effect counts for the area it is in, or for every area of its session when none is said.
            in_area = f"""CASE WHEN x.followed = 1 AND EXISTS (
                    SELECT 1 FROM {se} e WHERE e.{se_session} = x.session_id
                    AND (e.{se_area} IS NULL OR e.{se_area} = x.area_id)) THEN 1 ELSE 0 END"""
            parts.append(
                f"""SELECT 'area', x.area_id, MAX(a.{_col(TreatmentArea, "name")}), COUNT(*), SUM({in_area})
                FROM (SELECT DISTINCT i.{_col(Injection, "area")} AS area_id, s.id AS session_id, s.followed
                      FROM s JOIN {inj} i ON i.{_col(Injection, "session")} = s.id) x
                JOIN {area} a ON a.{_col(TreatmentArea, "id")} = x.area_id GROUP BY x.area_id"""
            )
        else:
            raise ValueError(f"No such dimension: {slug}")
    return "WITH " + ", ".join(ctes) + "\n" + "\nUNION ALL\n".join(parts)


def count(period: Period, wanted: tuple[str, ...] = tuple(DIMENSIONS)) -> dict:
    """The counts of every dimension wanted over the period, as plain values:
    {"total": [n, k], "rows": {dimension: [[id, label, n, k], ...]}}. One query."""
    start, end = period.bounds(clinic_tz())
    with connection.cursor() as cursor:
        cursor.execute(_counting_sql(wanted), [SessionStatus.COMPLETED, moment(start), moment(end)])
        counted = cursor.fetchall()
    result: dict = {"total": [0, 0], "rows": {slug: [] for slug in wanted}}
    for dimension, key, label, n, k in counted:
        if dimension == "total":
            result["total"] = [n, k or 0]
        else:
            result["rows"][dimension].append([key, (label or "").strip() or f"#{key}", n, k or 0])
    return result


def signal_from(period: Period, counts: dict, counted_at: dt.datetime | None = None) -> Signal:
    """The rates, intervals and flags of counts (sessions_app.signal_stats)."""
    total_n, total_k = counts["total"]
    built = []
    for slug, rows in counts["rows"].items():
        title, flags = DIMENSIONS[slug]
        dimension = Dimension(slug, title, flags)
        for key, label, n, k in rows:
            dimension.rows.append(Row(key, label, rate_against_rest(k, n, total_k, total_n, test=flags)))
        dimension.rows.sort(key=lambda row: (-row.rate.flagged, -row.rate.rate, -row.rate.sessions, row.label))
        built.append(dimension)
    return Signal(period, total_n, total_k, built, counted_at)


def signal_for(period: Period, *, dimensions: tuple[str, ...] | None = None, fresh: bool = False) -> Signal:
    """The signal over the period. The default period comes from the counts
    the reminder round keeps (one small query) when they are today's, unless
    `fresh`; any other period, or none kept, is counted now (one query)."""
    wanted = tuple(dimensions or DIMENSIONS)
    if not fresh and dimensions is None and period == Period.default():
        kept = (
            SignalCount.objects.filter(period_start=period.start, period_end=period.end)
            .values_list("counts", "counted_at")
            .first()
        )
        if kept:
            return signal_from(period, kept[0], kept[1])
    return signal_from(period, count(period, wanted))


# --- The flags on Today --------------------------------------------------------------

# A flag raised this recently is "new" on Today.
NEW_FLAG_DAYS = 30


@transaction.atomic
def signal_flags_refresh(*, now: dt.datetime | None = None) -> int:
    """Count the signal over the default period and keep the counts (the
    page shows them), raise a flag for each lot and mixture the test flags,
    keep the raised ones up to date, and clear those no longer flagged;
    returns how many were newly raised. The reminder worker runs it each round
    (one counting query, and a write per flag that changed)."""
    now = now or timezone.now()
    period = Period.default(timezone.localdate(now))
    counts = count(period)
    SignalCount.objects.exclude(period_start=period.start, period_end=period.end).delete()
    SignalCount.objects.update_or_create(
        period_start=period.start, period_end=period.end, defaults={"counted_at": now, "counts": counts}
    )
    signal = signal_from(period, counts, now)
    active = {(f.dimension, f.object_id): f for f in SignalFlag.objects.select_for_update().filter(cleared_at=None)}
    raised = 0
    for dimension, row in signal.flagged:
        values = {
            "label": row.label[:200],
            "sessions": row.rate.sessions,
            "with_side_effect": row.rate.with_side_effect,
            "baseline": row.rate.baseline or 0.0,
            "p_value": row.rate.p_value,
            "checked_at": now,
        }
        flag = active.pop((dimension.slug, row.key), None)
        if flag is None:
            SignalFlag.objects.create(dimension=dimension.slug, object_id=row.key, raised_at=now, **values)
            raised += 1
        else:
            SignalFlag.objects.filter(pk=flag.pk).update(**values)
    if active:
        SignalFlag.objects.filter(pk__in=[f.pk for f in active.values()]).update(cleared_at=now, checked_at=now)
    return raised


def new_flags(now: dt.datetime | None = None) -> QuerySet[SignalFlag]:
    """The flags standing now that were raised lately: what Today shows."""
    now = now or timezone.now()
    return SignalFlag.objects.filter(cleared_at=None, raised_at__gte=now - dt.timedelta(days=NEW_FLAG_DAYS)).order_by(
        "-raised_at", "-pk"
    )
