"""Treatment plans and their sessions: the series, its statuses and its place in the calendar."""

import datetime as dt
import enum
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Count, F, OuterRef, Q
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.timezone import localtime
from simple_history.models import HistoricalRecords

from sessions_app.scheduling import clinic_tz, maintenance_due_on

from .catalog import Indication, Mixture, Room, TreatmentArea
from .clients import Client
from .expressions import SubqueryCount
from .staff import Role

# Only members of the Practitioner group treat clients (admin lists and validation).
PRACTITIONERS = {"groups__name": Role.PRACTITIONER}
# Re-bookings number sessions past the plan's size; no series comes near this.
SEQUENCE_MAX = 100
PAIN_SCORE_MAX = 10
# A series is "often 4 to 10, up to about 15"; 30 leaves room without allowing typos like 600.
SESSIONS_PLANNED_MAX = 30
# Series sessions are days to weeks apart; a year is already far beyond any protocol.
INTERVAL_DAYS_MAX = 365
# Maintenance is months apart; two years covers a yearly touch-up with room to spare.
MAINTENANCE_INTERVAL_DAYS_MAX = 730


class PlanStatus(models.TextChoices):
    ACTIVE = "active", "Active series"
    MAINTENANCE = "maintenance", "Maintenance"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


class TreatmentPlan(models.Model):
    """A series of sessions agreed with a client, then maintenance."""

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="plans")
    indication = models.ForeignKey(Indication, on_delete=models.PROTECT, related_name="plans")
    areas = models.ManyToManyField(TreatmentArea, related_name="plans")
    mixture = models.ForeignKey(Mixture, on_delete=models.PROTECT, related_name="plans")
    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="plans", limit_choices_to=PRACTITIONERS
    )
    sessions_planned = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(SESSIONS_PLANNED_MAX)]
    )
    interval_days = models.PositiveSmallIntegerField(
        "interval between sessions (days)", validators=[MinValueValidator(1), MaxValueValidator(INTERVAL_DAYS_MAX)]
    )
    maintenance_interval_days = models.PositiveSmallIntegerField(
        "maintenance interval (days)",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAINTENANCE_INTERVAL_DAYS_MAX)],
    )
    status = models.CharField(max_length=12, choices=PlanStatus.choices, default=PlanStatus.ACTIVE)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(m2m_fields=[areas])

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(sessions_planned__gte=1, sessions_planned__lte=SESSIONS_PLANNED_MAX),
                name="plan_sessions_planned_range",
                violation_error_message=f"A series has 1 to {SESSIONS_PLANNED_MAX} sessions.",
            ),
            models.CheckConstraint(
                condition=Q(interval_days__gte=1),
                name="plan_interval_positive",
                violation_error_message="The interval between sessions must be at least one day.",
            ),
            models.CheckConstraint(
                condition=Q(interval_days__lte=INTERVAL_DAYS_MAX),
                name="plan_interval_max",
                violation_error_message=f"The interval between sessions is at most {INTERVAL_DAYS_MAX} days.",
            ),
            models.CheckConstraint(
                condition=Q(maintenance_interval_days__isnull=True) | Q(maintenance_interval_days__gte=1),
                name="plan_maintenance_interval_positive",
                violation_error_message="The maintenance interval must be at least one day.",
            ),
            models.CheckConstraint(
                condition=Q(maintenance_interval_days__isnull=True)
                | Q(maintenance_interval_days__lte=MAINTENANCE_INTERVAL_DAYS_MAX),
                name="plan_maintenance_interval_max",
                violation_error_message=f"The maintenance interval is at most {MAINTENANCE_INTERVAL_DAYS_MAX} days.",
            ),
            models.CheckConstraint(condition=Q(status__in=PlanStatus.values), name="plan_status_valid"),
        ]
        indexes = [
            # A client's plans on the client page, newest first.
            models.Index(fields=["client", "-created_at"], name="plan_client_idx"),
            # Plans in maintenance, for recall lists.
            models.Index(fields=["status"], name="plan_status_idx"),
            # The admin's list, newest first (a page read from the index, not sorted), and
            # the first and last date of its date drill-down.
            models.Index(fields=["-created_at", "-id"], name="plan_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.client}: {self.indication} ({self.sessions_planned} sessions)"

    def maintenance_due_on(self, last_session_start: dt.datetime) -> dt.date | None:
        """The plan's next maintenance date after a session that started then
        (scheduling.maintenance_due_on, in the clinic's calendar)."""
        return maintenance_due_on(last_session_start, self.maintenance_interval_days, clinic_tz())


@dataclass(frozen=True)
class Transition:
    """A status action on a session (a button on the schedule): the status it
    leads to, and the statuses it may start from."""

    target: str
    sources: tuple[str, ...]


class Cancellation(models.TextChoices):
    """Who called a session off, asked when it is cancelled: a late cancellation
    by the client is told apart, as clinics charge or follow up those."""

    CLIENT = "client", "By the client"
    LATE = "late", "By the client, late"
    CLINIC = "clinic", "By the clinic"


def _local(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(clinic_tz())


class SessionStatus(models.TextChoices):
    """A session's status, and the one home of what statuses mean: which are
    ahead, which a move may change, which did not happen, which changes an
    action (or the admin) may make and when, when a change may be undone, and
    when a session may be recorded."""

    BOOKED = "booked", "Booked"
    CONFIRMED = "confirmed", "Confirmed"
    ARRIVED = "arrived", "Arrived"
    COMPLETED = "completed", "Completed"
    NO_SHOW = "no_show", "No-show"
    CANCELLED = "cancelled", "Cancelled"

    # The groups, by value: a member equals its value, so `status in
    # SessionStatus.AHEAD` and `status__in=SessionStatus.AHEAD` both read them.
    # Not begun yet: a move may change them, and their upcoming reminder still goes out.
    MOVABLE = enum.nonmember(("booked", "confirmed"))
    # Still ahead: not begun, or arrived and not yet recorded. The clearance badge
    # is shown for these; while a plan has one, it is not waiting for a booking.
    AHEAD = enum.nonmember(("booked", "confirmed", "arrived"))
    # Did not happen, and does not count towards the series.
    NOT_KEPT = enum.nonmember(("cancelled", "no_show"))
    # The client was treated (or is being treated): a side effect may follow.
    TREATED = enum.nonmember(("arrived", "completed"))
    # Which status each action leads to, from which statuses. Completing is not
    # one of them: only signing the record completes a session (services.records).
    TRANSITIONS = enum.nonmember(
        {
            "confirm": Transition("confirmed", ("booked",)),
            "arrive": Transition("arrived", ("booked", "confirmed")),
            "no_show": Transition("no_show", ("booked", "confirmed")),
            "cancel": Transition("cancelled", ("booked", "confirmed")),
        }
    )
    # Actions that ask "are you sure?" first: they call a session off.
    CONFIRM_FIRST = enum.nonmember(("no_show", "cancel"))
    # How long the person who changed a status may undo it.
    UNDO_WINDOW = enum.nonmember(dt.timedelta(minutes=10))

    @classmethod
    def action_to(cls, target: str) -> str | None:
        """The action that leads to `target`, if any (the admin's status field
        names a status, the services an action)."""
        return next((name for name, t in cls.TRANSITIONS.items() if t.target == target), None)

    @classmethod
    def refusal(cls, current: str, target: str, *, starts_at: dt.datetime, now: dt.datetime) -> str | None:
        """Why a session's status may not change from `current` to `target`
        now, or None when an action of TRANSITIONS allows it: the rule the
        status service, the admin's status field and the schedule's buttons
        ask. Beside the transitions, the rules of time, on the clinic's wall
        clock: confirmed only before the session starts, arrived only on its
        day, no-show only once it has started."""
        if not any(t.target == target and current in t.sources for t in cls.TRANSITIONS.values()):
            return f"A session that is {cls(current).label.lower()} cannot be marked {cls(target).label.lower()}."
        start = _local(starts_at)
        if target == cls.CONFIRMED and now >= starts_at:
            return "This session has begun: it can no longer be confirmed. Mark it arrived or no-show."
        if target == cls.ARRIVED and start.date() != _local(now).date():
            return f"This session is on {start:%A %d %B %Y}: the client can be marked arrived only on that day."
        if target == cls.NO_SHOW and now < starts_at:
            return (
                f"This session starts on {start:%A %d %B %Y at %H:%M}: it can be marked no-show only once it has begun."
            )
        return None

    @classmethod
    def actions(cls, current: str, *, starts_at: dt.datetime, now: dt.datetime) -> tuple[str, ...]:
        """The actions refusal allows on a session now, in TRANSITIONS' order:
        the buttons a page offers."""
        return tuple(
            name
            for name, t in cls.TRANSITIONS.items()
            if cls.refusal(current, t.target, starts_at=starts_at, now=now) is None
        )

    @classmethod
    def undo_refusal(
        cls,
        *,
        undo_status: str,
        changed_by_id: int | None,
        changed_at: dt.datetime | None,
        user_id: int,
        now: dt.datetime,
    ) -> str | None:
        """Why the last status change of a session may not be undone by this
        user now, or None: only the person who made it, within UNDO_WINDOW, and
        only once (an undo is not itself undone)."""
        if not undo_status or changed_at is None:
            return "This session's status has no change to undo."
        if changed_by_id != user_id:
            return "Only the person who changed this status can undo it."
        if now - changed_at > cls.UNDO_WINDOW:
            minutes = int(cls.UNDO_WINDOW.total_seconds() // 60)
            return f"This status was changed more than {minutes} minutes ago: it can no longer be undone."
        return None

    @classmethod
    def lateness(cls, current: str, *, starts_at: dt.datetime, ends_at: dt.datetime, now: dt.datetime) -> str | None:
        """What is overdue about a session now, as Today and the schedule flag
        it: begun and the client not marked arrived, or over and not recorded."""
        if current in cls.MOVABLE and now >= starts_at:
            return "Not arrived"
        if current == cls.ARRIVED and now >= ends_at:
            return "Not recorded"
        return None

    @classmethod
    def may_have_caused(cls, current: str, *, starts_at: dt.datetime, now: dt.datetime) -> bool:
        """Whether a side effect may follow a session now: the client was
        treated in it (TREATED: arrived or completed) and it has begun.
        TreatmentSessionQuerySet.possible_causes asks the same in SQL."""
        return current in cls.TREATED and starts_at <= now

    @classmethod
    def record_refusal(cls, current: str, *, starts_at: dt.datetime, now: dt.datetime) -> str | None:
        """Why a session may not be recorded (and signed) now, or None: it must
        not be signed already nor called off, and the client must have arrived
        or the session begun. The record page says it before anyone types, the
        schedule offers "Record" only without it, and the record service asks
        it again before writing."""
        if current == cls.COMPLETED:
            return "This session is completed and its record signed: correct it with an amendment."
        if current in cls.NOT_KEPT:
            return f"A {cls(current).label.lower()} session cannot be recorded."
        if current != cls.ARRIVED and now < starts_at:
            start = _local(starts_at)
            return (
                f"This session starts on {start:%A %d %B %Y at %H:%M}: it can be recorded once the client has "
                "arrived or the session has begun."
            )
        return None


class Anaesthetic(models.TextChoices):
    NONE = "none", "None"
    TOPICAL = "topical", "Topical cream"
    IN_MIXTURE = "in_mixture", "Local anaesthetic in the mixture"
    COLD = "cold", "Cooling"


class CombinationTherapy(models.TextChoices):
    NONE = "none", "None"
    RADIOFREQUENCY = "radiofrequency", "Radiofrequency"
    ULTRASOUND = "ultrasound", "Ultrasound"
    LASER = "laser", "Laser"
    OTHER = "other", "Other"


def position_label(position: int, planned: int) -> str:
    """A series session's place as users read it: "3 of 6"."""
    return f"{position} of {planned}"


# The series sessions that count ("3 of 6"): done or still to come, not
# missed. kept_series() filters by it, and session_series_position_idx holds
# exactly these rows: one definition, so that the count keeps reading the index.
KEPT_SERIES = Q(is_maintenance=False) & ~Q(status__in=SessionStatus.NOT_KEPT)


class TreatmentSessionQuerySet(models.QuerySet):
    def not_cancelled(self):
        return self.exclude(status=SessionStatus.CANCELLED)

    def conflicting(self, *, practitioner_id, room_id, start, end):
        """Sessions that a booking of this practitioner or room at [start, end)
        would double-book."""
        return self.conflicting_any([(practitioner_id, room_id, start, end)])

    def conflicting_any(self, bookings):
        """Sessions that any of `bookings`, (practitioner_id, room_id, start, end)
        tuples, would double-book, in one query for a whole series: those of the
        same practitioner or room whose [starts_at, ends_at) overlaps, cancelled
        ones excepted (the rule PostgreSQL's exclusion constraints hold)."""
        condition = Q()
        for practitioner_id, room_id, start, end in bookings:
            condition |= Q(starts_at__lt=end, ends_at__gt=start) & (
                Q(practitioner_id=practitioner_id) | Q(room_id=room_id)
            )
        if not condition:
            return self.none()
        return self.filter(condition).exclude(status=SessionStatus.CANCELLED)

    def ahead(self):
        """Sessions still ahead (SessionStatus.AHEAD)."""
        return self.filter(status__in=SessionStatus.AHEAD)

    def maintenance_booked(self):
        """Maintenance sessions still ahead: while a plan has one, its next
        maintenance is booked, not due (the booking pages and the reminders ask)."""
        return self.filter(is_maintenance=True).ahead()

    def kept_series(self):
        """The series sessions that count: done or still to come, not missed."""
        return self.filter(KEPT_SERIES)

    def with_series_position(self):
        """Annotates `position`, the session's place among its plan's kept series
        sessions ("3" of "3 of 6"), as one subquery rather than a query per row."""
        earlier = TreatmentSession.objects.kept_series().filter(
            plan=OuterRef("plan"), starts_at__lte=OuterRef("starts_at")
        )
        return self.annotate(position=SubqueryCount(earlier))

    def possible_causes(self, client_id: int, now: dt.datetime):
        """The sessions a side effect of this client may follow: the client's
        own, begun by `now`, in which they were treated
        (SessionStatus.may_have_caused); the newest first."""
        return self.filter(plan__client_id=client_id, starts_at__lte=now, status__in=SessionStatus.TREATED).order_by(
            "-starts_at", "-pk"
        )

    def for_schedule(self):
        return self.select_related("plan__client", "practitioner", "room").with_series_position()

    def for_calendar(self):
        """What the calendar shows of a session: its client and plan, its place
        in the series. Its column says the practitioner or room, so they are
        not joined (the view sets them from the lists it has)."""
        return self.select_related("plan__client").with_series_position()

    def per_local_day(self) -> dict[dt.date, int]:
        """How many of these sessions start on each day of the clinic's
        calendar: one query, a row per day."""
        rows = self.order_by().annotate(day=TruncDate("starts_at")).values("day").annotate(n=Count("pk"))
        return {row["day"]: row["n"] for row in rows}


class TreatmentSession(models.Model):
    """One visit of a plan's series (or a maintenance visit), and once completed
    the clinical record of it."""

    plan = models.ForeignKey(TreatmentPlan, on_delete=models.PROTECT, related_name="sessions")
    sequence = models.PositiveSmallIntegerField(
        help_text="1 for the first session of the series.",
        validators=[MinValueValidator(1), MaxValueValidator(SEQUENCE_MAX)],
    )
    is_maintenance = models.BooleanField(default=False)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sessions", limit_choices_to=PRACTITIONERS
    )
    room = models.ForeignKey(Room, on_delete=models.PROTECT, related_name="sessions")
    status = models.CharField(max_length=10, choices=SessionStatus.choices, default=SessionStatus.BOOKED)
    # Who called the session off, asked when it is cancelled (blank otherwise).
    cancellation = models.CharField("cancelled by", max_length=8, choices=Cancellation.choices, blank=True, default="")
    # The last status change made by staff: who, when, and the status an undo
    # puts back (blank once undone, or when the change cannot be undone). The
    # history keeps every change.
    status_changed_at = models.DateTimeField(null=True, blank=True)
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    undo_status = models.CharField(max_length=10, choices=SessionStatus.choices, blank=True, default="")
    # The record, once completed.
    anaesthetic = models.CharField(max_length=12, choices=Anaesthetic.choices, default=Anaesthetic.NONE)
    pain_score = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(PAIN_SCORE_MAX)],
        help_text=f"0 (none) to {PAIN_SCORE_MAX} (worst imaginable).",
    )
    combination_therapy = models.CharField(
        max_length=16,
        choices=CombinationTherapy.choices,
        default=CombinationTherapy.NONE,
    )
    notes = models.TextField(blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # Completing a session signs its record; from then on it changes only by an
    # amendment with a reason (sessions_app.services.records).
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    signed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()
    objects = TreatmentSessionQuerySet.as_manager()

    # What not to miss about the client (services.alerts.annotate_badges sets
    # it for clinical roles). None until then, so that a template asking for
    # it finds nothing rather than a missing attribute, which Django's
    # templates look into with dir(): a tenth of a millisecond a row.
    alerts = None

    class Meta:
        ordering = ["starts_at"]
        permissions = [
            ("view_reports", "Can read the reports of the whole clinic"),
            ("view_own_reports", "Can read the reports of their own sessions"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(sequence__gte=1),
                name="session_sequence_positive",
                violation_error_message="Sessions are numbered from 1.",
            ),
            models.CheckConstraint(
                condition=Q(sequence__lte=SEQUENCE_MAX),
                name="session_sequence_max",
                violation_error_message=f"Sessions are numbered up to {SEQUENCE_MAX}.",
            ),
            models.CheckConstraint(condition=Q(anaesthetic__in=Anaesthetic.values), name="session_anaesthetic_valid"),
            models.CheckConstraint(
                condition=Q(combination_therapy__in=CombinationTherapy.values),
                name="session_combination_therapy_valid",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")),
                name="session_ends_after_start",
                violation_error_message="A session must end after it starts.",
            ),
            models.CheckConstraint(
                condition=Q(pain_score__isnull=True) | Q(pain_score__gte=0, pain_score__lte=PAIN_SCORE_MAX),
                name="session_pain_score_range",
                violation_error_message=f"The pain score is from 0 to {PAIN_SCORE_MAX}.",
            ),
            models.CheckConstraint(
                condition=Q(status__in=SessionStatus.values),
                name="session_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status=SessionStatus.COMPLETED) | Q(completed_at__isnull=False),
                name="session_completed_has_time",
                violation_error_message="A completed session needs its completion time.",
            ),
            models.CheckConstraint(
                condition=~Q(status=SessionStatus.COMPLETED) | Q(signed_at__isnull=False, signed_by__isnull=False),
                name="session_completed_is_signed",
                violation_error_message="A completed session's record must be signed.",
            ),
            models.CheckConstraint(
                condition=Q(signed_at__isnull=True, signed_by__isnull=True) | Q(status=SessionStatus.COMPLETED),
                name="session_signed_is_completed",
                violation_error_message="Only a completed session's record is signed.",
            ),
            models.CheckConstraint(
                condition=Q(cancellation__in=["", *Cancellation.values]),
                name="session_cancellation_valid",
            ),
            models.CheckConstraint(
                condition=Q(status=SessionStatus.CANCELLED) | Q(cancellation=""),
                name="session_cancellation_only_when_cancelled",
                violation_error_message="Only a cancelled session says who cancelled it.",
            ),
            models.CheckConstraint(
                condition=Q(undo_status__in=["", *SessionStatus.values]),
                name="session_undo_status_valid",
            ),
            # A cancelled visit frees its number so the series can be re-booked in order.
            models.UniqueConstraint(
                fields=["plan", "sequence"],
                condition=~Q(status=SessionStatus.CANCELLED),
                name="session_unique_sequence_per_plan",
                violation_error_message="This plan already has a session with that number.",
            ),
        ]
        indexes = [
            # Day and week schedules per practitioner, and the dashboard's "today".
            models.Index(
                fields=["practitioner", "starts_at"],
                name="session_practitioner_day_idx",
            ),
            # Day and week schedules per room.
            models.Index(fields=["room", "starts_at"], name="session_room_day_idx"),
            # The whole clinic's day (dashboard, admin date hierarchy).
            models.Index(fields=["starts_at"], name="session_starts_idx"),
            # A plan's series in order (progress "3 of 6").
            models.Index(fields=["plan", "sequence"], name="session_plan_sequence_idx"),
            # A plan's last completed session, read for every plan in maintenance or
            # in a series by each round of the reminder generator.
            models.Index(
                fields=["plan", "-starts_at", "-id"],
                condition=Q(status=SessionStatus.COMPLETED),
                name="session_plan_last_done_idx",
            ),
            # A session's place in its series ("3 of 6", with_series_position), read
            # for every session a calendar, Today or a client's timeline shows: a
            # count of the plan's kept series sessions up to it, from the index alone.
            models.Index(
                fields=["plan", "starts_at"],
                condition=KEPT_SERIES,
                name="session_series_position_idx",
            ),
            # The reports' series adherence: the kept series session before each one.
            models.Index(
                fields=["plan", "starts_at"],
                condition=Q(status=SessionStatus.COMPLETED, is_maintenance=False),
                name="session_series_kept_idx",
            ),
            # Sessions completed lately (the generator's aftercare reminders).
            models.Index(
                fields=["completed_at"], condition=Q(status=SessionStatus.COMPLETED), name="session_completed_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan.client} #{self.sequence} on {localtime(self.starts_at):%Y-%m-%d %H:%M}"

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None

    @cached_property
    def offered_actions(self) -> tuple[str, ...]:
        """The status actions SessionStatus allows on this session now (the
        buttons the schedule and Today offer)."""
        return SessionStatus.actions(self.status, starts_at=self.starts_at, now=timezone.now())

    @cached_property
    def overdue(self) -> str | None:
        """What is overdue about this session now (SessionStatus.lateness), or None."""
        return SessionStatus.lateness(self.status, starts_at=self.starts_at, ends_at=self.ends_at, now=timezone.now())

    @cached_property
    def record_refusal(self) -> str | None:
        """Why this session cannot be recorded now (SessionStatus.record_refusal), or None."""
        return SessionStatus.record_refusal(self.status, starts_at=self.starts_at, now=timezone.now())

    def undo_refusal(self, user, now: dt.datetime | None = None) -> str | None:
        """Why `user` may not undo this session's last status change now, or None."""
        return SessionStatus.undo_refusal(
            undo_status=self.undo_status,
            changed_by_id=self.status_changed_by_id,
            changed_at=self.status_changed_at,
            user_id=user.pk,
            now=now or timezone.now(),
        )

    @cached_property
    def may_have_caused(self) -> bool:
        """Whether a side effect may be recorded as following this session now
        (SessionStatus.may_have_caused): the schedule offers "Side effect" then."""
        return SessionStatus.may_have_caused(self.status, starts_at=self.starts_at, now=timezone.now())

    @property
    def is_movable(self) -> bool:
        """Whether a move may change the session (SessionStatus.MOVABLE)."""
        return self.status in SessionStatus.MOVABLE

    @property
    def missed(self) -> bool:
        """Whether the session did not happen (SessionStatus.NOT_KEPT)."""
        return self.status in SessionStatus.NOT_KEPT

    @property
    def counts_in_series(self) -> bool:
        """Whether the session is one of the kept series sessions (kept_series())."""
        return not self.is_maintenance and not self.missed

    @property
    def is_booked_maintenance(self) -> bool:
        """Whether the session is one of maintenance_booked(), for sessions already loaded."""
        return self.is_maintenance and self.status in SessionStatus.AHEAD

    @property
    def series_label(self) -> str:
        """The session's place in its plan as every page and the calendar feed
        show it: "3 of 6" among the kept series sessions, "#3 of 6" (its number)
        for a missed one, or "maintenance".

        Reads `position` from with_series_position(); without it, one query."""
        if self.is_maintenance:
            return "maintenance"
        planned = self.plan.sessions_planned
        if self.missed:
            return f"#{self.sequence} of {planned}"
        position = getattr(self, "position", None)
        if position is None:
            position = self.plan.sessions.kept_series().filter(starts_at__lte=self.starts_at).count()
        return position_label(position, planned)

    @property
    def series_title(self) -> str:
        """series_label as a phrase: "session 3 of 6", or "maintenance"."""
        return self.series_label if self.is_maintenance else f"session {self.series_label}"

    def clean(self):
        # Mirrors session_ends_after_start so the form shows the message beside the field.
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "A session must end after it starts."})
        # Mirrors the exclusion constraints (PostgreSQL) so the admin shows a message, not a 500.
        if self.starts_at and self.ends_at and self.status != SessionStatus.CANCELLED:
            clash = (
                TreatmentSession.objects.conflicting(
                    practitioner_id=self.practitioner_id, room_id=self.room_id, start=self.starts_at, end=self.ends_at
                )
                .exclude(pk=self.pk)
                .select_related("practitioner", "room")
                .first()
            )
            if clash:
                who = "practitioner" if clash.practitioner_id == self.practitioner_id else "room"
                start, end = localtime(clash.starts_at), localtime(clash.ends_at)
                raise ValidationError({"starts_at": f"The {who} is already booked from {start:%H:%M} to {end:%H:%M}."})
