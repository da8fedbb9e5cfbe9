"""The session record: what was injected where, kept as a draft on the server
while it is written, signed when the session is completed, and corrected
afterwards only by an amendment with a reason.

Whether a lot may be recorded is `sessions_app.lot_rules.lot_refusals`; whether
the client may be treated at all is `sessions_app.clearance`; how much of each
substance the client received is `sessions_app.ledger`, and a total past a
ceiling needs the practitioner's decision, kept with the record. The form shows
each of them beside its fields; the functions here ask them again before
writing, so no other path (a stale page, a crafted post) gets around them.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import models, transaction
from django.db.models import OuterRef, Subquery
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from PIL import Image, ImageOps

from sessions_app.clearance import Verdict
from sessions_app.ledger import CeilingWarning
from sessions_app.lot_rules import LotFacts, OfferedLot, lot_refusals, lots_in_use
from sessions_app.models import (
    CeilingDecision,
    Injection,
    InjectionQuantity,
    MixtureComponent,
    Product,
    ProductLot,
    Protocol,
    RecordDraft,
    SessionAmendment,
    SessionPhoto,
    SessionStatus,
    TreatmentArea,
    TreatmentSession,
    User,
)
from sessions_app.services.clearance import clearance
from sessions_app.services.ledger import session_ledger
from sessions_app.services.series import plan_after_session_completed
from sessions_app.services.session_status import InvalidTransition

# The session's own fields that make up its record, in the order a change lists them.
RECORD_FIELDS = ("anaesthetic", "pain_score", "combination_therapy", "notes")
INJECTION_FIELDS = ("volume_ml", "depth", "technique", "needle_length_mm", "points")
# What Pillow may open, and the content type each is served with.
PHOTO_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


class NotCleared(InvalidTransition):
    """The client may not be treated: sessions_app.clearance says why."""

    def __init__(self, verdict: Verdict):
        self.verdict = verdict
        super().__init__("Not completed: " + " ".join(verdict.reasons))


class RecordRefused(Exception):
    """The record cannot be saved as it is; `messages` says why, one sentence each."""

    def __init__(self, messages: Sequence[str]):
        self.messages = list(messages)
        super().__init__(" ".join(self.messages))


class CeilingsPassed(RecordRefused):
    """The record takes the client past a dose ceiling and no decision was
    given: `warnings` say which."""

    def __init__(self, warnings: Sequence[CeilingWarning]):
        self.warnings = list(warnings)
        super().__init__(
            [w.message for w in self.warnings] + ["Say why you go ahead (your decision is kept with the record)."]
        )


@dataclass(frozen=True)
class InjectionInput:
    area: TreatmentArea
    lots: tuple[ProductLot, ...]
    volume_ml: Decimal
    depth: str
    technique: str
    needle_length_mm: Decimal
    points: int
    # The ml of a product of the mixture, when the practitioner wrote it down (optional).
    quantities: Mapping[int, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordInput:
    anaesthetic: str
    pain_score: int | None
    combination_therapy: str
    notes: str
    injections: tuple[InjectionInput, ...]
    # Why the practitioner goes ahead past a dose ceiling, when the record does.
    ceiling_decision: str = ""


@dataclass(frozen=True)
class PhotoInput:
    kind: str
    file: UploadedFile


@dataclass(frozen=True)
class LotContext:
    """What the lot rule needs to know of a session: two queries (three for a
    signed record)."""

    session_day: dt.date
    mixture_product_ids: frozenset[int]
    allergy_ids: frozenset[int]
    # Lots a signed record already names: what was injected is history, and an
    # amendment is not refused because an allergy, an expiry date or the plan's
    # mixture was recorded or changed since. Only lots an amendment adds are judged.
    recorded_ids: frozenset[int] = frozenset()

    @classmethod
    def of(cls, session: TreatmentSession) -> LotContext:
        plan = session.plan
        products = MixtureComponent.objects.filter(mixture_id=plan.mixture_id).values_list("product_id", flat=True)
        allergies = plan.client.allergies.through.objects.filter(client_id=plan.client_id)
        recorded = frozenset()
        if session.is_signed:
            through = Injection.lots.through.objects.filter(injection__session_id=session.pk)
            recorded = frozenset(through.values_list("productlot_id", flat=True))
        return cls(
            session_day=timezone.localtime(session.starts_at).date(),
            mixture_product_ids=frozenset(products),
            allergy_ids=frozenset(allergies.values_list("substance_id", flat=True)),
            recorded_ids=recorded,
        )

    def refusals(self, lots: Iterable[ProductLot]) -> list[str]:
        """The lot rule for each lot not already on the signed record. Each lot
        needs its product and the product's substances loaded
        (`lots_for_rule`), or this costs queries per lot."""
        reasons = []
        for lot in lots:
            if lot.pk in self.recorded_ids:
                continue
            facts = LotFacts(
                lot_number=lot.lot_number,
                product_id=lot.product_id,
                product_name=lot.product.name,
                expiry_date=lot.expiry_date,
                substances={s.pk: s.name for s in lot.product.substances.all()},
                received_on=lot.received_on,
            )
            reasons += lot_refusals(
                facts,
                session_day=self.session_day,
                mixture_product_ids=self.mixture_product_ids,
                allergy_ids=self.allergy_ids,
            )
        return reasons


def lots_for_rule() -> models.QuerySet[ProductLot]:
    """Lots with what the lot rule and their labels read."""
    return ProductLot.objects.select_related("product").prefetch_related("product__substances")


# Refused lots that expired this long before the session are counted, not listed:
# a clinic's shelf of old lots is of no interest beside the record form.
LEFT_OUT_LISTED_DAYS = 90


@dataclass
class LotChoices:
    """What the record form offers for each product of the mixture."""

    offered: dict[int, list[ProductLot]]  # product id -> lots the rule accepts, the first to expire first
    in_use: dict[int, int]  # product id -> the lot each choice starts on (lot_rules.lots_in_use)
    left_out: list[tuple[ProductLot, list[str]]]  # the lots refused, each with the rule's reasons
    older_expired: int  # lots that expired long before the session, not listed


def lot_choices(context: LotContext) -> LotChoices:
    """The lots of the mixture's products, offered or left out with the lot
    rule's reasons, and the lot each product starts on: the one most recently
    recorded in the clinic that the rule accepts for this client and day.
    Three queries: the lots (each with its latest injection, read from the
    (lot, injection) index), their substances, the count of old ones."""
    since = context.session_day - dt.timedelta(days=LEFT_OUT_LISTED_DAYS)
    links = Injection.lots.through.objects.filter(productlot_id=OuterRef("pk")).order_by("-injection_id")
    lots = (
        lots_for_rule()
        .filter(product_id__in=context.mixture_product_ids)
        .exclude(expiry_date__lt=since)
        .annotate(last_recorded=Subquery(links.values("injection_id")[:1]))
        .order_by("product__name", "expiry_date", "lot_number")
    )
    offered: dict[int, list[ProductLot]] = {}
    left_out = []
    for lot in lots:
        if reasons := context.refusals([lot]):
            left_out.append((lot, reasons))
        else:
            offered.setdefault(lot.product_id, []).append(lot)
    older = ProductLot.objects.filter(product_id__in=context.mixture_product_ids, expiry_date__lt=since).count()
    every = [lot for lots in offered.values() for lot in lots]
    in_use = lots_in_use(OfferedLot(lot.pk, lot.product_id, lot.expiry_date, lot.last_recorded) for lot in every)
    return LotChoices(offered=offered, in_use=in_use, left_out=left_out, older_expired=older)


def lots_offered(context: LotContext) -> list[ProductLot]:
    """The lots a practitioner picks from: those the lot rule does not refuse
    (received, not expired on the session's day, nothing the client is allergic
    to), by product, the first to expire first: lot_choices' offered, in one
    list. Three queries."""
    return [lot for lots in lot_choices(context).offered.values() for lot in lots]


def _record_problems(session: TreatmentSession, record: RecordInput) -> list[str]:
    problems = []
    if not record.injections:
        problems.append("Record at least one treated area.")
    areas = [i.area.pk for i in record.injections]
    if len(areas) != len(set(areas)):
        problems.append("Each area is recorded once per session.")
    if any(not i.lots for i in record.injections):
        problems.append("Each treated area needs the lot or lots injected.")
    for item in record.injections:
        problems += quantity_problems(item)
    lots = {lot.pk: lot for i in record.injections for lot in i.lots}
    fresh = lots_for_rule().filter(pk__in=lots)  # the rule reads the database's lots, not the caller's copies
    problems += LotContext.of(session).refusals(fresh)
    return problems


def quantity_problems(item: InjectionInput) -> list[str]:
    """The quantities written down for an area: each of a product whose lot the
    area records, and together no more than the area's volume."""
    problems = []
    products = {lot.product_id for lot in item.lots}
    if set(item.quantities) - products:
        problems.append(f"{item.area}: a quantity is written for a product with no lot recorded in this area.")
    total = sum(item.quantities.values(), Decimal(0))
    if total > item.volume_ml:
        problems.append(
            f"{item.area}: the products' quantities add up to {total.normalize():f} ml, "
            f"more than the area's volume ({item.volume_ml.normalize():f} ml)."
        )
    return problems


