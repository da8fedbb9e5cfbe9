"""Small named helpers that build valid objects, and the few other helpers more
than one test module needs (times, the admin's forms); each test changes only
what it is about. Test modules import helpers from here, never from each other."""

import datetime
import datetime as dt
import itertools
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from sessions_app.models import (
    Client,
    Consent,
    Contraindication,
    Indication,
    Injection,
    Mixture,
    Product,
    ProductLot,
    Profession,
    Reminder,
    ReminderChannel,
    ReminderKind,
    Role,
    Room,
    Screening,
    ScreeningAnswer,
    SessionStatus,
    SideEffect,
    SideEffectKind,
    SideEffectSeverity,
    TreatmentArea,
    TreatmentPlan,
    TreatmentSession,
    User,
    contraindication_severity,
)
from sessions_app.phones import phone_to_e164
from sessions_app.reminders.generate import reminders_generate
from sessions_app.search_terms import search_key

_counter = itertools.count(1)
PASSWORD = "correct-horse-battery"


def make_user(role: Role | None = None, **fields) -> User:
    n = next(_counter)
    fields.setdefault("username", f"{(role or 'user').lower()}{n}")
    fields.setdefault("first_name", "Sam")
    fields.setdefault("last_name", f"Staff{n}")
    fields.setdefault("is_staff", role == Role.MANAGER)
    user = User.objects.create_user(password=PASSWORD, **fields)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


def make_client(**fields) -> Client:
    n = next(_counter)
    fields.setdefault("first_name", "Alex")
    fields.setdefault("last_name", f"Client{n}")
    fields.setdefault("date_of_birth", datetime.date(1985, 4, 12))
    fields.setdefault("email", f"client{n}@example.org")
    fields.setdefault("phone", f"+33 6 00 {n // 100 % 100:02d} {n % 100:02d} 00")
    # As the services write them: the phone in E.164, the folded name to search by.
    if fields["phone"]:
        fields["phone"] = phone_to_e164(fields["phone"], "FR")
    fields.setdefault("search_key", search_key(fields["first_name"], fields["last_name"]))
    return Client.objects.create(**fields)


def make_plan(client: Client | None = None, practitioner: User | None = None, **fields) -> TreatmentPlan:
    fields.setdefault("indication", Indication.objects.get(name="Skin rejuvenation"))
    fields.setdefault("mixture", Mixture.objects.get(name="Facial rejuvenation"))
    fields.setdefault("sessions_planned", 6)
    fields.setdefault("interval_days", 14)
    fields.setdefault("maintenance_interval_days", 90)
    plan = TreatmentPlan.objects.create(
        client=client or make_client(),
        practitioner=practitioner or make_user(Role.PRACTITIONER),
        **fields,
    )
    plan.areas.set([TreatmentArea.objects.get(name="Face")])
    return plan


def more_plans(like: TreatmentPlan, n: int, **fields) -> list[TreatmentPlan]:
    """`n` plans more for the client, practitioner, indication and mixture of
    `like`, in one INSERT (the plan-scale tests' clinics)."""
    fields = {"sessions_planned": 6, "interval_days": 14, **fields}
    keys = {"client": like.client, "practitioner": like.practitioner, "indication": like.indication}
    return TreatmentPlan.objects.bulk_create(TreatmentPlan(**keys, mixture=like.mixture, **fields) for _ in range(n))


def make_session(plan: TreatmentPlan | None = None, starts_at: datetime.datetime | None = None, **fields):
    plan = plan or make_plan()
    starts_at = starts_at or timezone.now().replace(microsecond=0) + datetime.timedelta(days=1)
    fields.setdefault("sequence", plan.sessions.count() + 1)
    fields.setdefault("ends_at", starts_at + datetime.timedelta(minutes=45))
    fields.setdefault("practitioner", plan.practitioner)
    fields.setdefault("room", Room.objects.get(name="Room 1"))
    fields.setdefault("status", SessionStatus.BOOKED)
    if fields["status"] == SessionStatus.COMPLETED:
        # Completed sessions are signed records (the record page does both at once).
        fields.setdefault("completed_at", fields["ends_at"])
        fields.setdefault("signed_at", fields["completed_at"])
        fields.setdefault("signed_by", fields["practitioner"])
    return TreatmentSession.objects.create(plan=plan, starts_at=starts_at, **fields)


