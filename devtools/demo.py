"""Demo data: the staff accounts and a clinic's worth of clients with their whole
records, for trying the app, for screenshots and for benchmarks.

`demo_seed` is what `manage.py seed_demo` runs; tests and benchmarks call it
directly. Everything random comes from one seeded `random.Random`, so the same
arguments on the same day give the same data.

How it stays fast at 100,000 clients: the whole clinic is first planned in
plain Python (small slotted dataclasses, a bitmask diary of who and which room
is busy in each quarter of an hour), then written table by table as rows of
plain values (devtools.bulk): on PostgreSQL by COPY, each table's ids drawn
from its sequence beforehand, its foreign keys and plain indexes made again
after the load; on SQLite by bulk_create. No query runs per row.

How demo data is told apart from real data (there is no flag on the models):
demo clients' notes start with DEMO_CLIENT_NOTE and demo lots' numbers with
DEMO_LOT_PREFIX. `--reset` deletes those clients and everything that hangs off
them (the access log's entries of them included), and the demo lots no
remaining injection uses; staff accounts, rooms and reference data stay.
"""

from __future__ import annotations

import datetime as dt
import gc
import math
import random
import sys
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import batched
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission
from django.db import connection, models, transaction
from django.db.models import F, Q
from django.utils import timezone
from tqdm import tqdm

from devtools.bulk import checks_now, ids_reserve, loading, rows_insert
from sessions_app.models import (
    AccessLog,
    AreaRegion,
    CeilingDecision,
    Channel,
    CheckIn,
    Client,
    ClosedDay,
    Consent,
    ConsentText,
    Contraindication,
    Injection,
    InjectionQuantity,
    Mixture,
    OpeningHours,
    PlanStatus,
    ProductLot,
    Profession,
    Protocol,
    RecordDraft,
    Reminder,
    ReminderChannel,
    ReminderKind,
    ReminderRule,
    ReminderStatus,
    Role,
    Room,
    Screening,
    ScreeningAnswer,
    SessionStatus,
    Sex,
    SideEffect,
    SideEffectFollowUp,
    SideEffectKind,
    SideEffectSeverity,
    SideEffectStatus,
    Substance,
    TreatmentArea,
    TreatmentPlan,
    TreatmentSession,
    Unit,
    User,
    contraindication_severity,
)
from sessions_app.reminders.generate import reminders_generate
from sessions_app.reminders.rules import due_at, reminder_key
from sessions_app.roles import sync_role_groups
from sessions_app.scheduling import clinic_tz, local_datetime, maintenance_due_on, next_series_date
from sessions_app.search_terms import search_key
from sessions_app.services.signal import signal_flags_refresh
from sessions_app.side_effect_course import expected_resolution
from sessions_app.technique_rules import NEEDLE_MAX_FOR_DEPTH, misfits

# --- What the README quotes ---------------------------------------------------

DEMO_PASSWORD = "mesoclinic-demo"
DEMO_MANAGER = "manager"
DEMO_RECEPTION = "reception"
DEMO_PRACTITIONERS = ("practitioner", "practitioner2")
DEMO_USERNAMES = (DEMO_MANAGER, DEMO_RECEPTION, *DEMO_PRACTITIONERS)
DEFAULT_CLIENTS = 200

# Markers that tell demo rows from real ones (see the module docstring).
DEMO_CLIENT_NOTE = "Demo client created by seed_demo."
DEMO_LOT_PREFIX = "DEMO-"
DEMO_SEED = 1952  # the year Dr Pistor named mesotherapy

# A fixed salt gives the same hash on every run, so re-running seed_demo (as
# `make run` does) neither rehashes nor logs the demo users out. The password is
# public anyway. It is as long as Django asks of a salt (22 characters and more):
# a shorter one makes every sign-in rehash the password, which signs out the
# account's other sessions (two tablets signed in as reception).
_PASSWORD_SALT = "mesoclinicdemopassword01"

BATCH = 1000

# The tables the demo fills in bulk.
DEMO_TABLES = (
    Client,
    Client.allergies.through,
    Screening,
    ScreeningAnswer,
    ScreeningAnswer.areas.through,
    TreatmentPlan,
    TreatmentPlan.areas.through,
    Consent,
    TreatmentSession,
    Injection,
    Injection.lots.through,
    InjectionQuantity,
    SideEffect,
    Reminder,
)


@dataclass(frozen=True)
class StaffSpec:
    username: str
    first_name: str
    last_name: str
    role: Role
    job_title: str = ""
    registration_number: str = ""
    profession: str = ""


DEMO_STAFF = (
    StaffSpec(DEMO_MANAGER, "Claire", "Fontaine", Role.MANAGER, "Clinic manager"),
    StaffSpec(DEMO_RECEPTION, "Julie", "Marchand", Role.RECEPTION, "Receptionist"),
    StaffSpec(
        DEMO_PRACTITIONERS[0], "Antoine", "Lefèvre", Role.PRACTITIONER, "Physician", "10000000001", Profession.PHYSICIAN
    ),
    StaffSpec(
        DEMO_PRACTITIONERS[1], "Sofia", "Marino", Role.PRACTITIONER, "Nurse injector", "10000000002", Profession.NURSE
    ),
)

# --- Capacity -------------------------------------------------------------------
#
# Two practitioners cannot treat 10,000 clients: a series is about nine visits and
# some clients come back for a second, third or fourth plan, so that is over
# 100,000 sessions. The demo keeps each practitioner at a believable load (about
# 40 sessions a week) by stretching the history up to three years and, for big
# runs, adding practitioners (practitioner3, ...) and rooms (Room 4, ...).
_SESSIONS_PER_CLIENT = 10
# A quarter of treated clients come back for a second plan; of those, some for a
# third and a fourth (their page is the long history the benchmark times).
SECOND_PLAN = 0.25
LATER_PLANS = {0: 35, 1: 35, 2: 30}
_WEEKLY_SESSIONS_PER_PRACTITIONER = 40
_HISTORY_DAYS_MIN, _HISTORY_DAYS_MAX = 365, 3 * 365


def demo_capacity(clients: int) -> tuple[int, int]:
    """(days of history, number of practitioners) for a demo of `clients`."""
    sessions = clients * _SESSIONS_PER_CLIENT
    days = sessions * 7 / (len(DEMO_PRACTITIONERS) * _WEEKLY_SESSIONS_PER_PRACTITIONER)
    days = min(max(math.ceil(days), _HISTORY_DAYS_MIN), _HISTORY_DAYS_MAX)
    practitioners = max(len(DEMO_PRACTITIONERS), math.ceil(sessions / (days / 7 * _WEEKLY_SESSIONS_PER_PRACTITIONER)))
    return days, practitioners