def _lock(session_id: int) -> TreatmentSession:
    return (
        TreatmentSession.objects.select_for_update(of=("self",))
        .select_related("plan__client", "signed_by")
        .get(pk=session_id)
    )


def _attributed(obj: models.Model, by: User, reason: str | None = None) -> models.Model:
    """Who made the change, and why: simple-history writes both on each history
    row the object's save, delete or lots change causes."""
    obj._history_user = by
    if reason:
        obj._change_reason = reason
    return obj


def _validated(obj: models.Model, exclude: Iterable[str] = ()) -> models.Model:
    """Field checks and the named constraints, as messages a form can show."""
    obj.full_clean(exclude=list(exclude), validate_unique=False)
    return obj


def _write_injection(
    session: TreatmentSession, item: InjectionInput, injection: Injection, by: User, reason: str | None = None
) -> Injection:
    for name in INJECTION_FIELDS:
        setattr(injection, name, getattr(item, name))
    _validated(injection, exclude=["session"]).save()
    injection.lots.set(item.lots)
    kept = {q.product_id: q for q in injection.quantities.all()} if injection.pk else {}
    for product_id, ml in item.quantities.items():
        quantity = kept.pop(product_id, None) or InjectionQuantity(injection=injection, product_id=product_id)
        if quantity.pk is None or quantity.quantity_ml != ml:
            quantity.quantity_ml = ml
            _validated(_attributed(quantity, by, reason), exclude=["injection", "product"]).save()
    for quantity in kept.values():
        _attributed(quantity, by, reason).delete()
    return injection