def make_lot(product: Product | None = None, **fields) -> ProductLot:
    n = next(_counter)
    fields.setdefault("lot_number", f"L{n:06d}")
    fields.setdefault("expiry_date", timezone.localdate() + datetime.timedelta(days=365))
    return ProductLot.objects.create(product=product or Product.objects.get(name="Hyalu Meso 1%"), **fields)


def make_injection(session: TreatmentSession, lots=(), **fields) -> Injection:
    fields.setdefault("area", TreatmentArea.objects.get(name="Face"))
    fields.setdefault("volume_ml", Decimal("2.0"))
    fields.setdefault("depth", "superficial_dermis")
    fields.setdefault("technique", "nappage")
    fields.setdefault("needle_length_mm", Decimal("4"))
    fields.setdefault("points", 40)
    injection = Injection.objects.create(session=session, **fields)
    injection.lots.set(lots or [make_lot()])
    return injection


def make_physician(**fields) -> User:
    return make_user(Role.PRACTITIONER, profession=Profession.PHYSICIAN, job_title="Physician", **fields)


def make_nurse(**fields) -> User:
    return make_user(Role.PRACTITIONER, profession=Profession.NURSE, job_title="Nurse injector", **fields)


def make_screening(
    client: Client | None = None, *, days_ago=10, yes=(), judgement="", answered=True, areas=(), **fields
) -> Screening:
    """A screening by a physician `days_ago` days ago, every question answered
    no but those in `yes` (a judgement, by the screener, for those that take
    one; the `areas` for those in the area); with answered=False, none
    answered (make_answer adds answers one by one)."""
    fields.setdefault("screened_at", timezone.now() - dt.timedelta(days=days_ago))
    fields.setdefault("screened_by", make_physician())
    screening = Screening.objects.create(client=client or make_client(), **fields)
    if answered:
        answers = ScreeningAnswer.objects.bulk_create(
            ScreeningAnswer(
                screening=screening,
                question=q,
                answer=q in yes,
                severity=contraindication_severity(q),
                judgement=judgement if q in yes else "",
                judged_by=fields["screened_by"] if judgement and q in yes else None,
                judged_at=fields["screened_at"] if judgement and q in yes else None,
            )
            for q in Contraindication.values
        )
        for answer in answers:
            if answer.answer and answer.severity == "in_area":
                answer.areas.set(areas)
    return screening


def make_answer(screening: Screening | None = None, question=Contraindication.DIABETES, **fields) -> ScreeningAnswer:
    """One answer; a judgement is the screener's unless `judged_by` says whose."""
    fields.setdefault("severity", contraindication_severity(question))
    screening = screening or make_screening(days_ago=0, answered=False)
    if fields.get("judgement"):
        fields.setdefault("judged_by", screening.screened_by)
        fields.setdefault("judged_at", screening.screened_at)
    areas = fields.pop("areas", ())
    answer = ScreeningAnswer.objects.create(screening=screening, question=question, **fields)
    if areas:
        answer.areas.set(areas)
    return answer


def make_consent(plan: TreatmentPlan | None = None, text=None, **fields) -> Consent:
    """The client's consent to the consent text in force (or `text`)."""
    from sessions_app.services.clearance import current_consent_text

    plan = plan or make_plan()
    fields.setdefault("consent_text", text or current_consent_text())
    fields.setdefault("signed_name", plan.client.full_name)
    fields.setdefault("agreed", True)
    fields.setdefault("signed_at", timezone.now())
    return Consent.objects.create(plan=plan, **fields)


def make_cleared(plan: TreatmentPlan) -> TreatmentPlan:
    """A plan whose client is screened with no contraindication and has signed the consent: ready to treat."""
    make_screening(plan.client)
    make_consent(plan)
    return plan


