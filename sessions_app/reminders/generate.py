"""Reminders from the rules, set-based and idempotent.

For each active rule one query finds what needs a reminder and has none yet
(an anti-join on the rule), the due times come from `rules` (plain values),
and the rows are written skipping any whose unique `key` exists (`write_new`):
running this twice, or in two workers at once, creates nothing new.
Reminders that are no longer needed (a session cancelled, a maintenance
session booked, a new screening) are cancelled with one UPDATE per kind.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import CharField, Exists, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Cast, Concat

from sessions_app.models import (
    PlanStatus,
    Reminder,
    ReminderKind,
    ReminderRule,
    ReminderStatus,
    Screening,
    SessionStatus,
    SideEffect,
    SideEffectStatus,
    TreatmentPlan,
    TreatmentSession,
)
from sessions_app.models.expressions import SubqueryCount
from sessions_app.reminders.rules import (
    consents_needed,
    due_at,
    first_anchor_day,
    first_anchor_moment,
    first_screened_on,
    reminder_key,
    screening_expires_on,
    start_of_day,
)
from sessions_app.scheduling import clinic_tz

# Rows per INSERT: PostgreSQL takes them as arrays (UNNEST), so fewer, larger batches.
BATCH = 5000
# Reminders that may still go out: waiting, or failed with a retry planned.
OPEN = Q(status=ReminderStatus.PENDING) | Q(status=ReminderStatus.FAILED, next_attempt_at__isnull=False)
# A key with "#" belongs to a reminder set aside (sent before its session moved).
SET_ASIDE = "#"


@contextlib.contextmanager
def read_whole() -> Iterator[None]:
    """On PostgreSQL, the block's queries planned for reading every row (as it
    was after). The rules read their candidates through a server-side cursor
    (iterator()), which PostgreSQL plans for the first tenth of the rows: at a
    chain's size it then ran a subquery per plan in maintenance (2 to 3 s a
    rule) where reading the lot takes 0.1 to 0.7 s. Every row is read here."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('cursor_tuple_fraction'), set_config('cursor_tuple_fraction', '1', false)"
        )
        (was, _) = cursor.fetchone()
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('cursor_tuple_fraction', %s, false)", [was])


@dataclass(frozen=True, slots=True)
class Target:
    """One thing a rule reminds about, with the client's wishes."""

    client_id: int
    plan_id: int | None
    session_id: int | None
    screening_id: int | None
    anchor: dt.datetime | dt.date
    preferred: str
    consent_email: bool
    consent_sms: bool
    side_effect_id: int | None = None


_CLIENT = ("preferred_channel", "consent_email", "consent_sms")


def _no_reminder(rule: ReminderRule, **subject) -> Exists:
    """The anti-join: nothing of this rule about this subject yet."""
    return Exists(Reminder.objects.filter(rule=rule, **subject).exclude(key__contains=SET_ASIDE))


def _reaching(rule: ReminderRule, client: str) -> Q:
    """The clients (the path to them: `client`) this rule makes a reminder for:
    everyone, unless it only sends messages and makes no call instead (a
    check-in), when those agreeing to a channel it offers."""
    needed = consents_needed(
        email=rule.by_email, sms=rule.by_sms, call=rule.by_call, call_instead=rule.kind != ReminderKind.CHECK_IN
    )
    if needed is None:
        return Q()
    reached = Q(pk__in=[])
    for consent in needed:
        reached |= Q(**{f"{client}__{consent}": True})
    return reached


def _upcoming(rule: ReminderRule, now: dt.datetime, since: dt.datetime) -> Iterator[Target]:
    rows = (
        TreatmentSession.objects.filter(
            _reaching(rule, "plan__client"),
            status__in=SessionStatus.MOVABLE,
            starts_at__gt=now,
            plan__client__archived_at__isnull=True,
        )
        .filter(~_no_reminder(rule, session=OuterRef("pk")))
        .order_by()
        .values_list("pk", "plan_id", "plan__client_id", "starts_at", *(f"plan__client__{f}" for f in _CLIENT))
    )
    for pk, plan_id, client_id, starts_at, *wishes in rows.iterator(chunk_size=2000):
        yield Target(client_id, plan_id, pk, None, starts_at, *wishes)