def _decide_ceilings(
    session: TreatmentSession, record: RecordInput, by: User, *, decided: Iterable[CeilingDecision] = ()
) -> list[CeilingDecision]:
    """The ceilings this record goes past that no earlier decision on the
    record covers: CeilingsPassed without the practitioner's decision, else
    one decision kept for each."""
    covered = {(d.substance_id, d.period): d.total for d in decided}
    warnings = [
        w
        for w in session_ledger(session, record.injections).warnings()
        if w.total > covered.get((w.substance.id, w.period), Decimal(0))
    ]
    if not warnings:
        return []
    decision = record.ceiling_decision.strip()
    if not decision:
        raise CeilingsPassed(warnings)
    now = timezone.now()
    rows = [
        CeilingDecision(
            session=session,
            substance_id=w.substance.id,
            period=w.period,
            total=w.total.quantize(Decimal("0.001")),
            ceiling=w.ceiling,
            unit=w.substance.unit,
            decision=decision,
            decided_by=by,
            decided_at=now,
        )
        for w in warnings
    ]
    for row in rows:
        _validated(row, exclude=["session", "substance", "decided_by"])
    return CeilingDecision.objects.bulk_create(rows)


class PhotoRefused(Exception):
    """The upload is not a photo the clinic can keep; the message says why."""