def sign_record(session: TreatmentSession, by: User | None = None, **fields) -> TreatmentSession:
    """Completes the session through the record page's service: one area of the
    plan, one lot of the mixture's first product. The client must be cleared."""
    from sessions_app.services.records import InjectionInput, RecordInput, session_record_sign

    plan = session.plan
    product = plan.mixture.components.order_by("id").first().product
    area = plan.areas.order_by("name").first()
    injection = InjectionInput(
        area=area,
        lots=(make_lot(product),),
        volume_ml=Decimal("2.0"),
        depth="superficial_dermis",
        technique="nappage",
        needle_length_mm=Decimal("4"),
        points=40,
    )
    record = RecordInput(
        anaesthetic=fields.get("anaesthetic", "none"),
        pain_score=fields.get("pain_score", 2),
        combination_therapy=fields.get("combination_therapy", "none"),
        notes=fields.get("notes", ""),
        injections=fields.get("injections", (injection,)),
    )
    return session_record_sign(session_id=session.pk, record=record, by=by or session.practitioner)


def image_bytes(fmt: str = "PNG", size=(40, 30), color=(200, 120, 90)) -> bytes:
    """A real image, as a camera or a phone would upload it."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format=fmt)
    return out.getvalue()


def make_photo(session: TreatmentSession, kind: str = "before", by: User | None = None):
    from django.core.files.base import ContentFile

    from sessions_app.models import SessionPhoto

    photo = SessionPhoto(
        session=session,
        kind=kind,
        uploaded_by=by or session.practitioner,
        content_type="image/png",
        width=40,
        height=30,
    )
    photo.image.save("photo.png", ContentFile(image_bytes()), save=False)
    photo.save()
    return photo


def make_amendment(session: TreatmentSession, by: User | None = None, **fields):
    from sessions_app.models import SessionAmendment

    fields.setdefault("reason", "Wrong volume typed")
    fields.setdefault("changes", ["Face: Volume (ml): 2.00 → 2.50"])
    return SessionAmendment.objects.create(session=session, amended_by=by or session.practitioner, **fields)


def make_rule(kind: str = "aftercare_check", **fields):
    """An active rule; every other rule is switched off, so a test sees only its own."""
    from sessions_app.models import ReminderRule

    ReminderRule.objects.update(active=False)
    fields.setdefault("name", f"Rule {next(_counter)}")
    fields.setdefault("amount", 2)
    fields.setdefault("unit", "days")
    fields.setdefault("direction", "before" if kind == "upcoming_session" else "after")
    fields.setdefault("by_email", True)
    fields.setdefault("subject", "About {date}")
    fields.setdefault("body", "Hello {client_name}, about {date} at {clinic} with {practitioner}.")
    return ReminderRule.objects.create(kind=kind, **fields)


def complete(session, at: datetime.datetime | None = None):
    """Mark a session completed (and its record signed by its practitioner) at
    `at`, its end by default, bypassing the treatment rule and the record page."""
    session.status = SessionStatus.COMPLETED
    session.completed_at = session.signed_at = at or session.ends_at
    session.signed_by_id = session.practitioner_id
    session.save(update_fields=["status", "completed_at", "signed_at", "signed_by"])
    return session


# --- Times ---------------------------------------------------------------------

PARIS = ZoneInfo("Europe/Paris")


def next_weekday_at(hour, minute=0, weekday=1, weeks_ahead=1):
    """A clinic-local datetime on a weekday (Tuesday by default) in the future."""
    today = timezone.localdate()
    day = today + dt.timedelta(days=(weekday - today.weekday()) % 7 + 7 * weeks_ahead)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=PARIS)


# The send loop's own clock (Clock) starts on a Tuesday afternoon in the
# clinic: no quiet hours.
T0 = dt.datetime(2031, 3, 11, 15, 0, tzinfo=ZoneInfo(settings.TIME_ZONE))


def at(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


class Clock:
    def __init__(self, moment: dt.datetime):
        self.moment = moment

    def __call__(self) -> dt.datetime:
        return self.moment


# --- Rows of their own ---------------------------------------------------------

_hours = itertools.count(1)
_keys = itertools.count(1)


def book_session(plan: TreatmentPlan | None = None, **fields) -> TreatmentSession:
    """A session an hour after the previous one made here: the shared factory's
    default time is the same for every session, which PostgreSQL's room overlap
    constraint refuses."""
    base = timezone.now().replace(minute=0, second=0, microsecond=0) + dt.timedelta(days=2)
    fields.setdefault("starts_at", base + dt.timedelta(hours=next(_hours)))
    return make_session(plan=plan, **fields)


def make_side_effect(session: TreatmentSession | None = None, **fields) -> SideEffect:
    session = session or book_session()
    fields.setdefault("kind", SideEffectKind.objects.order_by("name").first())
    fields.setdefault("severity", SideEffectSeverity.MILD)
    fields.setdefault("onset", timezone.localdate())
    fields.setdefault("recorded_by", session.practitioner)
    fields.setdefault("status", "resolved" if fields.get("resolved_on") else "open")
    return SideEffect.objects.create(session=session, client=session.plan.client, **fields)


def make_reminder(client: Client | None = None, **fields) -> Reminder:
    fields.setdefault("kind", ReminderKind.UPCOMING_SESSION)
    fields.setdefault("channel", ReminderChannel.EMAIL)
    fields.setdefault("key", f"test:{next(_keys)}")
    fields.setdefault("due_at", timezone.now())
    return Reminder.objects.create(client=client or make_client(), **fields)


def aftercare_call(name="Camille Durand", days_ago=2):
    """A session completed `days_ago` days ago and its aftercare call, due today."""
    first, last = name.split(" ", 1)
    make_rule("aftercare_check", amount=days_ago, by_email=False, by_call=True, send_time=dt.time(0, 0))
    client = make_client(first_name=first, last_name=last)
    # In the morning of that day, whatever the time now: a session begun late
    # in the evening ends after midnight, and its call falls due tomorrow.
    day = timezone.localdate() - dt.timedelta(days=days_ago)
    starts_at = timezone.make_aware(dt.datetime.combine(day, dt.time(10)))
    session = complete(make_session(make_plan(client), starts_at=starts_at))
    reminders_generate(now=timezone.now())
    return Reminder.objects.get(session=session, channel="call")


# --- The admin's forms ---------------------------------------------------------


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def split(name: str, value: dt.datetime | None) -> dict[str, str]:
    """The admin's split date and time inputs for a datetime field."""
    if value is None:
        return {f"{name}_0": "", f"{name}_1": ""}
    local = timezone.localtime(value)
    return {f"{name}_0": f"{local:%Y-%m-%d}", f"{name}_1": f"{local:%H:%M:%S}"}


