"""The signal across clients: how often the sessions of each mixture, product,
lot, practitioner and treated area were followed by a side effect, over a
period, and which lots and mixtures stand well above the rest of the clinic
(sessions_app.signal_stats decides, in plain numbers).

Everything is counted in SQL, a query per table, whatever the number of
sessions: the clinic's totals, then one GROUP BY for each dimension. A session
counts once in a group however many injections, lots or side effects it had.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from sessions_app.models import Injection, SessionStatus, SideEffect, SignalFlag, TreatmentSession
from sessions_app.signal_stats import Rate, rate_against_rest

# The period the page opens on, and the one the flags on Today are raised over.
DEFAULT_PERIOD_DAYS = 365


@dataclass(frozen=True)
class Period:
    start: dt.date  # included
    end: dt.date  # included

    @classmethod
    def default(cls, today: dt.date | None = None) -> Period:
        today = today or timezone.localdate()
        return cls(today - dt.timedelta(days=DEFAULT_PERIOD_DAYS - 1), today)

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """Midnight at the start to midnight after the end, in the clinic's time zone."""
        start = timezone.make_aware(dt.datetime.combine(self.start, dt.time.min))
        end = timezone.make_aware(dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min))
        return start, end


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


@dataclass
class Signal:
    period: Period
    sessions: int
    with_side_effect: int
    dimensions: list[Dimension]

    @property
    def baseline(self) -> float:
        return self.with_side_effect / self.sessions if self.sessions else 0.0

    @property
    def percent(self) -> float:
        return 100 * self.baseline

    @property
    def flagged(self) -> list[tuple[Dimension, Row]]:
        return [(d, row) for d in self.dimensions for row in d.flagged]


def _sessions(period: Period) -> QuerySet[TreatmentSession]:
    start, end = period.bounds()
    return TreatmentSession.objects.filter(status=SessionStatus.COMPLETED, starts_at__gte=start, starts_at__lt=end)


def _followed(session_ref: str, **extra) -> Q:
    """The session named by `session_ref` was followed by a side effect."""
    return Q(Exists(SideEffect.objects.filter(session=OuterRef(session_ref), **extra)))


def _rows(queryset, key: str, label, session: str, followed: Q, clinic: tuple[int, int], flags: bool) -> list[Row]:
    """One GROUP BY: each group's sessions (counted once) and those followed by
    a side effect, with the rate against the rest of the clinic."""
    counted = queryset.values(key, *label[0]).annotate(
        n=Count(session, distinct=True), k=Count(session, distinct=True, filter=followed)
    )
    rows = []
    for values in counted.order_by():
        rate = rate_against_rest(values["k"], values["n"], *clinic)
        if not flags:
            rate = Rate(rate.sessions, rate.with_side_effect, rate.low, rate.high, rate.baseline, None, False)
        rows.append(Row(values[key], label[1](values), rate))
    rows.sort(key=lambda row: (-row.rate.flagged, -row.rate.rate, -row.rate.sessions, row.label))
    return rows


def _person(prefix: str):
    def label(values) -> str:
        name = f"{values[prefix + 'first_name']} {values[prefix + 'last_name']}".strip()
        return name or values[prefix + "username"]

    return [prefix + f for f in ("first_name", "last_name", "username")], label


def _field(name: str):
    return [name], lambda values: values[name]


def signal_for(period: Period, *, dimensions: tuple[str, ...] | None = None) -> Signal:
    """The rates of every dimension (or those named) over the period: six
    queries at most, whatever the number of sessions."""
    sessions = _sessions(period)
    totals = sessions.aggregate(n=Count("pk"), k=Count("pk", filter=_followed("pk")))
    clinic = (totals["k"], totals["n"])
    injections = Injection.objects.filter(session__in=sessions)
    lots = Injection.lots.through.objects.filter(injection__session__in=sessions)
    wanted = dimensions or ("mixture", "product", "lot", "practitioner", "area")
    built = []
    for slug in wanted:
        if slug == "mixture":
            d = Dimension("mixture", "Mixture", True)
            d.rows = _rows(
                sessions, "plan__mixture_id", _field("plan__mixture__name"), "pk", _followed("pk"), clinic, True
            )
        elif slug == "product":
            d = Dimension("product", "Product", False)
            d.rows = _rows(
                lots,
                "productlot__product_id",
                _field("productlot__product__name"),
                "injection__session_id",
                _followed("injection__session_id"),
                clinic,
                False,
            )
        elif slug == "lot":
            d = Dimension("lot", "Lot", True)
            label = (
                ["productlot__lot_number", "productlot__product__name"],
                lambda v: f"{v['productlot__product__name']} lot {v['productlot__lot_number']}",
            )
            d.rows = _rows(
                lots, "productlot_id", label, "injection__session_id", _followed("injection__session_id"), clinic, True
            )
        elif slug == "practitioner":
            d = Dimension("practitioner", "Practitioner", False)
            d.rows = _rows(sessions, "practitioner_id", _person("practitioner__"), "pk", _followed("pk"), clinic, False)
        elif slug == "area":
            d = Dimension("area", "Treated area", False)
            # A side effect counts for the area it is in, or for every area of its session when none is said.
            in_area = Q(area__isnull=True) | Q(area=OuterRef("area_id"))
            followed = Q(Exists(SideEffect.objects.filter(in_area, session=OuterRef("session_id"))))
            d.rows = _rows(injections, "area_id", _field("area__name"), "session_id", followed, clinic, False)
        else:
            raise ValueError(f"No such dimension: {slug}")
        built.append(d)
    return Signal(period, totals["n"], totals["k"], built)


# --- The flags on Today --------------------------------------------------------------

# A flag raised this recently is "new" on Today.
NEW_FLAG_DAYS = 30


@transaction.atomic
def signal_flags_refresh(*, now: dt.datetime | None = None) -> int:
    """Raise a flag for each lot and mixture the test flags over the default
    period, keep the raised ones up to date, and clear those no longer
    flagged; returns how many were newly raised. The reminder worker runs it
    each round (four queries and a write per flag that changed)."""
    now = now or timezone.now()
    period = Period.default(timezone.localdate(now))
    signal = signal_for(period, dimensions=("mixture", "lot"))
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