# Larger than any camera's photo; a bigger "image" is a decompression bomb
# (a few MB of file decoding into gigabytes).
PHOTO_MAX_PIXELS = 60_000_000
# Camera JPEGs with a multi-picture index (HDR, depth) open as "MPO": kept as JPEG.
PHOTO_AS_SAVED = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "WEBP": "WEBP"}
PHOTO_SUFFIX = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp"}


@dataclass(frozen=True)
class PreparedPhoto:
    content: ContentFile
    content_type: str
    width: int
    height: int


def photo_prepare(upload: UploadedFile, *, max_bytes: int) -> PreparedPhoto:
    """The one rule for photos, and the copy the clinic keeps: a JPEG, PNG or
    WebP of at most `max_bytes` and PHOTO_MAX_PIXELS that decodes whole; turned
    upright, and re-encoded without its metadata (camera, time, often the place,
    comments). PhotoRefused, with the reason, otherwise. The form asks it for
    the message beside the field; the service before storing."""
    name = upload.name or "the photo"
    if upload.size > max_bytes:
        raise PhotoRefused(
            f"{name} is {filesizeformat(upload.size)}; a photo may be at most {filesizeformat(max_bytes)}."
        )
    upload.seek(0)
    try:
        with Image.open(upload) as image:
            kind = PHOTO_AS_SAVED.get(image.format or "")
            if kind is None:
                raise PhotoRefused(f"{name} is not a JPEG, PNG or WebP photo.")
            if image.width * image.height > PHOTO_MAX_PIXELS:
                raise PhotoRefused(f"{name} is {image.width} × {image.height} pixels: too large to be a photo.")
            image.load()  # a damaged or cut-off file fails here, not later
            upright = ImageOps.exif_transpose(image)
            if kind == "JPEG" and upright.mode not in ("RGB", "L"):
                upright = upright.convert("RGB")
            icc = upright.info.get("icc_profile")  # colours, not personal data
            upright.info = {}
            out = io.BytesIO()
            options = {"quality": 92} if kind != "PNG" else {}
            upright.save(out, format=kind, **options, **({"icc_profile": icc} if icc else {}))
    except PhotoRefused:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise PhotoRefused(f"{name} could not be read: the file is damaged or was cut short.") from None
    upload.seek(0)
    content = ContentFile(out.getvalue(), name=f"photo{PHOTO_SUFFIX[kind]}")
    return PreparedPhoto(content, PHOTO_FORMATS[kind], *upright.size)


def _store_photos(session: TreatmentSession, photos: Sequence[PhotoInput], by: User) -> list[SessionPhoto]:
    """Called last inside the transaction: a failure before it leaves no file
    behind; a failure while storing removes the files it wrote."""
    try:
        prepared = [(p.kind, photo_prepare(p.file, max_bytes=settings.CLINIC_PHOTO_MAX_BYTES)) for p in photos]
    except PhotoRefused as exc:
        raise RecordRefused([str(exc)]) from exc
    stored: list[SessionPhoto] = []
    try:
        for kind, photo_file in prepared:
            photo = SessionPhoto(
                session=session,
                kind=kind,
                uploaded_by=by,
                content_type=photo_file.content_type,
                width=photo_file.width,
                height=photo_file.height,
            )
            photo.image.save(photo_file.content.name, photo_file.content, save=False)
            stored.append(photo)
            photo.save()
    except Exception:
        for photo in stored:
            photo.image.delete(save=False)
        raise
    return stored