def inline(prefix: str, rows: list[dict] = (), initial: int = 0) -> dict:
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows):
        data.update({f"{prefix}-{i}-{key}": value for key, value in row.items()})
    return data


def session_form(session: TreatmentSession, injections=(), side_effects=(), **changes) -> dict:
    """What the session change form posts, with `changes` to the session's
    fields and new inline rows."""
    fields = {
        "plan": session.plan_id,
        "sequence": session.sequence,
        "status": session.status,
        "cancellation": session.cancellation,
        "starts_at": session.starts_at,
        "ends_at": session.ends_at,
        "completed_at": session.completed_at,
        "practitioner": session.practitioner_id,
        "room": session.room_id,
        "anaesthetic": session.anaesthetic,
        "pain_score": "" if session.pain_score is None else session.pain_score,
        "combination_therapy": session.combination_therapy,
        "notes": session.notes,
        **changes,
    }
    data = {}
    for name, value in fields.items():
        data.update(split(name, value) if name in ("starts_at", "ends_at", "completed_at") else {name: value})
    return {**data, **inline("injections", list(injections)), **inline("side_effects", list(side_effects))}


# --- Side effects, check-ins --------------------------------------------------------


_done_hours = itertools.count()


def done_session(days_ago: float = 1, plan: TreatmentPlan | None = None, **fields) -> TreatmentSession:
    """A session completed (and signed) `days_ago` days ago, a few hours earlier
    than the one made before it (PostgreSQL refuses two at once in a room)."""
    start = timezone.now().replace(microsecond=0) - dt.timedelta(days=days_ago, hours=next(_done_hours) % 48)
    return complete(make_session(plan=plan, starts_at=start, **fields))


def check_in_message(session: TreatmentSession | None = None, *, due_at=None, channel=ReminderChannel.SMS) -> Reminder:
    """A check-in message about a completed session, as the generator makes one (sent)."""
    from sessions_app.models import ReminderStatus

    session = session or done_session()
    due = due_at or timezone.now() - dt.timedelta(hours=2)
    return make_reminder(
        session.plan.client,
        kind=ReminderKind.CHECK_IN,
        channel=channel,
        session=session,
        plan=session.plan,
        due_at=due,
        status=ReminderStatus.SENT,
        sent_at=due,
    )