def _aftercare(rule: ReminderRule, now: dt.datetime, since: dt.datetime) -> Iterator[Target]:
    rows = (
        TreatmentSession.objects.filter(
            _reaching(rule, "plan__client"),
            status=SessionStatus.COMPLETED,
            completed_at__gte=first_anchor_moment(rule.offset, since, clinic_tz()),
            plan__client__archived_at__isnull=True,
        )
        .filter(~_no_reminder(rule, session=OuterRef("pk")))
        .order_by()
        .values_list("pk", "plan_id", "plan__client_id", "completed_at", *(f"plan__client__{f}" for f in _CLIENT))
    )
    for pk, plan_id, client_id, completed_at, *wishes in rows.iterator(chunk_size=2000):
        yield Target(client_id, plan_id, pk, None, completed_at, *wishes)


def _plans_waiting(status: PlanStatus, rule: ReminderRule, recent: Q, now: dt.datetime, booked: QuerySet):
    """Plans in `status` with none of `booked` (the sessions that mean their next
    visit is booked), annotated with their last completed session (`last_id`,
    `last_start`), which has no reminder of this rule yet and is `recent` (a
    condition on a session: a plan with a completed session that is has its
    last one that recent too)."""
    completed = TreatmentSession.objects.filter(status=SessionStatus.COMPLETED)
    last = completed.filter(plan=OuterRef("pk")).order_by("-starts_at", "-pk")
    # Read from the recent sessions, so the subqueries below run for those
    # few plans, not for every plan in `status`.
    lately = completed.filter(recent, starts_at__lte=now).values("plan_id")
    # Unordered: the plans' own order (newest first) had PostgreSQL walk an index
    # of every plan for it, running the subqueries on each.
    return (
        TreatmentPlan.objects.filter(
            _reaching(rule, "client"), status=status, client__archived_at__isnull=True, pk__in=lately
        )
        .order_by()
        .exclude(Exists(booked.filter(plan=OuterRef("pk"))))
        .annotate(last_id=Subquery(last.values("pk")[:1]), last_start=Subquery(last.values("starts_at")[:1]))
        .filter(~_no_reminder(rule, session=OuterRef("last_id")))
    )


def _next_unbooked(rule: ReminderRule, now: dt.datetime, since: dt.datetime) -> Iterator[Target]:
    kept = TreatmentSession.objects.filter(plan=OuterRef("pk")).kept_series()
    # Only a last session from then on makes a reminder due since `since`.
    earliest = first_anchor_moment(rule.offset, since, clinic_tz())
    rows = (
        _plans_waiting(PlanStatus.ACTIVE, rule, Q(starts_at__gte=earliest), now, TreatmentSession.objects.ahead())
        .annotate(kept=SubqueryCount(kept))
        .filter(kept__lt=F("sessions_planned"))
        .values_list("pk", "client_id", "last_id", "last_start", *(f"client__{f}" for f in _CLIENT))
    )
    for pk, client_id, last_id, last_start, *wishes in rows.iterator(chunk_size=2000):
        yield Target(client_id, pk, last_id, None, last_start, *wishes)


def _maintenance(rule: ReminderRule, now: dt.datetime, since: dt.datetime) -> Iterator[Target]:
    tz = clinic_tz()
    # The maintenance dates whose reminder falls due since `since`: from
    # `first` on. A plan's date is its interval after its last session's day,
    # so a plan qualifies when that day is its interval before `first` or later:
    # one condition per interval in use (a handful), exact to the day.
    first = first_anchor_day(rule.offset, since, tz)
    intervals = (
        TreatmentPlan.objects.filter(status=PlanStatus.MAINTENANCE, maintenance_interval_days__isnull=False)
        .order_by()
        .values_list("maintenance_interval_days", flat=True)
        .distinct()
    )
    cuts = {days: start_of_day(first - dt.timedelta(days=days), tz) for days in intervals}
    if not cuts:
        return
    recent = Q()
    for days, cut in cuts.items():
        recent |= Q(plan__maintenance_interval_days=days, starts_at__gte=cut)
    plans = (
        _plans_waiting(
            PlanStatus.MAINTENANCE,
            rule,
            recent,
            now,
            TreatmentSession.objects.maintenance_booked(),
        )
        .select_related("client")
        .only("pk", "maintenance_interval_days", *(f"client__{f}" for f in _CLIENT))
    )
    for plan in plans.iterator(chunk_size=2000):
        due_on = plan.maintenance_due_on(plan.last_start)
        yield Target(plan.client_id, plan.pk, plan.last_id, None, due_on, *(getattr(plan.client, f) for f in _CLIENT))