@transaction.atomic
def session_record_sign(
    *,
    session_id: int,
    record: RecordInput,
    photos: Sequence[PhotoInput] = (),
    by: User,
    now: dt.datetime | None = None,
) -> TreatmentSession:
    """Record what was done in the session, complete it and sign the record, or
    nothing. Refused when the session is already signed, called off, still to
    come, when the treatment rule does not clear the client (NotCleared), or
    when a lot may not be used (RecordRefused). The last session of a series
    puts the plan into maintenance."""
    now = now or timezone.now()
    session = _lock(session_id)
    if session.status == SessionStatus.COMPLETED:
        signed = timezone.localtime(session.signed_at)
        raise InvalidTransition(
            f"This session was already completed and signed by {session.signed_by} on {signed:%d/%m/%Y %H:%M}; "
            "correct it with an amendment."
        )
    if refusal := SessionStatus.record_refusal(session.status, starts_at=session.starts_at, now=now):
        raise InvalidTransition(refusal)
    verdict = clearance(session)
    if not verdict.may_treat:
        raise NotCleared(verdict)
    if problems := _record_problems(session, record):
        raise RecordRefused(problems)
    _decide_ceilings(session, record, by)

    for name in RECORD_FIELDS:
        setattr(session, name, getattr(record, name))
    session.status = SessionStatus.COMPLETED
    session.completed_at = session.signed_at = now
    session.signed_by = by
    # Signing is the status change; it is corrected by an amendment, not undone.
    session.status_changed_at, session.status_changed_by, session.undo_status = now, by, ""
    _validated(_attributed(session, by)).save()
    # Rows a manager entered in the admin before signing are drafts: the signed
    # record replaces them, area by area.
    drafts = {i.area_id: i for i in session.injections.all()}
    for item in record.injections:
        injection = drafts.pop(item.area.pk, None) or Injection(session=session, area=item.area)
        _write_injection(session, item, _attributed(injection, by), by)
    for draft in drafts.values():
        _attributed(draft, by, "Not in the signed record").delete()
    RecordDraft.objects.filter(session=session).delete()  # the signed record replaces it
    plan_after_session_completed(session.plan)
    _store_photos(session, photos, by)
    return session


# A changed value longer than this is shortened in the amendment's summary; the
# history keeps it whole.
SHOWN_MAX = 160


def _shown(value) -> str:
    if value is None or value == "":
        return "—"
    text = " ".join(str(value).split())
    return text if len(text) <= SHOWN_MAX else text[: SHOWN_MAX - 1] + "…"


def _field_change(obj: models.Model, name: str, new) -> str | None:
    """'Label: old → new' when the field's value differs, choices by their labels."""
    field = obj._meta.get_field(name)
    old = getattr(obj, name)
    if old == new:
        return None
    choices = dict(field.choices or ())
    return f"{field.verbose_name.capitalize()}: {_shown(choices.get(old, old))} → {_shown(choices.get(new, new))}"


def _lot_names(lots: Iterable[ProductLot]) -> str:
    return ", ".join(sorted(f"{lot.product.name} {lot.lot_number}" for lot in lots)) or "none"


def _quantity_names(quantities: Mapping[int, Decimal], names: Mapping[int, str]) -> str:
    return ", ".join(sorted(f"{names[p]} {ml.normalize():f} ml" for p, ml in quantities.items())) or "none"