# --- Built-in word lists ----------------------------------------------------------


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES_F = _words(
    "Camille Léa Manon Chloé Inès Sarah Julie Émilie Claire Sophie Isabelle Nathalie Céline Aurélie Élodie "
    "Marie Anne Lucie Clara Margaux Charlotte Pauline Maud Giulia Francesca Elena Sofia Lena Anna Hannah Eva "
    "Marta Carmen Lucía Inês Ingrid Astrid Agnieszka Yasmine Fatou"
)
FIRST_NAMES_M = _words(
    "Thomas Nicolas Julien Antoine Maxime Pierre Louis Hugo Lucas Mathieu Olivier Laurent Marco Luca Matteo "
    "Jonas Lukas Felix Pablo Javier João Erik Lars Pieter Jan Tomasz Karim Mehdi Yannick"
)
LAST_NAMES = _words(
    "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent Lefebvre Michel Garcia "
    "David Bertrand Roux Vincent Fournier Morel Girard André Mercier Dupont Lambert Bonnet François Martinez "
    "Rossi Russo Bianchi Romano Müller Schmidt Schneider Fischer Weber Janssens Peeters García Fernández López "
    "Silva Santos Ferreira Nowak Kowalski Novák Andersson Nielsen Murphy Benali Haddad Diallo Costa Meyer"
) + ("De Vries", "Van Dijk", "O'Brien", "Le Goff")
STREETS = (
    "rue de la République",
    "avenue Jean Jaurès",
    "boulevard Voltaire",
    "rue Victor Hugo",
    "place du Marché",
    "rue des Lilas",
    "chemin des Vignes",
    "allée des Tilleuls",
    "rue Pasteur",
    "quai de la Loire",
)
CITIES = (
    "75011 Paris",
    "75015 Paris",
    "69003 Lyon",
    "33000 Bordeaux",
    "44000 Nantes",
    "59000 Lille",
    "31000 Toulouse",
    "13006 Marseille",
    "67000 Strasbourg",
    "93100 Montreuil",
    "92100 Boulogne-Billancourt",
)
# Reserved for documentation (RFC 2606): a reminder run against demo data reaches nobody.
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")
CLIENT_NOTES = (
    "Prefers morning appointments.",
    "Sensitive skin; patch test done at the consultation.",
    "Referred by Dr Garnier.",
    "Needle-phobic: allow extra time.",
    "Works shifts; call before 10:00.",
    "Wants results before a wedding in June.",
    "Bruises easily; arnica advised.",
    "Speaks English and Italian.",
)
PLAN_NOTES = (
    "Photos taken before the first session.",
    "Client's goal: visible improvement within the series.",
    "Discussed realistic expectations and the need for maintenance.",
    "Previous treatment elsewhere two years ago.",
)
SESSION_NOTES = (
    "Tolerated well.",
    "Client reports better skin hydration.",
    "Slight bleeding at two points, stopped with pressure.",
    "Progress photos taken.",
    "Client anxious; topical anaesthetic left on for 20 minutes.",
    "Client happy with the result so far.",
)
# A yes that calls for caution: (details, the physician's judgement).
CAUTION_YES = {
    Contraindication.DIABETES: ("Type 2, controlled with metformin.", "Well controlled; proceed, watch healing."),
    Contraindication.CARDIOVASCULAR: ("Treated hypertension.", "Stable on treatment; proceed."),
    Contraindication.BLEEDING: (
        "Low-dose aspirin.",
        "Proceed; firm pressure after each point, warned about bruising.",
    ),
    Contraindication.KELOID: ("Hypertrophic scar after surgery in 2019.", "Small volumes; review after session 1."),
    Contraindication.IMMUNOSUPPRESSED: ("Inhaled corticosteroids for asthma.", "Proceed with strict asepsis."),
    Contraindication.LIVER_KIDNEY: ("Mild chronic kidney disease, stable.", "Proceed; no anti-inflammatories."),
}
# A condition in an area: the details; the area is one the client's plans do not treat (finish()).
IN_AREA_YES = {
    Contraindication.SKIN_CONDITION: "Rosacea flare-up.",
    Contraindication.SKIN_INFECTION: "Impetigo, on antibiotic cream.",
}
# A yes that rules treatment out: the client is screened and not treated.
ABSOLUTE_YES = {
    Contraindication.PREGNANCY: "Pregnant, 14 weeks.",
    Contraindication.AUTOIMMUNE: "Systemic lupus, active.",
}
# Areas for each indication of the reference data; unknown indications fall back to any active area.
INDICATION_AREAS = {
    "Skin rejuvenation": ("Face", "Neck", "Décolletage"),
    "Hair loss": ("Scalp",),
    "Body contouring": ("Abdomen", "Flanks", "Thighs", "Arms"),
    "Cellulite": ("Thighs", "Buttocks", "Abdomen"),
    "Pain management": ("Knees", "Lower back", "Shoulder", "Cervical spine (neck pain)"),
    "Stretch marks": ("Abdomen", "Thighs", "Buttocks", "Arms"),
    "Scars": ("Face", "Abdomen", "Arms"),
}
# How often each mixture's indication is chosen.
INDICATION_WEIGHTS = {"Skin rejuvenation": 5, "Hair loss": 2, "Cellulite": 2, "Body contouring": 2}
# Per region: (depths, techniques, needle lengths in mm, volume range ml, points range).
INJECTION_STYLE = {
    AreaRegion.FACE: (
        ("epidermal", "dej", "superficial_dermis"),
        ("nappage", "papules", "point_by_point", "injector_gun"),
        (4, 4, 4, 6),
        (1.0, 3.0),
        (40, 150),
    ),
    AreaRegion.SCALP: (
        ("superficial_dermis",),
        ("point_by_point", "nappage", "injector_gun"),
        (4, 4, 6),
        (2.0, 4.0),
        (80, 250),
    ),
    AreaRegion.BODY: (
        ("superficial_dermis", "deep_dermis"),
        ("point_by_point", "nappage", "injector_gun"),
        (6, 6, 13),
        (3.0, 8.0),
        (20, 100),
    ),
    AreaRegion.JOINT: (
        ("deep_dermis", "superficial_dermis"),
        ("point_by_point",),
        (4, 6, 13),
        (1.0, 3.0),
        (8, 30),
    ),
}
# Side effects: (kind name, weight, days it usually lasts, action taken).
SIDE_EFFECTS = (
    ("Bruising", 35, (3, 10), "Arnica gel; resolved without treatment."),
    ("Swelling", 25, (1, 4), "Cold compresses."),
    ("Redness", 25, (1, 3), "None needed."),
    ("Pain", 6, (1, 3), "Paracetamol as needed."),
    ("Itching", 5, (1, 5), "Antihistamine cream."),
    ("Nodules", 2, (14, 40), "Massage; review at the next session."),
    ("Pigmentation change", 1, (30, 90), "Sun protection; review in four weeks."),
    ("Infection", 0.5, (7, 14), "Referred to the GP; oral antibiotics."),
    ("Allergic reaction", 0.5, (2, 7), "Antihistamine; substance noted, mixture changed."),
)
# The share of completed sessions followed by a side effect, and of those of the raised lot.
BASE_RATE = 0.15
RAISED_RATE = 5 * BASE_RATE


def raised_lot(ref: Reference, today: dt.date) -> int | None:
    """The demo's lot with a raised side-effect rate: the one in use two
    months ago of the first product of the most often chosen mixture."""
    if not ref.mixtures:
        return None
    mixture = max(ref.mixtures, key=lambda m: (m["weight"], -m["id"]))
    day = today - dt.timedelta(days=60)
    usable = [pk for received, expiry, pk in ref.lots.get(mixture["products"][0], []) if received <= day <= expiry]
    return usable[-1] if usable else None


REMINDER_ERRORS = {
    ReminderChannel.EMAIL: "SMTP 550: mailbox unavailable",
    ReminderChannel.SMS: "SMS gateway: number unreachable",
    ReminderChannel.CALL: "No answer after three calls",
}

# --- The plan of the clinic, in plain values ----------------------------------------


@dataclass(slots=True)
class InjectionPlan:
    area_id: int
    volume_ml: Decimal
    depth: str
    technique: str
    needle_length_mm: Decimal
    points: int
    lot_ids: list[int]
    quantities: dict[int, Decimal] = field(default_factory=dict)  # product -> ml, when written down
    pk: int | None = None


def _fitting(injection: InjectionPlan) -> None:
    """A demo record's depth, technique and needle made to fit together
    (sessions_app.technique_rules): the needle shortened to what the depth
    takes, a technique that does not work at the depth made point by point."""
    if not misfits(depth=injection.depth, technique=injection.technique, needle_length_mm=injection.needle_length_mm):
        return
    injection.needle_length_mm = min(injection.needle_length_mm, NEEDLE_MAX_FOR_DEPTH[injection.depth])
    if misfits(depth=injection.depth, technique=injection.technique, needle_length_mm=injection.needle_length_mm):
        injection.technique = "point_by_point"


# Side effects with an onset this recent are left unreviewed in the demo.
REVIEW_BACKLOG_DAYS = 30


@dataclass(slots=True)
class SideEffectPlan:
    kind_id: int
    severity: str
    serious: bool
    status: str
    onset: dt.date
    expected_resolution_on: dt.date | None
    resolved_on: dt.date | None
    action_taken: str
    recorded_at: dt.datetime
    reviewed_at: dt.datetime | None


@dataclass(slots=True)
class ReminderPlan:
    slot: str
    channel: str
    due_at: dt.datetime
    status: str
    attempts: int
    sent_at: dt.datetime | None
    last_error: str


@dataclass(slots=True)
class SessionPlan:
    sequence: int
    is_maintenance: bool
    starts_at: dt.datetime
    ends_at: dt.datetime
    room_id: int
    day: dt.date  # of starts_at, in the clinic's time zone
    status: str = SessionStatus.BOOKED
    cancellation: str = ""
    anaesthetic: str = "none"
    pain_score: int | None = None
    combination_therapy: str = "none"
    notes: str = ""
    completed_at: dt.datetime | None = None
    created_at: dt.datetime | None = None
    injections: list[InjectionPlan] = field(default_factory=list)
    side_effect: SideEffectPlan | None = None
    reminder: ReminderPlan | None = None
    pk: int | None = None


@dataclass(slots=True)
class TreatmentPlanPlan:
    indication_id: int
    mixture_id: int
    area_ids: list[int]
    practitioner_id: int
    sessions_planned: int
    interval_days: int
    maintenance_interval_days: int | None
    created_at: dt.datetime
    status: str = PlanStatus.ACTIVE
    notes: str = ""
    sessions: list[SessionPlan] = field(default_factory=list)
    pk: int | None = None


@dataclass(slots=True)
class ScreeningPlan:
    screened_at: dt.datetime
    screened_by_id: int
    # (question, yes, details, judgement, who judged) for each of the twelve questions.
    answers: list[tuple[str, bool, str, str, int | None]]
    # The areas of each condition in the area (chosen by finish(), away from the client's plans).
    areas: dict[str, list[int]] = field(default_factory=dict)
    answer_pks: dict[str, int] = field(default_factory=dict)
    pk: int | None = None


@dataclass(slots=True)
class ClientPlan:
    first_name: str
    last_name: str
    date_of_birth: dt.date
    email: str
    phone: str
    address: str
    preferred_channel: str
    consent_email: bool
    consent_sms: bool
    allergy_ids: list[int]
    notes: str
    created_at: dt.datetime
    sex: str = ""
    archived_at: dt.datetime | None = None
    screening: ScreeningPlan | None = None
    plans: list[TreatmentPlanPlan] = field(default_factory=list)
    pk: int | None = None

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


# --- Opening hours as quarter-hours, and who is busy when -----------------------------

QUARTER = dt.timedelta(minutes=15)