def _screening(rule: ReminderRule, now: dt.datetime, since: dt.datetime) -> Iterator[Target]:
    months = settings.CLINIC_SCREENING_MAX_AGE_MONTHS
    in_treatment = TreatmentPlan.objects.filter(
        client=OuterRef("client"), status__in=(PlanStatus.ACTIVE, PlanStatus.MAINTENANCE)
    )
    tz = clinic_tz()
    # The screenings that run out when a reminder due since `since` is: made on that day or later.
    earliest = start_of_day(first_screened_on(first_anchor_day(rule.offset, since, tz), months), tz)
    rows = (
        Screening.objects.filter(
            _reaching(rule, "client"),
            pk=Screening.latest_of_client(),
            screened_at__gte=earliest,
            client__archived_at__isnull=True,
        )
        .filter(Exists(in_treatment))
        .filter(~_no_reminder(rule, screening=OuterRef("pk")))
        .order_by()
        .values_list("pk", "client_id", "screened_at", *(f"client__{f}" for f in _CLIENT))
    )
    for pk, client_id, screened_at, *wishes in rows.iterator(chunk_size=2000):
        expires = screening_expires_on(screened_at.astimezone(tz).date(), months)
        yield Target(client_id, None, None, pk, expires, *wishes)


def _side_effect_unresolved(rule: ReminderRule, now: dt.datetime, since: dt.datetime) -> Iterator[Target]:
    """Side effects still unresolved that have a time their kind usually takes,
    counted from that day. Only those expected from `earliest` on fall due since `since`."""
    earliest = first_anchor_day(rule.offset, since, clinic_tz())
    rows = (
        SideEffect.objects.filter(
            _reaching(rule, "client"),
            resolved_on__isnull=True,
            expected_resolution_on__isnull=False,
            expected_resolution_on__gte=earliest,
            client__archived_at__isnull=True,
        )
        .filter(~_no_reminder(rule, side_effect=OuterRef("pk")))
        .order_by()
        .values_list(
            "pk",
            "client_id",
            "session_id",
            "session__plan_id",
            "expected_resolution_on",
            *(f"client__{f}" for f in _CLIENT),
        )
    )
    for pk, client_id, session_id, plan_id, expected, *wishes in rows.iterator(chunk_size=2000):
        yield Target(client_id, plan_id, session_id, None, expected, *wishes, side_effect_id=pk)


CANDIDATES = {
    ReminderKind.UPCOMING_SESSION: _upcoming,
    ReminderKind.AFTERCARE_CHECK: _aftercare,
    # The same sessions as the aftercare check: completed lately, each rule its own day.
    ReminderKind.CHECK_IN: _aftercare,
    ReminderKind.SIDE_EFFECT_UNRESOLVED: _side_effect_unresolved,
    ReminderKind.NEXT_SESSION_UNBOOKED: _next_unbooked,
    ReminderKind.MAINTENANCE_DUE: _maintenance,
    ReminderKind.SCREENING_RENEWAL: _screening,
}


# What differs from one reminder of a rule to the next; the rest of a row is
# the rule's or the model's defaults.
ROW = ("client_id", "plan_id", "session_id", "screening_id", "side_effect_id", "channel", "key", "due_at")


def reminders_for(rule: ReminderRule, targets: Iterable[Target], *, since: dt.datetime) -> Iterator[tuple]:
    """The reminders a rule makes for its targets, as ROW tuples (plain
    values in, plain values out); none that fell due before `since`."""
    tz = clinic_tz()
    for t in targets:
        due = due_at(t.anchor, rule.offset, tz)
        if due < since:
            continue
        if t.side_effect_id:
            subject, subject_id = "side_effect", t.side_effect_id
        elif t.screening_id:
            subject, subject_id = "screening", t.screening_id
        else:
            subject, subject_id = "session", t.session_id
        channels = rule.channels_for(preferred=t.preferred, consent_email=t.consent_email, consent_sms=t.consent_sms)
        for slot, channel in channels.items():
            key = reminder_key(rule.kind, slot, rule.pk, subject, subject_id)
            yield (t.client_id, t.plan_id, t.session_id, t.screening_id, t.side_effect_id, channel, key, due)