@transaction.atomic
def session_record_amend(
    *,
    session_id: int,
    record: RecordInput,
    photos: Sequence[PhotoInput] = (),
    by: User,
    reason: str,
) -> SessionAmendment:
    """Correct a signed record. Every changed row keeps its previous values in
    its history, with `by` and `reason`; the amendment lists what changed.
    Refused when nothing changed, when the record is not signed, or when a lot
    may not be used."""
    reason = reason.strip()
    session = _lock(session_id)
    if not session.is_signed:
        raise InvalidTransition("Only a signed record is amended; complete the session first.")
    problems = [] if reason else ["Say why the record is corrected."]
    if problems := problems + _record_problems(session, record):
        raise RecordRefused(problems)

    changes: list[str] = []
    for name in RECORD_FIELDS:
        if change := _field_change(session, name, getattr(record, name)):
            changes.append(change)
            setattr(session, name, getattr(record, name))
    session_changed = bool(changes)

    existing = {
        i.area_id: i for i in session.injections.select_related("area").prefetch_related("lots__product", "quantities")
    }
    wanted = {item.area.pk: item for item in record.injections}
    names = dict(Product.objects.values_list("pk", "name"))
    rewrite: list[tuple[InjectionInput, Injection | None]] = []
    for item in record.injections:
        injection = existing.get(item.area.pk)
        if injection is None:
            changes.append(f"{item.area}: added, {item.volume_ml} ml, lots {_lot_names(item.lots)}")
            rewrite.append((item, None))
            continue
        area_changes = [c for name in INJECTION_FIELDS if (c := _field_change(injection, name, getattr(item, name)))]
        if {lot.pk for lot in injection.lots.all()} != {lot.pk for lot in item.lots}:
            area_changes.append(f"Lots: {_lot_names(injection.lots.all())} → {_lot_names(item.lots)}")
        recorded = {q.product_id: q.quantity_ml for q in injection.quantities.all()}
        if recorded != dict(item.quantities):
            area_changes.append(
                f"Quantities: {_quantity_names(recorded, names)} → {_quantity_names(item.quantities, names)}"
            )
        if area_changes:
            changes += [f"{item.area}: {c}" for c in area_changes]
            rewrite.append((item, injection))
    removed = [i for area_id, i in existing.items() if area_id not in wanted]
    changes += [f"{i.area}: removed from the record" for i in removed]
    changes += [f"{p.kind.capitalize()} photo added" for p in photos]
    if not changes:
        raise RecordRefused(["Nothing was changed: an amendment corrects at least one thing."])
    decisions = _decide_ceilings(session, record, by, decided=session.ceiling_decisions.all())
    changes += [
        f"Past a ceiling: {d.substance.name} {d.total.normalize():f} {d.unit} {d.get_period_display()}"
        for d in decisions
    ]

    if session_changed:
        _validated(_attributed(session, by, reason)).save()
    for item, injection in rewrite:
        injection = injection or Injection(session=session, area=item.area)
        _write_injection(session, item, _attributed(injection, by, reason), by, reason)
    for injection in removed:
        _attributed(injection, by, reason).delete()
    amendment = SessionAmendment.objects.create(session=session, reason=reason, changes=changes, amended_by=by)
    _store_photos(session, photos, by)
    return amendment


# A draft is the record form's fields; more than this is no form of ours.
DRAFT_MAX_FIELDS = 600
DRAFT_MAX_VALUES = 60
DRAFT_MAX_CHARS = 4000


@transaction.atomic
def record_draft_save(*, session_id: int, data: Mapping[str, Sequence[str]], by: User) -> RecordDraft:
    """Keep the record form as it is now (each field's values), so that
    closing the page or losing the tablet loses nothing. Refused once the
    record is signed, or for a session called off."""
    session = _lock(session_id)
    if session.is_signed:
        raise InvalidTransition("This record is signed: correct it with an amendment.")
    if session.status in SessionStatus.NOT_KEPT:
        raise InvalidTransition(f"A {session.get_status_display().lower()} session has no record to write.")
    # NUL is no character a form keeps (and PostgreSQL refuses it in JSON text).
    kept = {
        str(name)[:100].replace("\x00", ""): [
            str(value)[:DRAFT_MAX_CHARS].replace("\x00", "") for value in values[:DRAFT_MAX_VALUES]
        ]
        for name, values in list(data.items())[:DRAFT_MAX_FIELDS]
    }
    draft, _ = RecordDraft.objects.update_or_create(
        session=session, defaults={"data": kept, "saved_by": by, "saved_at": timezone.now()}
    )
    return draft


def protocol_of(plan) -> Protocol | None:
    """The protocol of the plan's indication, if the clinic has one (one query)."""
    return Protocol.objects.filter(indication_id=plan.indication_id).first()


def area_defaults(session: TreatmentSession, protocol: Protocol | None) -> dict[int, dict]:
    """What each area's card starts from, by area id: the protocol's depth,
    technique, needle, volume and points, then what the plan's last signed
    session recorded for that area (this client's own). One query."""
    base = {}
    if protocol is not None:
        base = {name: getattr(protocol, name) for name in INJECTION_FIELDS if getattr(protocol, name) is not None}
    previous = (
        Injection.objects.filter(session__plan_id=session.plan_id, session__status=SessionStatus.COMPLETED)
        .exclude(session=session)
        .order_by("area_id", "-session__starts_at")
        .values("area_id", *INJECTION_FIELDS)
    )
    last: dict[int, dict] = {}
    for row in previous:
        last.setdefault(row.pop("area_id"), row)
    return defaultdict(lambda: dict(base), {area_id: base | row for area_id, row in last.items()})
