"""The session record: what was injected where, signed when the session is
completed, and corrected afterwards only by an amendment with a reason.

Whether a lot may be recorded is `sessions_app.lot_rules.lot_refusals`; whether
the client may be treated at all is `sessions_app.clearance`. The form shows
both beside its fields; the functions here ask them again before writing, so no
other path (a stale page, a crafted post) gets around them.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import models, transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from PIL import Image, ImageOps

from sessions_app.clearance import Verdict
from sessions_app.lot_rules import LotFacts, lot_refusals
from sessions_app.models import (
    Injection,
    MixtureComponent,
    ProductLot,
    SessionAmendment,
    SessionPhoto,
    SessionStatus,
    TreatmentArea,
    TreatmentSession,
    User,
)
from sessions_app.services.clearance import clearance
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


@dataclass(frozen=True)
class InjectionInput:
    area: TreatmentArea
    lots: tuple[ProductLot, ...]
    volume_ml: Decimal
    depth: str
    technique: str
    needle_length_mm: Decimal
    points: int


@dataclass(frozen=True)
class RecordInput:
    anaesthetic: str
    pain_score: int | None
    combination_therapy: str
    notes: str
    injections: tuple[InjectionInput, ...]


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


def lots_offered(context: LotContext) -> list[ProductLot]:
    """The lots a practitioner picks from: those the lot rule does not refuse
    (received, not expired on the session's day, nothing the client is allergic
    to), by product, the first to expire first. The rule judges the lots of the
    mixture's products, the only ones it could accept. Two queries."""
    candidates = lots_for_rule().filter(product_id__in=context.mixture_product_ids)
    ordered = candidates.order_by("product__name", "expiry_date", "lot_number")
    return [lot for lot in ordered if not context.refusals([lot])]


def _record_problems(session: TreatmentSession, record: RecordInput) -> list[str]:
    problems = []
    if not record.injections:
        problems.append("Record at least one treated area.")
    areas = [i.area.pk for i in record.injections]
    if len(areas) != len(set(areas)):
        problems.append("Each area is recorded once per session.")
    if any(not i.lots for i in record.injections):
        problems.append("Each treated area needs the lot or lots injected.")
    lots = {lot.pk: lot for i in record.injections for lot in i.lots}
    fresh = lots_for_rule().filter(pk__in=lots)  # the rule reads the database's lots, not the caller's copies
    problems += LotContext.of(session).refusals(fresh)
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


def _write_injection(session: TreatmentSession, item: InjectionInput, injection: Injection) -> Injection:
    for name in INJECTION_FIELDS:
        setattr(injection, name, getattr(item, name))
    _validated(injection, exclude=["session"]).save()
    injection.lots.set(item.lots)
    return injection


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
        _write_injection(session, item, _attributed(injection, by))
    for draft in drafts.values():
        _attributed(draft, by, "Not in the signed record").delete()
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

    existing = {i.area_id: i for i in session.injections.select_related("area").prefetch_related("lots__product")}
    wanted = {item.area.pk: item for item in record.injections}
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
        if area_changes:
            changes += [f"{item.area}: {c}" for c in area_changes]
            rewrite.append((item, injection))
    removed = [i for area_id, i in existing.items() if area_id not in wanted]
    changes += [f"{i.area}: removed from the record" for i in removed]
    changes += [f"{p.kind.capitalize()} photo added" for p in photos]
    if not changes:
        raise RecordRefused(["Nothing was changed: an amendment corrects at least one thing."])

    if session_changed:
        _validated(_attributed(session, by, reason)).save()
    for item, injection in rewrite:
        injection = injection or Injection(session=session, area=item.area)
        _write_injection(session, item, _attributed(injection, by, reason))
    for injection in removed:
        _attributed(injection, by, reason).delete()
    amendment = SessionAmendment.objects.create(session=session, reason=reason, changes=changes, amended_by=by)
    _store_photos(session, photos, by)
    return amendment