def write_new(rule: ReminderRule, rows: list[tuple]) -> None:
    """Insert the rule's reminders (ROW tuples), skipping those whose key is
    taken: the unique constraint decides, so two workers at once write each
    reminder once.

    On PostgreSQL each batch is one INSERT ... SELECT FROM unnest(): a column
    of values per array, the columns every row shares sent once. That skips
    building a model object and adapting every field of every row, which is
    most of the cost of a first round (15,000 reminders for a chain of
    clinics). Other databases take the same rows through bulk_create."""
    if connection.vendor != "postgresql":
        objs = (Reminder(rule=rule, kind=rule.kind, **dict(zip(ROW, row, strict=True))) for row in rows)
        Reminder.objects.bulk_create(objs, batch_size=BATCH, ignore_conflicts=True)
        return
    fields = {f.attname: f for f in Reminder._meta.concrete_fields if not f.primary_key}
    varying = [fields.pop(name) for name in ROW]
    # The same in every row: the rule, the kind, and each field's default (or
    # creation time), prepared as saving `template` would prepare them.
    template = Reminder(rule=rule, kind=rule.kind)
    shared = {f: f.get_db_prep_save(f.pre_save(template, add=True), connection) for f in fields.values()}
    qn = connection.ops.quote_name
    columns = ", ".join(qn(f.column) for f in [*varying, *shared])
    arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in varying)
    placeholders = ", ".join(["%s"] * len(shared))
    sql = (
        f"INSERT INTO {qn(Reminder._meta.db_table)} ({columns}) "
        f"SELECT rows.*, {placeholders} FROM unnest({arrays}) AS rows "
        "ON CONFLICT DO NOTHING"
    )
    with connection.cursor() as cursor:
        for start in range(0, len(rows), BATCH):
            batch = rows[start : start + BATCH]
            cursor.execute(sql, [*shared.values(), *(list(column) for column in zip(*batch, strict=True))])


def reminders_generate(*, now: dt.datetime, kinds: Iterable[str] | None = None) -> int:
    """Create the reminders every active rule (of `kinds`, or all) calls for
    that do not exist yet. Returns how many rows were offered to the database
    (a concurrent worker may have written some of them first: those are skipped)."""
    since = now - dt.timedelta(days=settings.CLINIC_REMINDER_CATCH_UP_DAYS)
    offered = 0
    rules = ReminderRule.objects.filter(active=True)
    if kinds is not None:
        rules = rules.filter(kind__in=list(kinds))
    with read_whole():
        for rule in rules:
            rows = list(reminders_for(rule, CANDIDATES[rule.kind](rule, now, since), since=since))
            write_new(rule, rows)
            offered += len(rows)
    return offered


def _kept_after_anchor() -> Exists:
    """A session of the reminder's plan, kept or still to come, after the one
    the reminder counts from: the client came back or booked."""
    return Exists(
        TreatmentSession.objects.filter(plan=OuterRef("plan"), starts_at__gt=OuterRef("session__starts_at")).exclude(
            status__in=SessionStatus.NOT_KEPT
        )
    )


def obsolete(now: dt.datetime) -> dict[str, tuple[Q, str]]:
    """For each kind: which of its reminders are no longer needed, and why."""
    return {
        ReminderKind.UPCOMING_SESSION: (
            ~Q(session__status__in=SessionStatus.MOVABLE) | Q(session__starts_at__lte=now),
            "the session was cancelled or has begun",
        ),
        ReminderKind.AFTERCARE_CHECK: (~Q(session__status=SessionStatus.COMPLETED), "the session is not completed"),
        ReminderKind.NEXT_SESSION_UNBOOKED: (
            ~Q(plan__status=PlanStatus.ACTIVE) | _kept_after_anchor(),
            "the next session is booked, or the plan is no longer active",
        ),
        ReminderKind.MAINTENANCE_DUE: (
            ~Q(plan__status=PlanStatus.MAINTENANCE) | _kept_after_anchor(),
            "a maintenance session is booked, or the plan is no longer in maintenance",
        ),
        ReminderKind.SCREENING_RENEWAL: (
            Exists(
                Screening.objects.filter(client=OuterRef("client"), screened_at__gt=OuterRef("screening__screened_at"))
            ),
            "the client was screened again",
        ),
        ReminderKind.CHECK_IN: (~Q(session__status=SessionStatus.COMPLETED), "the session is not completed"),
        ReminderKind.SIDE_EFFECT_UNRESOLVED: (
            Q(side_effect__status=SideEffectStatus.RESOLVED),
            "the side effect has resolved",
        ),
        ReminderKind.SIDE_EFFECT_URGENT: (
            Q(side_effect__status=SideEffectStatus.RESOLVED),
            "the side effect has resolved",
        ),
    }