def check_in_path(message: Reminder) -> str:
    from sessions_app.reminders.checkin_link import check_in_token

    return reverse("check_in", args=[check_in_token(message.pk, message.client_id, message.session_id)])


def change_status(session: TreatmentSession, action: str, *, by: User | None = None, cancellation: str = "client"):
    """A status change through the status service, as staff make it, at a time
    its rules allow: a no-show once the session has begun, an arrival on its day."""
    from sessions_app.services.session_status import session_set_status

    now = timezone.now()
    if action == "no_show":
        now = max(now, session.starts_at + dt.timedelta(minutes=1))
    elif action == "arrive":
        now = session.starts_at
    return session_set_status(
        session_id=session.pk,
        action=action,
        by=by or session.practitioner,
        cancellation=cancellation if action == "cancel" else "",
        now=now,
    )


def series_post(client_obj, practitioner, first: dt.datetime, **overrides) -> dict:
    """What the booking form posts for a series of six, every two weeks, from `first`."""
    data = {
        "client": client_obj.pk,
        "indication": Indication.objects.get(name="Skin rejuvenation").pk,
        "areas": [TreatmentArea.objects.get(name="Face").pk],
        "mixture": Mixture.objects.get(name="Facial rejuvenation").pk,
        "practitioner": practitioner.pk,
        "room": Room.objects.get(name="Room 1").pk,
        "sessions": 6,
        "interval": 2,
        "interval_unit": "weeks",
        "first_date": first.date().isoformat(),
        "first_time": first.strftime("%H:%M"),
        "duration": 45,
        "maintenance_interval_days": 90,
        "notes": "",
    }
    data.update(overrides)
    return data


# --- Protocols, quantities, dose ceilings, drafts --------------------------------------


def make_protocol(indication: Indication | None = None, **fields):
    """A protocol for a new indication (one protocol per indication)."""
    from sessions_app.models import Protocol

    n = next(_counter)
    indication = indication or Indication.objects.create(name=f"Indication {n}")
    fields.setdefault("mixture", Mixture.objects.get(name="Facial rejuvenation"))
    fields.setdefault("sessions", 6)
    fields.setdefault("interval_days", 14)
    fields.setdefault("maintenance_interval_days", 90)
    fields.setdefault("depth", "superficial_dermis")
    fields.setdefault("technique", "nappage")
    fields.setdefault("needle_length_mm", Decimal("4"))
    areas = fields.pop("areas", [TreatmentArea.objects.get(name="Face")])
    protocol = Protocol.objects.create(indication=indication, **fields)
    protocol.areas.set(areas)
    return protocol


def make_quantity(injection: Injection | None = None, **fields):
    from sessions_app.models import InjectionQuantity

    injection = injection or make_injection(book_session())
    fields.setdefault("product", injection.lots.first().product)
    fields.setdefault("quantity_ml", Decimal("0.5"))
    return InjectionQuantity.objects.create(injection=injection, **fields)


def make_ceiling_decision(session: TreatmentSession | None = None, **fields):
    from sessions_app.models import CeilingDecision, Substance

    session = session or book_session()
    fields.setdefault("substance", Substance.objects.get(name="Lidocaine"))
    fields.setdefault("period", "session")
    fields.setdefault("total", Decimal("250"))
    fields.setdefault("ceiling", Decimal("200"))
    fields.setdefault("unit", "mg")
    fields.setdefault("decision", "Healthy adult, 70 kg: well under 4.5 mg/kg.")
    fields.setdefault("decided_by", session.practitioner)
    fields.setdefault("decided_at", timezone.now())
    return CeilingDecision.objects.create(session=session, **fields)


def make_draft(session: TreatmentSession | None = None, **fields):
    from sessions_app.models import RecordDraft

    session = session or book_session()
    fields.setdefault("data", {"pain_score": ["2"]})
    fields.setdefault("saved_by", session.practitioner)
    fields.setdefault("saved_at", timezone.now())
    return RecordDraft.objects.create(session=session, **fields)