class Diary:
    """Which quarter-hours of each day every practitioner and room is booked,
    one int bitmask per (resource, day). Only offers starts inside one opening
    period of the day, in the clinic's wall clock."""

    def __init__(self, tz: ZoneInfo, hours: dict[int, list[tuple[int, int]]], closed: set[dt.date]):
        self.tz = tz
        self.hours = hours  # weekday -> [(first quarter, quarter after the last)]
        self.closed = closed
        self.busy: dict[tuple[str, int, dt.date], int] = defaultdict(int)
        self._starts: dict[tuple[int, int, int], list[int]] = {}

    def is_open(self, day: dt.date) -> bool:
        return day not in self.closed and bool(self.hours.get(day.weekday()))

    def starts(self, weekday: int, quarters: int, preferred: int) -> list[int]:
        """Valid start quarters for a booking of `quarters`, nearest the preferred first."""
        key = (weekday, quarters, preferred)
        if key not in self._starts:
            valid = [s for opens, closes in self.hours.get(weekday, ()) for s in range(opens, closes - quarters + 1)]
            self._starts[key] = sorted(valid, key=lambda s: (abs(s - preferred), s))
        return self._starts[key]

    def mark(self, kind: str, resource: int, start: dt.datetime, end: dt.datetime) -> None:
        """Record an existing booking (any times, rounded out to whole quarters)."""
        local_start, local_end = start.astimezone(self.tz), end.astimezone(self.tz)
        first = (local_start.hour * 60 + local_start.minute) // 15
        last = (
            math.ceil((local_end.hour * 60 + local_end.minute) / 15) if local_end.date() == local_start.date() else 96
        )
        if last > first:
            self.busy[(kind, resource, local_start.date())] |= ((1 << (last - first)) - 1) << first

    def book(
        self, days: Iterable[dt.date], practitioner: int, rooms: Sequence[int], quarters: int, preferred: int
    ) -> tuple[dt.datetime, dt.datetime, int, dt.date] | None:
        """The first free start on the first of `days` that has one, for the
        practitioner and one of `rooms` (in order of preference); booked:
        (start, end, room, day)."""
        busy = self.busy
        for day in days:
            if not self.is_open(day):
                continue
            p_key = ("p", practitioner, day)
            p_busy = busy[p_key]
            for start in self.starts(day.weekday(), quarters, preferred):
                mask = ((1 << quarters) - 1) << start
                if p_busy & mask:
                    continue
                for room in rooms:
                    r_key = ("r", room, day)
                    if busy[r_key] & mask:
                        continue
                    begins = local_datetime(day, dt.time(start // 4, start % 4 * 15), self.tz)
                    if begins is None:  # the clock skips this time (never inside real opening hours)
                        continue
                    busy[p_key] = p_busy | mask
                    busy[r_key] |= mask
                    return begins, begins + quarters * QUARTER, room, day
        return None


def _quarter(time: dt.time, up: bool) -> int:
    minutes = time.hour * 60 + time.minute
    return math.ceil(minutes / 15) if up else minutes // 15


@dataclass
class Reference:
    """What the generator needs from the database, loaded once."""

    tz: ZoneInfo
    hours: dict[int, list[tuple[int, int]]]
    closed: set[dt.date]
    rooms: list[int]
    practitioners: list[int]
    physicians: list[int]
    mixtures: list[dict[str, Any]]
    areas: dict[int, str]  # id -> region
    substances: list[int]
    side_effect_kinds: list[tuple[int, float, tuple[int, int], str]]
    expected_days: dict[int, int | None]  # side-effect kind -> days it usually takes
    consent_text_id: int | None
    lots: dict[int, list[tuple[dt.date, dt.date, int]]]  # product -> [(received, expiry, id)]
    # The active upcoming-session rule the demo's past and pending reminders follow, if any.
    upcoming_rule: ReminderRule | None = None


# --- Entry points --------------------------------------------------------------------


@dataclass
class SeedResult:
    created: bool
    existing_clients: int = 0
    counts: dict[str, int] = field(default_factory=dict)


def demo_clients() -> models.QuerySet[Client]:
    return Client.objects.filter(notes__startswith=DEMO_CLIENT_NOTE)


@transaction.atomic
def demo_seed(
    *,
    clients: int = DEFAULT_CLIENTS,
    reset: bool = False,
    seed: int = DEMO_SEED,
    now: dt.datetime | None = None,
    progress: bool = False,
) -> SeedResult:
    """Make sure the demo staff exist; create the demo clinic unless it is
    already there (or, with `reset`, replace it). One transaction: a failure
    leaves the database as it was."""
    if clients < 1:
        raise ValueError("The number of demo clients must be at least 1.")
    now = now or timezone.now()
    history_days, practitioner_count = demo_capacity(clients)
    staff = demo_staff_sync(practitioners=practitioner_count)
    if not reset and (existing := demo_clients().count()):
        return SeedResult(created=False, existing_clients=existing)
    _demo_ceilings()
    # On PostgreSQL the tables' foreign keys and plain indexes are made again
    # after the load (devtools.bulk.loading), the delete of --reset included.
    remake = lambda total: _bar(None, "Indexes and foreign keys", progress, total=total)  # noqa: E731
    with loading(DEMO_TABLES, bar=remake), _without_gc():
        if reset:
            demo_data_delete(progress=progress)
        rng = random.Random(seed)
        practitioners = [staff[name].pk for name in _practitioner_usernames(practitioner_count)]
        rooms = _rooms(practitioner_count)
        ref = _load_reference(now=now, history_days=history_days, practitioners=practitioners, rooms=rooms)
        _create_lots(ref, rng=rng, now=now, history_days=history_days, progress=progress)
        diary = Diary(ref.tz, ref.hours, ref.closed)
        _mark_existing_bookings(diary, ref, since=now - dt.timedelta(days=history_days + 60))
        planner = _Planner(rng=rng, returning_seed=seed + 1, ref=ref, diary=diary, now=now, history_days=history_days)
        people = [planner.client() for _ in _bar(range(clients), "Planning the clinic", progress)]
        counts = _write(people, ref, progress=progress)
        del people
    # Before the queries below: on a table just filled, the planner would
    # guess from empty statistics (the signal's count took minutes).
    _analyze(*DEMO_TABLES, ProductLot)
    # The rules' other reminders (aftercare calls, maintenance recalls...), as
    # the worker would create them on its first round: the real generator.
    counts["generated reminders"] = reminders_generate(now=now)
    _analyze(Reminder)
    counts["check-ins"] = _answer_check_ins(now=now, seed=seed)
    # The calls of the side effects those answers made, when not resolved in time.
    counts["generated reminders"] += reminders_generate(now=now)
    counts["signal flags"] = signal_flags_refresh(now=now)
    _analyze(Reminder, SideEffect, CheckIn, TreatmentSession.history.model)
    return SeedResult(created=True, counts=counts)


@contextmanager
def _without_gc() -> Iterator[None]:
    """The plan is millions of small objects that live until written and make
    no reference cycles: the cyclic collector's passes over them (each longer
    as the plan grows) are wasted time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# Example dose ceilings (mg per session, mg per 12 months) for the dose ledger
# to show: demo values, set only where a clinic has none, not clinical guidance.
# The demo's own sessions stay under them (at most about 700 mg of
# phosphatidylcholine and 100 mg of procaine in a session).
DEMO_CEILINGS = {
    "Phosphatidylcholine": (Decimal("2500"), Decimal("20000")),
    "Procaine": (Decimal("400"), None),
    "Lidocaine": (Decimal("300"), None),
}


def _demo_ceilings() -> None:
    for name, (per_session, per_year) in DEMO_CEILINGS.items():
        Substance.objects.filter(
            name=name, ceiling_per_session__isnull=True, ceiling_per_12_months__isnull=True
        ).update(ceiling_per_session=per_session, ceiling_per_12_months=per_year)


def _analyze(*models_: type[models.Model]) -> None:
    """Refresh the query planner's statistics (of the models' tables, or of
    all): after a bulk load of this size the planner would otherwise guess, and
    pick plans that read whole indexes for each row, until autovacuum's next
    ANALYZE (a minute later on PostgreSQL; never on SQLite)."""
    tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in models_)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {tables}" if connection.vendor == "postgresql" else "ANALYZE")


def _practitioner_usernames(count: int) -> list[str]:
    return [*DEMO_PRACTITIONERS, *(f"practitioner{i}" for i in range(len(DEMO_PRACTITIONERS) + 1, count + 1))]


def _staff_specs(practitioners: int) -> list[StaffSpec]:
    specs = list(DEMO_STAFF)
    rng = random.Random(DEMO_SEED)
    for i, username in enumerate(_practitioner_usernames(practitioners)[len(DEMO_PRACTITIONERS) :]):
        first = rng.choice(FIRST_NAMES_F + FIRST_NAMES_M)
        title, profession = (("Physician", Profession.PHYSICIAN), ("Nurse injector", Profession.NURSE))[i % 2]
        specs.append(
            StaffSpec(
                username, first, rng.choice(LAST_NAMES), Role.PRACTITIONER, title, f"1000000{i + 3:04d}", profession
            )
        )
    return specs


def demo_staff_sync(*, practitioners: int = len(DEMO_PRACTITIONERS)) -> dict[str, User]:
    """Create or update the demo staff accounts (and the role groups), each with
    DEMO_PASSWORD and its one group. Safe to run any number of times."""
    sync_role_groups(Group, Permission)
    groups = {group.name: group for group in Group.objects.filter(name__in=Role.values)}
    password = make_password(DEMO_PASSWORD, salt=_PASSWORD_SALT)
    users = {}
    for spec in _staff_specs(practitioners):
        user, _ = User.objects.get_or_create(username=spec.username)
        user.first_name, user.last_name = spec.first_name, spec.last_name
        user.job_title, user.registration_number = spec.job_title, spec.registration_number
        user.profession = spec.profession
        user.is_staff = spec.role == Role.MANAGER  # the Django admin is the manager's
        user.is_active = True
        user.password = password
        user.save()
        user.groups.set([groups[spec.role]])
        users[spec.username] = user
    return users


def _rooms(needed: int) -> list[int]:
    """Active rooms, with extra ones ("Room 4", ...) when the demo has more
    practitioners than rooms."""
    rooms = list(Room.objects.filter(active=True).values_list("pk", flat=True))
    number = Room.objects.count()
    while len(rooms) < needed:
        number += 1
        room, created = Room.objects.get_or_create(name=f"Room {number}")
        if created or room.active:
            rooms.append(room.pk)
    return rooms


def _load_reference(*, now: dt.datetime, history_days: int, practitioners: list[int], rooms: list[int]) -> Reference:
    tz = clinic_tz()
    hours: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for weekday, opens, closes in OpeningHours.objects.values_list("weekday", "opens", "closes"):
        first, last = _quarter(opens, up=True), _quarter(closes, up=False)
        if last > first:
            hours[weekday].append((first, last))
    if not hours:
        raise ValueError("The clinic has no opening hours: add some before seeding demo data.")
    start = timezone.localdate(now) - dt.timedelta(days=history_days + 60)
    closed = set(ClosedDay.objects.filter(date__gte=start).values_list("date", flat=True))

    areas = dict(TreatmentArea.objects.filter(active=True).values_list("pk", "region"))
    area_ids = {name: pk for pk, name in TreatmentArea.objects.filter(active=True).values_list("pk", "name")}
    mixtures = []
    protocols = {p.indication_id: p for p in Protocol.objects.filter(indication__active=True).prefetch_related("areas")}
    for mixture in Mixture.objects.filter(active=True, indication__isnull=False).select_related("indication"):
        components = list(mixture.components.values_list("product_id", "product__substances"))
        recipe = dict(mixture.components.filter(unit=Unit.ML).values_list("product_id", "amount"))
        protocol = protocols.get(mixture.indication_id)
        if protocol is not None and protocol.mixture_id != mixture.pk:
            protocol = None
        wanted = [area_ids[name] for name in INDICATION_AREAS.get(mixture.indication.name, ()) if name in area_ids]
        if not components:
            continue
        mixtures.append(
            {
                "id": mixture.pk,
                "indication_id": mixture.indication_id,
                "areas": wanted or list(areas)[:1],
                "products": sorted({product for product, _ in components}),
                "substances": {substance for _, substance in components if substance},
                "weight": INDICATION_WEIGHTS.get(mixture.indication.name, 1),
                "anaesthetic_inside": Substance.objects.filter(
                    pk__in=[s for _, s in components if s], category="medication", name__in=["Lidocaine", "Procaine"]
                ).exists(),
                "recipe": recipe,
                "protocol": _protocol_values(protocol),
            }
        )
    if not mixtures or not areas:
        raise ValueError("The demo needs active mixtures with an indication and active treatment areas.")
    kinds = dict(SideEffectKind.objects.values_list("name", "pk"))
    side_effect_kinds = [(kinds[name], w, days, action) for name, w, days, action in SIDE_EFFECTS if name in kinds]
    return Reference(
        tz=tz,
        hours=dict(hours),
        closed=closed,
        rooms=rooms,
        practitioners=practitioners,
        physicians=list(
            User.objects.filter(pk__in=practitioners, profession=Profession.PHYSICIAN)
            .order_by("pk")
            .values_list("pk", flat=True)
        ),
        mixtures=mixtures,
        areas=areas,
        substances=list(Substance.objects.filter(active=True).values_list("pk", flat=True)),
        side_effect_kinds=side_effect_kinds,
        expected_days=dict(SideEffectKind.objects.values_list("pk", "expected_days")),
        consent_text_id=ConsentText.objects.order_by("-version").values_list("pk", flat=True).first(),
        lots={},
        upcoming_rule=ReminderRule.objects.filter(kind=ReminderKind.UPCOMING_SESSION, active=True)
        .order_by("pk")
        .first(),
    )


def _protocol_values(protocol: Protocol | None) -> dict[str, Any] | None:
    """What the demo takes from an indication's protocol, in plain values."""
    if protocol is None:
        return None
    return {
        "sessions": protocol.sessions,
        "interval_days": protocol.interval_days,
        "maintenance_interval_days": protocol.maintenance_interval_days,
        "areas": {area.pk for area in protocol.areas.all()},
        "depth": protocol.depth,
        "technique": protocol.technique,
        "needle_length_mm": protocol.needle_length_mm,
    }


def _create_lots(ref: Reference, *, rng: random.Random, now: dt.datetime, history_days: int, progress: bool) -> None:
    """Lots of every product the mixtures use: one received every quarter, each
    good for 18 months, from before the history starts until today. A lot left
    from an earlier demo (still used by a real injection) is reused."""
    today = timezone.localdate(now)
    first = today - dt.timedelta(days=history_days + 150)
    products = sorted({product for mixture in ref.mixtures for product in mixture["products"]})
    existing = {
        (product, number): (pk, received, expiry)
        for pk, product, number, received, expiry in ProductLot.objects.filter(
            lot_number__startswith=DEMO_LOT_PREFIX
        ).values_list("pk", "product_id", "lot_number", "received_on", "expiry_date")
    }
    new: list[ProductLot] = []
    for product in products:
        received = first + dt.timedelta(days=rng.randrange(0, 30))
        while received <= today:
            number = f"{DEMO_LOT_PREFIX}{received:%y%m}-{product:03d}{rng.randrange(100):02d}"
            expiry = received + dt.timedelta(days=540)
            if (product, number) in existing:
                pk, received, expiry = existing[(product, number)]
                ref.lots.setdefault(product, []).append((received or first, expiry, pk))
            else:
                new.append(ProductLot(product_id=product, lot_number=number, received_on=received, expiry_date=expiry))
            received += dt.timedelta(days=rng.randrange(80, 100))
    for lot in _bulk(ProductLot, new, "Product lots", progress):
        ref.lots.setdefault(lot.product_id, []).append((lot.received_on, lot.expiry_date, lot.pk))
    for lots in ref.lots.values():
        lots.sort()


def _mark_existing_bookings(diary: Diary, ref: Reference, *, since: dt.datetime) -> None:
    """Bookings already in the database (real ones, kept by --reset) stay free of demo sessions."""
    existing = (
        TreatmentSession.objects.not_cancelled()
        .filter(Q(practitioner__in=ref.practitioners) | Q(room__in=ref.rooms), ends_at__gte=since)
        .values_list("practitioner_id", "room_id", "starts_at", "ends_at")
    )
    for practitioner, room, starts_at, ends_at in existing:
        diary.mark("p", practitioner, starts_at, ends_at)
        diary.mark("r", room, starts_at, ends_at)


# --- The planner: all random choices, no queries -------------------------------------


class _Planner:
    def __init__(
        self,
        *,
        rng: random.Random,
        returning_seed: int,
        ref: Reference,
        diary: Diary,
        now: dt.datetime,
        history_days: int,
    ):
        self.rng, self.ref, self.diary, self.now = rng, ref, diary, now
        self.main_rng, self.returning = rng, random.Random(returning_seed)
        # The screenings' and the quantities' own streams: what they draw leaves the
        # rest of the demo as it was.
        self.screening_rng = random.Random(returning_seed + 1)
        self.quantity_rng = random.Random(returning_seed + 2)
        self.today = timezone.localdate(now)
        self.history_days = history_days
        self.mixture_weights = [m["weight"] for m in ref.mixtures]
        self.kind_weights = [w for _, w, _, _ in ref.side_effect_kinds]
        self.home_room = {p: ref.rooms[i % len(ref.rooms)] for i, p in enumerate(ref.practitioners)}
        self.archived_any = False
        self.client_days: set[dt.date] = set()
        self.raised_lot = raised_lot(ref, self.today)
        self.lots_on: dict[tuple[int, dt.date], int] = {}

    def moment(self, day: dt.date) -> dt.datetime:
        """A time within opening hours on `day` or the next open day (for
        consultations, which need no room in the diary)."""
        while not self.diary.is_open(day):
            day += dt.timedelta(days=1)
        opens, closes = self.rng.choice(self.ref.hours[day.weekday()])
        quarter = self.rng.randrange(opens, max(opens + 1, closes - 1))
        return local_datetime(day, dt.time(quarter // 4, quarter % 4 * 15), self.ref.tz) or self.now

    def client(self) -> ClientPlan:
        rng, today = self.rng, self.today
        female = rng.random() < 0.8
        first = rng.choice(FIRST_NAMES_F if female else FIRST_NAMES_M)
        last = rng.choice(LAST_NAMES)
        contact = rng.random()
        email = _email(first, last, rng) if contact < 0.88 else ""
        # E.164, as services.clients stores every number (shown "06 39 98 .. .." in France).
        phone = f"+3363998{rng.randrange(100):02d}{rng.randrange(100):02d}" if contact > 0.12 else ""
        consent_email = bool(email) and rng.random() < 0.85
        consent_sms = bool(phone) and rng.random() < 0.7
        if email and phone:
            channel = rng.choices([Channel.EMAIL, Channel.SMS, Channel.PHONE], [55, 35, 10])[0]
        elif email:
            channel = Channel.EMAIL
        else:
            channel = Channel.SMS if phone and rng.random() < 0.7 else Channel.PHONE
        allergies = rng.sample(self.ref.substances, k=min(len(self.ref.substances), rng.choice([0] * 9 + [1, 1, 2])))
        age_days = rng.randrange(18 * 366, 75 * 365)
        note = rng.choice(CLIENT_NOTES) if rng.random() < 0.3 else ""
        # The first visit, anywhere from the start of the history to three weeks from now.
        first_visit = today - dt.timedelta(days=rng.randrange(-21, self.history_days))
        person = ClientPlan(
            first_name=first,
            last_name=last,
            date_of_birth=today - dt.timedelta(days=age_days),
            email=email,
            phone=phone,
            address=f"{rng.randrange(1, 120)} {rng.choice(STREETS)}, {rng.choice(CITIES)}"
            if rng.random() < 0.6
            else "",
            preferred_channel=channel,
            consent_email=consent_email,
            consent_sms=consent_sms,
            allergy_ids=allergies,
            notes=f"{DEMO_CLIENT_NOTE}\n{note}" if note else DEMO_CLIENT_NOTE,
            sex=Sex.FEMALE if female else Sex.MALE,
            created_at=min(self.now, self.moment(first_visit - dt.timedelta(days=rng.randrange(0, 14)))),
        )
        self.client_days = set()
        outcome = rng.random()
        if outcome < 0.08:
            # Registered lately, not yet seen.
            person.created_at = self.now - dt.timedelta(hours=rng.randrange(1, 24 * 60))
        else:
            # Seen at a consultation; a first visit in the future was booked at a recent one.
            practitioner = rng.choice(self.ref.practitioners)
            screened_day = min(first_visit, today - dt.timedelta(days=rng.randrange(0, 14)))
            screened_at = self.moment(screened_day)
            if screened_at > self.now:
                screened_at = self.now - dt.timedelta(hours=1)
            person.created_at = min(person.created_at, screened_at)
            absolute = outcome < 0.11
            person.screening = self.screening(screened_at, practitioner, absolute=absolute)
            if not absolute and outcome > 0.14:  # a few come for a consultation only
                first_day = max(first_visit, screened_at.astimezone(self.ref.tz).date() + dt.timedelta(days=1))
                self.plans(person, practitioner, created_at=screened_at, first_day=first_day)
        self.finish(person)
        return person

    def screening(self, at: dt.datetime, practitioner: int, *, absolute: bool) -> ScreeningPlan:
        """Every question answered. A condition calling for caution is judged by
        the screener when a physician, else by one of the clinic's physicians."""
        rng = self.screening_rng
        caution_yes = {q for q in CAUTION_YES if rng.random() < 0.04}
        in_area_yes = {q for q in IN_AREA_YES if rng.random() < 0.03}
        absolute_yes = {rng.choice(list(ABSOLUTE_YES))} if absolute else set()
        physicians = self.ref.physicians
        judge = practitioner if practitioner in physicians else (rng.choice(physicians) if physicians else None)
        answers = []
        for question in Contraindication.values:
            if question in absolute_yes:
                answers.append((question, True, ABSOLUTE_YES[question], "", None))
            elif question in caution_yes and judge is not None:
                details, judgement = CAUTION_YES[question]
                answers.append((question, True, details, judgement, judge))
            elif question in in_area_yes:
                answers.append((question, True, IN_AREA_YES[question], "", None))
            else:
                answers.append((question, False, "", "", None))
        return ScreeningPlan(screened_at=at, screened_by_id=practitioner, answers=answers)

    def plans(self, person: ClientPlan, practitioner: int, *, created_at: dt.datetime, first_day: dt.date) -> None:
        rng = self.rng
        allergic = set(person.allergy_ids)
        mixtures = [m for m in self.ref.mixtures if not m["substances"] & allergic] or self.ref.mixtures[:1]
        weights = [m["weight"] for m in mixtures]
        first_day += dt.timedelta(days=rng.randrange(0, 14))
        used: set[int] = set()
        count = 2 if rng.random() < SECOND_PLAN else 1
        if count == 2:
            count += self.returning.choices(list(LATER_PLANS), list(LATER_PLANS.values()))[0]
        try:
            for number in range(count):
                if number == 2:
                    # Third and fourth plans draw from a stream of their own, so
                    # that they leave the rest of a demo of the same seed as it was.
                    rng = self.rng = self.returning
                choices = [(m, w) for m, w in zip(mixtures, weights, strict=True) if m["id"] not in used]
                if not choices or first_day > self.today + dt.timedelta(days=35):
                    break
                mixture = rng.choices([m for m, _ in choices], [w for _, w in choices])[0]
                used.add(mixture["id"])
                if number and rng.random() < 0.2:
                    practitioner = rng.choice(self.ref.practitioners)
                if number:
                    created_at = self.moment(first_day - dt.timedelta(days=rng.randrange(3, 14)))
                plan = self.plan(mixture, practitioner, first_day, created_at=min(created_at, self.now))
                if not plan.sessions:
                    break
                person.plans.append(plan)
                series = [s for s in plan.sessions if not s.is_maintenance]
                last_day = series[-1].day
                first_day = last_day + dt.timedelta(days=rng.randrange(14, 120))
        finally:
            self.rng = self.main_rng

    def plan(
        self, mixture: dict[str, Any], practitioner: int, first_day: dt.date, *, created_at: dt.datetime
    ) -> TreatmentPlanPlan:
        rng, now = self.rng, self.now
        areas = mixture["areas"]
        area_ids = rng.sample(areas, k=min(len(areas), rng.choice([1, 1, 1, 2, 2, 3])))
        sessions, interval = rng.randint(4, 10), rng.choice([7, 10, 14, 14, 21])
        maintenance = rng.choice([60, 90, 90, 120, 180, None])
        if protocol := mixture["protocol"]:
            # Booked from the protocol, mostly as it stands (the draws above say when
            # the practitioner changed it), so the rest of the demo draws the same.
            sessions = protocol["sessions"] if sessions <= 8 else sessions
            interval = protocol["interval_days"] if interval in (10, 14) else interval
            maintenance = protocol["maintenance_interval_days"] if maintenance != 60 else maintenance
        plan = TreatmentPlanPlan(
            indication_id=mixture["indication_id"],
            mixture_id=mixture["id"],
            area_ids=area_ids,
            practitioner_id=practitioner,
            sessions_planned=sessions,
            interval_days=interval,
            maintenance_interval_days=maintenance,
            created_at=created_at,
            notes=rng.choice(PLAN_NOTES) if rng.random() < 0.3 else "",
        )
        quarters = rng.choice([2, 3] if len(area_ids) == 1 else [3, 4])
        weekday_hours = [q for periods in self.ref.hours.values() for opens, closes in periods for q in (opens, closes)]
        preferred = rng.randrange(min(weekday_hours), max(weekday_hours))
        rooms = [self.home_room[practitioner], *(r for r in self.ref.rooms if r != self.home_room[practitioner])]
        abandon_after = rng.randint(1, plan.sessions_planned - 1) if rng.random() < 0.05 else None

        def book(days: Iterable[dt.date]) -> SessionPlan | None:
            slot = self.diary.book(
                (d for d in days if d not in self.client_days), practitioner, rooms, quarters, preferred
            )
            if slot is None:
                return None
            starts_at, ends_at, room, day = slot
            self.client_days.add(day)
            return SessionPlan(
                sequence=0, is_maintenance=False, starts_at=starts_at, ends_at=ends_at, room_id=room, day=day
            )

        wanted = first_day
        last: dt.datetime | None = None  # the start of the plan's last session so far
        previous: dt.date | None = None  # its day
        sequence = 0
        while sequence < plan.sessions_planned:
            if abandon_after and sequence >= abandon_after and plan.sessions[-1].ends_at <= now:
                plan.status = PlanStatus.CANCELLED
                plan.notes = f"Stopped after {sequence} sessions at the client's request."
                return plan
            session = book(_days_near(wanted, previous, plan.interval_days))
            if session is None:
                break
            sequence += 1
            session.sequence = sequence
            self.outcome(plan, session, mixture)
            plan.sessions.append(session)
            if session.status == SessionStatus.CANCELLED:
                day = session.day
                rebooked = book(day + dt.timedelta(days=d) for d in range(1, 15))
                if rebooked is None:
                    break
                rebooked.sequence = sequence
                self.outcome(plan, rebooked, mixture, may_cancel=False)
                plan.sessions.append(rebooked)
            last = plan.sessions[-1].starts_at
            previous = plan.sessions[-1].day
            wanted = next_series_date(last, plan.interval_days, self.ref.tz)

        series_done = plan.sessions and all(s.ends_at <= now for s in plan.sessions)
        if not series_done:
            return plan
        if plan.maintenance_interval_days is None:
            plan.status = PlanStatus.COMPLETED
            return plan
        plan.status = PlanStatus.MAINTENANCE
        for _ in range(3):  # up to three maintenance visits, the last one possibly booked ahead
            if last is None:
                break
            wanted = maintenance_due_on(last, plan.maintenance_interval_days, self.ref.tz)
            if wanted > self.today + dt.timedelta(days=90):
                break
            session = book(wanted + dt.timedelta(days=d) for d in range(0, 21))
            if session is None:
                break
            sequence += 1
            session.sequence, session.is_maintenance = sequence, True
            self.outcome(plan, session, mixture, may_cancel=False)
            plan.sessions.append(session)
            if session.ends_at > now:
                break
            last = session.starts_at
        return plan

    def outcome(self, plan: TreatmentPlanPlan, session: SessionPlan, mixture: dict, *, may_cancel: bool = True) -> None:
        """Status and, for a completed session, the clinical record."""
        rng, now = self.rng, self.now
        session.created_at = min(plan.created_at, session.starts_at - dt.timedelta(hours=1))
        roll = rng.random()
        if session.ends_at > now:  # upcoming
            if may_cancel and roll < 0.03:
                session.status = SessionStatus.CANCELLED
                session.cancellation = _who_cancelled(roll)
            elif session.starts_at - now < dt.timedelta(days=7) and roll < 0.75:
                session.status = SessionStatus.CONFIRMED
            else:
                session.status = SessionStatus.BOOKED
            if session.status != SessionStatus.CANCELLED:
                session.reminder = self.reminder(session, upcoming=True)
            return
        if may_cancel and roll < 0.05:
            session.status = SessionStatus.CANCELLED
            session.cancellation = _who_cancelled(roll)
            return
        if roll < 0.08:
            session.status = SessionStatus.NO_SHOW
            session.reminder = self.reminder(session, upcoming=False)
            return
        session.status = SessionStatus.COMPLETED
        session.completed_at = min(now, session.ends_at + dt.timedelta(minutes=rng.randrange(0, 15)))
        session.pain_score = min(10, int(rng.triangular(0, 8, 2)))
        if mixture["anaesthetic_inside"] and rng.random() < 0.7:
            session.anaesthetic = "in_mixture"
        else:
            session.anaesthetic = rng.choices(["none", "topical", "cold"], [35, 50, 15])[0]
        session.combination_therapy = rng.choices(["none", "radiofrequency", "ultrasound", "laser"], [88, 5, 5, 2])[0]
        session.notes = rng.choice(SESSION_NOTES) if rng.random() < 0.25 else ""
        day = session.day
        protocol = mixture["protocol"]
        for area in plan.area_ids:
            depths, techniques, needles, (low, high), (p_low, p_high) = INJECTION_STYLE[self.ref.areas[area]]
            injection = InjectionPlan(
                area_id=area,
                volume_ml=Decimal(str(round(rng.uniform(low, high), 1))),
                depth=rng.choice(depths),
                technique=rng.choice(techniques),
                needle_length_mm=Decimal(rng.choice(needles)),
                points=rng.randint(p_low, p_high),
                lot_ids=[self.lot(product, day) for product in mixture["products"]],
            )
            if protocol and area in protocol["areas"]:
                injection.depth, injection.technique = protocol["depth"], protocol["technique"]
                injection.needle_length_mm = protocol["needle_length_mm"]
            _fitting(injection)
            injection.quantities = self.quantities(injection, mixture["recipe"])
            session.injections.append(injection)
        # One lot (raised_lot) is followed by side effects five times as often as
        # the others, so the demo's signal page and Today show a flag.
        raised = any(self.raised_lot in i.lot_ids for i in session.injections)
        if self.kind_weights and rng.random() < (RAISED_RATE if raised else BASE_RATE):
            session.side_effect = self.side_effect(session, day)
        session.reminder = self.reminder(session, upcoming=False)

    def quantities(self, injection: InjectionPlan, recipe: dict[int, Decimal]) -> dict[int, Decimal]:
        """About one record in five has the ml of each product written down: its
        share of the volume by the recipe, to the tenth below (never more than
        the volume). From a stream of its own, so the rest of the demo is the same."""
        total = sum(recipe.values(), Decimal(0))
        if not total or self.quantity_rng.random() >= 0.2:
            return {}
        tenth = Decimal("0.1")
        shares = {
            p: (injection.volume_ml * amount / total).quantize(tenth, "ROUND_DOWN") for p, amount in recipe.items()
        }
        return {p: ml for p, ml in shares.items() if ml > 0}

    def lot(self, product: int, day: dt.date) -> int:
        """The newest lot of the product received by `day` and not expired on it."""
        key = (product, day)
        if key not in self.lots_on:
            usable = [pk for received, expiry, pk in self.ref.lots[product] if received <= day <= expiry]
            if not usable:
                raise ValueError(f"No demo lot of product {product} is usable on {day}.")
            self.lots_on[key] = usable[-1]
        return self.lots_on[key]

    def side_effect(self, session: SessionPlan, day: dt.date) -> SideEffectPlan:
        rng, now = self.rng, self.now
        kind, _, (low, high), action = rng.choices(self.ref.side_effect_kinds, self.kind_weights)[0]
        severity = rng.choices(SideEffectSeverity.values, [80, 18, 2])[0]
        onset = min(self.today, day + dt.timedelta(days=rng.choice([0, 0, 0, 1])))
        recorded_at = max(session.ends_at, local_datetime(onset, dt.time(18), self.ref.tz) or session.ends_at)
        recorded_at = min(recorded_at, now)
        resolved: dt.date | None = onset + dt.timedelta(days=rng.randint(low, high))
        if resolved >= self.today:
            resolved = None
        # Side effects of the last month still wait for a practitioner's review, so the
        # demo dashboard and review list always have some; older ones were reviewed.
        # (The draws are the same whatever the age, so the rest of the demo does not shift.)
        reviewed_at = None
        recent = (self.today - onset).days < 14
        if not (recent and rng.random() < 0.5):
            reviewed_at = min(now, recorded_at + dt.timedelta(hours=rng.randrange(2, 72)))
        if (self.today - onset).days < REVIEW_BACKLOG_DAYS:
            reviewed_at = None
        if resolved:
            status = SideEffectStatus.RESOLVED
        else:
            status = SideEffectStatus.IMPROVING if (self.today - onset).days >= 3 else SideEffectStatus.OPEN
        return SideEffectPlan(
            kind_id=kind,
            severity=severity,
            serious=severity == SideEffectSeverity.SEVERE and rng.random() < 0.5,
            status=status,
            onset=onset,
            expected_resolution_on=expected_resolution(onset, self.ref.expected_days.get(kind)),
            resolved_on=resolved,
            action_taken=action if resolved or rng.random() < 0.5 else "",
            recorded_at=recorded_at,
            reviewed_at=reviewed_at,
        )

    def reminder(self, session: SessionPlan, *, upcoming: bool) -> ReminderPlan | None:
        """Upcoming sessions get the reminder of the upcoming-session rule:
        pending, or sent already when its time has come. Of past ones, the
        last few months keep theirs. (The random draws do not depend on the
        rule, so the rest of the demo is the same with or without one.)"""
        rng, now, rule = self.rng, self.now, self.ref.upcoming_rule
        due = due_at(session.starts_at, rule.offset, self.ref.tz) if rule else session.starts_at
        if not upcoming and (now - due > dt.timedelta(days=120) or rng.random() < 0.3):
            return None
        if rule is None:
            return None
        slot, channel = "", ReminderChannel.CALL  # set from the client's wishes by finish()
        if upcoming and due > now:
            return ReminderPlan(slot, channel, due, ReminderStatus.PENDING, 0, None, "")
        if rng.random() < 0.05:
            return ReminderPlan(slot, channel, due, ReminderStatus.FAILED, 3, None, REMINDER_ERRORS[channel])
        sent_at = min(now, due + dt.timedelta(minutes=rng.randrange(0, 10)))
        return ReminderPlan(slot, channel, due, ReminderStatus.SENT, 1, sent_at, "")

    def finish(self, person: ClientPlan) -> None:
        """Set each reminder's channel from the client's wishes, and archive
        some long-inactive clients."""
        rule = self.ref.upcoming_rule
        slot, channel = "", ReminderChannel.CALL
        if rule:
            made = rule.channels_for(
                preferred=person.preferred_channel,
                consent_email=person.consent_email,
                consent_sms=person.consent_sms,
            )
            slot, channel = next(iter(made.items()))
        last = person.created_at
        for plan in person.plans:
            for session in plan.sessions:
                last = max(last, session.ends_at)
                if session.reminder:
                    session.reminder.slot, session.reminder.channel = slot, channel
                    if session.reminder.last_error:
                        session.reminder.last_error = REMINDER_ERRORS[channel]
        if person.screening:
            # A condition in an area concerns an area none of the client's plans treats.
            treated = {area for plan in person.plans for area in plan.area_ids}
            free = [area for area in self.ref.areas if area not in treated] or list(self.ref.areas)
            for question, yes, *_ in person.screening.answers:
                if yes and question in IN_AREA_YES:
                    person.screening.areas[question] = [self.screening_rng.choice(free)]
        # About a third of the clients gone quiet for half a year are archived; the
        # first always is, so that even a small demo shows an archived client.
        if self.now - last > dt.timedelta(days=180) and (not self.archived_any or self.rng.random() < 0.35):
            self.archived_any = True
            person.archived_at = min(self.now, last + dt.timedelta(days=self.rng.randrange(30, 150)))


def _who_cancelled(roll: float) -> str:
    """Who called a demo session off, from the roll that cancelled it (no draw of
    its own, so the rest of the demo stays as it was): mostly the client."""
    return ("client", "client", "late", "clinic")[int(roll * 1000) % 4]


def _days_near(wanted: dt.date, previous: dt.date | None, interval: int) -> Iterator[dt.date]:
    """The wanted day, then the days around it that keep 7 to 21 days after the
    previous session (only later ones for a first session), then later days
    when the clinic is that full."""
    yield wanted
    if previous is None:
        for offset in range(1, 45):
            yield wanted + dt.timedelta(days=offset)
        return
    for offset in range(1, 8):
        for day in (wanted + dt.timedelta(days=offset), wanted - dt.timedelta(days=offset)):
            if 7 <= (day - previous).days <= 21:
                yield day
    for offset in range(8, 45):
        yield wanted + dt.timedelta(days=offset)


def _email(first: str, last: str, rng: random.Random) -> str:
    def ascii_word(text: str) -> str:
        plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        return "".join(c for c in plain.lower() if c.isalnum())

    style = rng.randrange(3)
    local = (
        f"{ascii_word(first)}.{ascii_word(last)}",
        f"{ascii_word(first)[0]}{ascii_word(last)}{rng.randrange(10, 99)}",
        f"{ascii_word(first)}{rng.randrange(1960, 2005)}",
    )[style]
    return f"{local}@{rng.choice(EMAIL_DOMAINS)}"


# --- Writing: table by table, in batches -----------------------------------------------


def _bar(items: Iterable, desc: str, progress: bool, total: int | None = None):
    return tqdm(items, desc=desc, total=total, file=sys.stderr, disable=not progress, unit="rows", mininterval=0.5)


def _bulk(model: type[models.Model], objs: Sequence[models.Model], desc: str, progress: bool) -> Sequence:
    """bulk_create in batches, with a progress bar (the few product lots). On
    PostgreSQL and SQLite the objects come back with their primary keys."""
    with _bar(None, desc, progress, total=len(objs)) as bar:
        for batch in batched(objs, BATCH):
            model.objects.bulk_create(batch)
            bar.update(len(batch))
    return objs


# The columns of a demo session, in the order of _session_values.
SESSION_COLUMNS = (
    "id",
    "plan_id",
    "sequence",
    "is_maintenance",
    "starts_at",
    "ends_at",
    "practitioner_id",
    "room_id",
    "status",
    "cancellation",
    "anaesthetic",
    "pain_score",
    "combination_therapy",
    "notes",
    "completed_at",
    "signed_at",
    "signed_by_id",
    "created_at",
    "updated_at",
)


def _session_values(plan: TreatmentPlanPlan, s: SessionPlan) -> tuple:
    return (
        s.pk,
        plan.pk,
        s.sequence,
        s.is_maintenance,
        s.starts_at,
        s.ends_at,
        plan.practitioner_id,
        s.room_id,
        s.status,
        s.cancellation,
        s.anaesthetic,
        s.pain_score,
        s.combination_therapy,
        s.notes,
        s.completed_at,
        # The practitioner signed the record on completing the session.
        s.completed_at,
        plan.practitioner_id if s.completed_at else None,
        s.created_at,
        s.completed_at or s.created_at,
    )


def _write(people: list[ClientPlan], ref: Reference, *, progress: bool) -> dict[str, int]:
    """Write the planned clinic, table by table: each table's primary keys
    reserved first (so its children's rows can name them), then its rows as
    plain values (devtools.bulk: COPY on PostgreSQL, bulk_create on SQLite).
    No history rows: demo records start without (the first real edit creates
    one), which halves the rows to write."""
    counts: dict[str, int] = {}

    def write(model, columns: tuple[str, ...], rows: Iterable[tuple], desc: str, total: int) -> None:
        with _bar(None, desc, progress, total=total) as bar:
            counts[desc.lower()] = rows_insert(model, columns, rows, tick=bar.update)

    def number(model, items: Sequence) -> None:
        for item, pk in zip(items, ids_reserve(model, len(items)), strict=True):
            item.pk = pk

    number(Client, people)
    write(
        Client,
        (
            "id",
            "first_name",
            "last_name",
            "date_of_birth",
            "email",
            "phone",
            "address",
            "preferred_channel",
            "consent_email",
            "consent_sms",
            "notes",
            "sex",
            "archived_at",
            "search_key",
            "created_at",
            "updated_at",
        ),
        (
            (
                c.pk,
                c.first_name,
                c.last_name,
                c.date_of_birth,
                c.email,
                c.phone,
                c.address,
                c.preferred_channel,
                c.consent_email,
                c.consent_sms,
                c.notes,
                c.sex,
                c.archived_at,
                # The search key services.clients writes with the names (SQLite's search reads it).
                search_key(c.first_name, c.last_name),
                c.created_at,
                c.archived_at or c.created_at,
            )
            for c in people
        ),
        "Clients",
        len(people),
    )
    allergies = [(c.pk, s) for c in people for s in c.allergy_ids]
    write(Client.allergies.through, ("client_id", "substance_id"), allergies, "Allergies", len(allergies))

    screenings = [(c, c.screening) for c in people if c.screening]
    number(Screening, [s for _, s in screenings])
    write(
        Screening,
        ("id", "client_id", "screened_at", "screened_by_id"),
        ((s.pk, c.pk, s.screened_at, s.screened_by_id) for c, s in screenings),
        "Screenings",
        len(screenings),
    )
    total = sum(len(s.answers) for _, s in screenings)
    answer_ids = iter(ids_reserve(ScreeningAnswer, total))
    severity = {question: contraindication_severity(question) for question in Contraindication.values}

    def answer_rows() -> Iterator[tuple]:
        for _, s in screenings:
            for question, yes, details, judgement, judge in s.answers:
                pk = next(answer_ids)
                if question in s.areas:
                    s.answer_pks[question] = pk
                judged_at = s.screened_at if judge else None
                yield (pk, s.pk, question, yes, details, judgement, judge, judged_at, severity[question])

    write(
        ScreeningAnswer,
        ("id", "screening_id", "question", "answer", "details", "judgement", "judged_by_id", "judged_at", "severity"),
        answer_rows(),
        "Screening answers",
        total,
    )
    answer_areas = [
        (s.answer_pks[question], area) for _, s in screenings for question, ids in s.areas.items() for area in ids
    ]
    write(
        ScreeningAnswer.areas.through,
        ("screeninganswer_id", "treatmentarea_id"),
        answer_areas,
        "Screening answer areas",
        len(answer_areas),
    )

    plans = [(c, plan) for c in people for plan in c.plans]
    number(TreatmentPlan, [plan for _, plan in plans])
    write(
        TreatmentPlan,
        (
            "id",
            "client_id",
            "indication_id",
            "mixture_id",
            "practitioner_id",
            "sessions_planned",
            "interval_days",
            "maintenance_interval_days",
            "status",
            "notes",
            "created_at",
        ),
        (
            (
                p.pk,
                c.pk,
                p.indication_id,
                p.mixture_id,
                p.practitioner_id,
                p.sessions_planned,
                p.interval_days,
                p.maintenance_interval_days,
                p.status,
                p.notes,
                p.created_at,
            )
            for c, p in plans
        ),
        "Treatment plans",
        len(plans),
    )
    plan_areas = [(plan.pk, area) for _, plan in plans for area in plan.area_ids]
    write(
        TreatmentPlan.areas.through, ("treatmentplan_id", "treatmentarea_id"), plan_areas, "Plan areas", len(plan_areas)
    )
    if ref.consent_text_id is not None:
        write(
            Consent,
            ("plan_id", "consent_text_id", "signed_name", "agreed", "signed_at", "witnessed_by_id"),
            (
                (
                    p.pk,
                    ref.consent_text_id,
                    c.full_name,
                    True,
                    min(p.created_at + dt.timedelta(minutes=10), p.sessions[0].starts_at),
                    p.practitioner_id,
                )
                for c, p in plans
            ),
            "Consents",
            len(plans),
        )

    # In time order, as a clinic's own records are: ids then follow the calendar.
    sessions = sorted(((plan, s) for _, plan in plans for s in plan.sessions), key=lambda p: p[1].starts_at)
    number(TreatmentSession, [s for _, s in sessions])
    write(
        TreatmentSession,
        SESSION_COLUMNS,
        (_session_values(plan, s) for plan, s in sessions),
        "Treatment sessions",
        len(sessions),
    )
    _cancellations_history(sessions, progress=progress)

    injections = [(s, i) for _, s in sessions for i in s.injections]
    number(Injection, [i for _, i in injections])
    write(
        Injection,
        ("id", "session_id", "area_id", "volume_ml", "depth", "technique", "needle_length_mm", "points"),
        (
            (i.pk, s.pk, i.area_id, i.volume_ml, i.depth, i.technique, i.needle_length_mm, i.points)
            for s, i in injections
        ),
        "Injections",
        len(injections),
    )
    write(
        Injection.lots.through,
        ("injection_id", "productlot_id"),
        ((i.pk, lot) for _, i in injections for lot in i.lot_ids),
        "Injection lots",
        sum(len(i.lot_ids) for _, i in injections),
    )
    write(
        InjectionQuantity,
        ("injection_id", "product_id", "quantity_ml"),
        ((i.pk, product, ml) for _, i in injections for product, ml in i.quantities.items()),
        "Injection quantities",
        sum(len(i.quantities) for _, i in injections),
    )

    client_of = {id(plan): c for c, plan in plans}
    effects = [(plan, s, s.side_effect) for plan, s in sessions if s.side_effect]
    write(
        SideEffect,
        (
            "client_id",
            "session_id",
            "kind_id",
            "severity",
            "serious",
            "status",
            "onset",
            "expected_resolution_on",
            "resolved_on",
            "action_taken",
            "recorded_by_id",
            "recorded_at",
            "reviewed_by_id",
            "reviewed_at",
        ),
        (
            (
                client_of[id(plan)].pk,
                s.pk,
                e.kind_id,
                e.severity,
                e.serious,
                e.status,
                e.onset,
                e.expected_resolution_on,
                e.resolved_on,
                e.action_taken,
                plan.practitioner_id,
                e.recorded_at,
                plan.practitioner_id if e.reviewed_at else None,
                e.reviewed_at,
            )
            for plan, s, e in effects
        ),
        "Side effects",
        len(effects),
    )

    rule = ref.upcoming_rule
    reminders = [(plan, s, s.reminder) for plan, s in sessions if s.reminder]
    write(
        Reminder,
        (
            "client_id",
            "plan_id",
            "session_id",
            "rule_id",
            "kind",
            "channel",
            "key",
            "due_at",
            "status",
            "attempts",
            "claimed_at",
            "sent_at",
            "last_error",
            "created_at",
        ),
        (
            (
                client_of[id(plan)].pk,
                plan.pk,
                s.pk,
                rule.pk,
                ReminderKind.UPCOMING_SESSION,
                r.channel,
                reminder_key(ReminderKind.UPCOMING_SESSION, r.slot, rule.pk, "session", s.pk),
                r.due_at,
                r.status,
                r.attempts,
                r.due_at if r.attempts else None,
                r.sent_at,
                r.last_error,
                min(s.created_at, r.due_at),
            )
            for plan, s, r in reminders
        ),
        "Reminders",
        len(reminders),
    )
    return counts


# --- The clients' check-ins ---------------------------------------------------------------

# How many of the check-in messages already due the demo's clients answer (the
# rest wait, as the worker would send them): enough to show, few enough that
# going through the real service costs a second at any size.
DEMO_CHECK_INS = 40
# What they answer, and how often.
CHECK_IN_ANSWERS = {"fine": 70, "redness": 10, "swelling": 8, "bruising": 7, "pain": 4, "other": 1}
CHECK_IN_NOTES = (
    "",
    "",
    "A little warm in the evening.",
    "Better than yesterday.",
    "Small bump where it was injected.",
)


def _answer_check_ins(*, now: dt.datetime, seed: int) -> int:
    """Some clients answered the check-in messages already due, through the
    same service as the page their link opens (side effects, the severe one's
    call), their messages marked sent; the newest answer is a severe one, so
    Today and the call list show it."""
    from sessions_app.services.check_ins import check_in_answer

    rng = random.Random(seed + 2)
    due = list(
        Reminder.objects.filter(kind=ReminderKind.CHECK_IN, due_at__lte=now, status=ReminderStatus.PENDING)
        .filter(client__in=demo_clients())
        .order_by("due_at", "pk")
        .values_list("pk", "due_at")
    )
    chosen = sorted(rng.sample(due, k=min(DEMO_CHECK_INS, len(due))), key=lambda r: r[1])
    Reminder.objects.filter(pk__in=[pk for pk, _ in chosen]).update(
        status=ReminderStatus.SENT, attempts=1, claimed_at=F("due_at"), sent_at=F("due_at")
    )
    answers, weights = list(CHECK_IN_ANSWERS), list(CHECK_IN_ANSWERS.values())
    for number, (pk, due) in enumerate(chosen, start=1):
        answer = "swelling" if number == len(chosen) else rng.choices(answers, weights)[0]
        score = 8 if number == len(chosen) else min(10, int(rng.triangular(0, 8, 2)))
        answered_at = min(now, due + dt.timedelta(minutes=rng.randrange(5, 180)))
        check_in_answer(
            reminder_id=pk,
            answer=answer,
            score=None if answer == "fine" else score,
            note=rng.choice(CHECK_IN_NOTES),
            now=answered_at,
        )
    return len(chosen)


# --- Deleting the demo data ------------------------------------------------------------


# How long before its start a demo session was cancelled, taken in turn by
# session id (not drawn from the seed's random numbers, which would shift the
# rest of the demo): within a day for the client's late ones, as reception
# would have marked them, earlier for the others.
CANCELLED_HOURS_BEFORE = {"late": (2, 20, 6), "other": (30, 72, 168, 48, 96, 240)}


def _cancellations_history(sessions: list, *, progress: bool) -> None:
    """A history row for each cancelled demo session, dated when it was
    cancelled, as the schedule leaves one: the reports read late cancellations
    there."""
    now = timezone.now()
    rows = []
    for plan, session in sessions:
        if session.status != SessionStatus.CANCELLED:
            continue
        hours = CANCELLED_HOURS_BEFORE["late" if session.cancellation == "late" else "other"]
        before = dt.timedelta(hours=hours[session.pk % len(hours)])
        cancelled_at = max(session.created_at, min(now, session.starts_at - before))
        # As simple-history writes a change: "~", nobody named (the demo's own).
        rows.append((*_session_values(plan, session), cancelled_at, "~", "Cancelled", None))
    columns = (*SESSION_COLUMNS, "history_date", "history_type", "history_change_reason", "history_user_id")
    with _bar(None, "Cancellations", progress, total=len(rows)) as bar:
        rows_insert(TreatmentSession.history.model, columns, rows, tick=bar.update)


def _raw_delete(queryset: models.QuerySet) -> int:
    """One DELETE statement. QuerySet.delete() would load every row to send
    signals (simple-history listens, and would write a history row for each
    deleted record); demo rows need neither, and the order below keeps the
    foreign keys satisfied. `_raw_delete` is private Django API, stable since 1.9."""
    return queryset._raw_delete(queryset.db)


def demo_data_delete(*, progress: bool = False) -> dict[str, int]:
    """Delete the demo clients and everything that hangs off them (history rows
    included), children first, and the demo lots no remaining injection uses.
    Staff, rooms and reference data stay."""
    history = {name: Client._meta.apps.get_model("sessions_app", name) for name in _HISTORY_MODELS}
    clients = demo_clients().values("pk")
    plans = TreatmentPlan.objects.filter(client__in=clients).values("pk")
    sessions = TreatmentSession.objects.filter(plan__in=plans).values("pk")
    injections = Injection.objects.filter(session__in=sessions).values("pk")
    screenings = Screening.objects.filter(client__in=clients).values("pk")
    answers = ScreeningAnswer.objects.filter(screening__in=screenings).values("pk")
    # Each a semi-join: an OR of IN lists would be checked row by row once
    # the lists outgrow PostgreSQL's work_mem (a million sessions).
    side_effects = (
        SideEffect.objects.filter(client__in=clients)
        .values("pk")
        .union(SideEffect.objects.filter(session__in=sessions).values("pk"))
    )
    steps = [
        ("Check-ins", CheckIn.objects.filter(client__in=clients)),
        ("Reminders", Reminder.objects.filter(client__in=clients)),
        ("Reminders", Reminder.objects.filter(plan__in=plans)),
        ("Reminders", Reminder.objects.filter(session__in=sessions)),
        ("", SideEffectFollowUp.objects.filter(side_effect__in=side_effects)),
        ("", history["HistoricalSideEffect"].objects.filter(id__in=side_effects)),
        ("Side effects", SideEffect.objects.filter(pk__in=side_effects)),
        ("", history["HistoricalInjectionQuantity"].objects.filter(injection_id__in=injections)),
        ("", InjectionQuantity.objects.filter(injection_id__in=injections)),
        ("", CeilingDecision.objects.filter(session_id__in=sessions)),
        ("", RecordDraft.objects.filter(session_id__in=sessions)),
        ("", history["HistoricalInjection_lots"].objects.filter(injection_id__in=injections)),
        ("", history["HistoricalInjection"].objects.filter(id__in=injections)),
        ("", Injection.lots.through.objects.filter(injection_id__in=injections)),
        ("Injections", Injection.objects.filter(pk__in=injections)),
        ("", history["HistoricalTreatmentSession"].objects.filter(id__in=sessions)),
        ("Treatment sessions", TreatmentSession.objects.filter(pk__in=sessions)),
        ("", history["HistoricalConsent"].objects.filter(plan_id__in=plans)),
        ("Consents", Consent.objects.filter(plan__in=plans)),
        ("", history["HistoricalTreatmentPlan_areas"].objects.filter(treatmentplan_id__in=plans)),
        ("", history["HistoricalTreatmentPlan"].objects.filter(id__in=plans)),
        ("", TreatmentPlan.areas.through.objects.filter(treatmentplan_id__in=plans)),
        ("Treatment plans", TreatmentPlan.objects.filter(pk__in=plans)),
        ("", history["HistoricalScreeningAnswer_areas"].objects.filter(screeninganswer_id__in=answers)),
        ("", ScreeningAnswer.areas.through.objects.filter(screeninganswer_id__in=answers)),
        ("", history["HistoricalScreeningAnswer"].objects.filter(screening_id__in=screenings)),
        ("", ScreeningAnswer.objects.filter(screening__in=screenings)),
        ("", history["HistoricalScreening"].objects.filter(id__in=screenings)),
        ("Screenings", Screening.objects.filter(pk__in=screenings)),
        ("", history["HistoricalClient_allergies"].objects.filter(client_id__in=clients)),
        ("", history["HistoricalClient"].objects.filter(id__in=clients)),
        ("", Client.allergies.through.objects.filter(client_id__in=clients)),
        ("Clients", Client.objects.filter(pk__in=clients)),
    ]
    deleted: dict[str, int] = {"Access log entries": _access_log_delete(clients)}
    for label, queryset in _bar(steps, "Deleting demo data", progress):
        count = _raw_delete(queryset)
        if label:
            deleted[label] = deleted.get(label, 0) + count
    used = Injection.lots.through.objects.values("productlot_id")
    deleted["Product lots"] = _raw_delete(
        ProductLot.objects.filter(lot_number__startswith=DEMO_LOT_PREFIX).exclude(pk__in=used)
    )
    return deleted


# The trigger that keeps the access log append-only on PostgreSQL
# (sessions_app/migrations/0012_privacy_and_access_log.py).
APPEND_ONLY_TRIGGER = "sessions_app_accesslog_append_only"


def _access_log_delete(clients: models.QuerySet) -> int:
    """The access log's entries of demo clients: who opened a demo client's
    page. The log is append-only (on PostgreSQL a trigger refuses any DELETE),
    and its entries keep the clients they name, so demo clients someone opened
    could not be deleted. These entries name made-up people: they go with
    them, the trigger lifted for this one statement, inside the transaction
    (ALTER TABLE is transactional there, and locks the log until the commit:
    nobody else writes or reads it meanwhile). Entries of real clients, and
    those naming no client, stay."""
    entries = AccessLog.objects.filter(client__in=clients)
    if not entries.exists():
        return 0
    if connection.vendor != "postgresql":
        return _raw_delete(entries)
    table = connection.ops.quote_name(AccessLog._meta.db_table)
    trigger = connection.ops.quote_name(APPEND_ONLY_TRIGGER)
    with checks_now(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_trigger WHERE tgname = %s AND tgrelid = %s::regclass",
            [APPEND_ONLY_TRIGGER, AccessLog._meta.db_table],
        )
        guarded = cursor.fetchone() is not None
        if guarded:
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
        count = _raw_delete(entries)
        if guarded:
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")
    return count


_HISTORY_MODELS = (
    "HistoricalSideEffect",
    "HistoricalInjectionQuantity",
    "HistoricalInjection_lots",
    "HistoricalInjection",
    "HistoricalTreatmentSession",
    "HistoricalConsent",
    "HistoricalTreatmentPlan_areas",
    "HistoricalTreatmentPlan",
    "HistoricalScreeningAnswer_areas",
    "HistoricalScreeningAnswer",
    "HistoricalScreening",
    "HistoricalClient_allergies",
    "HistoricalClient",
)