ARCHIVED = (Q(client__archived_at__isnull=False), "the client is archived")
# A manager switched the rule off: what it queued is not sent either.
RULE_OFF = (Q(rule__active=False), "its rule was switched off")


def obsolete_reasons(reminders: Iterable[Reminder], *, now: dt.datetime) -> dict[int, str]:
    """Why each of these reminders is no longer needed, by id (those still
    needed are left out): a query for each kind among them, and two for all
    (archived client, rule switched off), whatever their number."""
    by_kind: dict[str, list[int]] = {}
    for reminder in reminders:
        by_kind.setdefault(reminder.kind, []).append(reminder.pk)
    every = [pk for ids in by_kind.values() for pk in ids]
    rules = obsolete(now)
    checks = [(*rules[kind], ids) for kind, ids in by_kind.items() if kind in rules]
    reasons: dict[int, str] = {}
    # The kind's own reason first, as the bulk cancellation would give it.
    for condition, why, ids in [*checks, (*ARCHIVED, every), (*RULE_OFF, every)]:
        for pk in Reminder.objects.filter(pk__in=ids).filter(condition).values_list("pk", flat=True):
            reasons.setdefault(pk, why)
    return reasons


def reminders_cancel_obsolete(*, now: dt.datetime) -> int:
    """Cancel the open reminders no longer needed, each with its reason: one
    UPDATE per kind."""
    cancelled = 0
    with read_whole():
        for kind, (condition, why) in [*obsolete(now).items(), (None, ARCHIVED), (None, RULE_OFF)]:
            rows = Reminder.objects.filter(OPEN).filter(condition)
            if kind:
                rows = rows.filter(kind=kind)
            cancelled += rows.update(
                status=ReminderStatus.CANCELLED, next_attempt_at=None, last_error=f"Not sent: {why}."
            )
    return cancelled


def reminders_follow_sessions(*, session_ids: Iterable[int]) -> None:
    """Keep the reminders of these sessions in step after a move or a status
    change; services.moves and services.session_status call this inside their
    transaction (the admin too, after a change of time or status).

    Open upcoming-session reminders of a session no longer booked or confirmed
    are cancelled; those of a moved session take the due time their rule gives
    for the new start. A reminder already sent for the old time is set aside
    (its key marked), so the next generation sends one for the new time; so is
    one cancelled with its session when the session is booked again (an undone
    cancellation), and the next generation writes it anew as the rules and the
    client's wishes say then."""
    ids = list(session_ids)
    upcoming = Reminder.objects.filter(session_id__in=ids, kind=ReminderKind.UPCOMING_SESSION)
    # One query for the statuses, and an UPDATE only for those present (none after a move).
    called_off = TreatmentSession.objects.filter(pk__in=ids).exclude(status__in=SessionStatus.MOVABLE)
    for status in set(called_off.values_list("status", flat=True)):
        upcoming.filter(OPEN, session__status=status).update(
            status=ReminderStatus.CANCELLED,
            next_attempt_at=None,
            last_error=f"Not sent: the session is {SessionStatus(status).label.lower()}.",
        )
    tz = clinic_tz()
    moved, set_aside = [], []
    for reminder in upcoming.filter(session__status__in=SessionStatus.MOVABLE, rule__isnull=False).select_related(
        "rule", "session"
    ):
        if reminder.status == ReminderStatus.CANCELLED:
            set_aside.append(reminder.pk)
            continue
        due = due_at(reminder.session.starts_at, reminder.rule.offset, tz)
        if reminder.due_at == due:
            continue
        if reminder.status == ReminderStatus.SENT:
            set_aside.append(reminder.pk)
        elif reminder.status in (ReminderStatus.PENDING, ReminderStatus.FAILED):
            reminder.due_at = due
            moved.append(reminder)
    Reminder.objects.bulk_update(moved, ["due_at"], batch_size=BATCH)
    Reminder.objects.filter(pk__in=set_aside).update(
        key=Concat(F("key"), Value(SET_ASIDE), Cast("pk", CharField()), output_field=CharField())
    )
