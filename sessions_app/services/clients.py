"""Writing clients: create, edit, archive, restore, merge, an allergy found
through a side effect, an agreement withdrawn by the client's own link. The
only way a client's record changes, for the staff pages, the admin, the
commands and the other services (privacy erasure writes through
`client_write` too).

Clients are never deleted (their clinical record must stay whole); an
archived client keeps every screening, plan, session and side effect. Every
save leaves a history row naming who made it (simple-history reads
`_history_user`; the client's own unsubscribe link names no one and says so
in the reason), and adds one to the client's `version` (`client_write`): an
edit made on an older version is refused with what changed (ClientChanged),
never saved over someone else's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import OuterRef, Q
from django.utils import timezone

from sessions_app.models import (
    AccessAction,
    AccessLog,
    CeilingDecision,
    CheckIn,
    Client,
    Consent,
    Injection,
    InjectionQuantity,
    RecordDraft,
    Reminder,
    ReminderChannel,
    Screening,
    ScreeningAnswer,
    SessionAmendment,
    SessionPhoto,
    SideEffect,
    SideEffectFollowUp,
    Substance,
    TreatmentPlan,
    TreatmentSession,
    User,
)
from sessions_app.models.expressions import SubqueryCount
from sessions_app.phones import InvalidPhone, phone_to_e164
from sessions_app.roles import handles_clinical_records
from sessions_app.search_terms import fold

# What every role with the right to change clients may write.
CONTACT_FIELDS = (
    "first_name",
    "last_name",
    "date_of_birth",
    "sex",
    "phone",
    "email",
    "address",
    "preferred_channel",
    "consent_email",
    "consent_sms",
)
# What only staff who handle clinical records may write (allergies are set apart: a many-to-many).
CLINICAL_FIELDS = ("notes",)
# Contact data a merge copies onto the kept record when it has none.
FILLED_BY_MERGE = ("email", "phone", "address")


class ErasedClient(Exception):
    """A client whose contact data a privacy request erased stays archived."""


class ClientMerged(Exception):
    """The record was merged into another: edit that one."""

    def __init__(self, client: Client):
        self.client = client
        self.into_id = client.merged_into_id
        super().__init__(f"This record was merged into record {client.merged_into_id}: edit that one.")


class ClientChanged(Exception):
    """Someone saved the client after the version the editor started from."""

    def __init__(self, client: Client, version: int):
        self.client = client  # as it is now
        self.version = version  # the one the editor had
        super().__init__(f"{client.full_name}'s record was changed by someone else since you opened it.")


class MergeRefused(Exception):
    pass


def _attribute(client: Client, by: User | None, reason: str = "") -> None:
    # simple_history reads the acting user from here when no request is around
    # (management commands, shell); None for the client's own link, whatever
    # the request's user. The allergies' history row (a many-to-many change)
    # reads them too, so they are set before those change.
    client._history_user = by
    if reason:
        client._change_reason = reason


def client_write(client: Client, *, by: User | None, reason: str = "", fields: Iterable[str] = ()) -> None:
    """Save a change to an existing client: the one path, so that every
    change adds one to the version (an edit form opened before it is then
    refused) and leaves a history row saying who made it, or, with `by` None
    (the client, by a link in a message), why. `fields`: save only those.
    The caller holds the row locked (select_for_update) in its transaction."""
    client.version += 1
    _attribute(client, by, reason)
    fields = list(fields)
    client.save(update_fields=[*fields, "version", "updated_at"] if fields else None)


def _clean_values(values: Mapping[str, Any], *, by: User) -> dict[str, Any]:
    unknown = set(values) - set(CONTACT_FIELDS) - set(CLINICAL_FIELDS)
    if unknown:
        raise ValueError(f"Not client fields: {sorted(unknown)}")
    if set(values) & set(CLINICAL_FIELDS) and not handles_clinical_records(by):
        raise PermissionDenied("Only practitioners and managers write a client's clinical notes and allergies.")
    cleaned = dict(values)
    if "phone" in cleaned:
        try:
            cleaned["phone"] = phone_to_e164(cleaned["phone"] or "", settings.CLINIC_PHONE_REGION)
        except InvalidPhone as exc:
            raise ValidationError({"phone": str(exc)}) from exc
    for name in ("first_name", "last_name", "email", "address"):
        if isinstance(cleaned.get(name), str):
            cleaned[name] = cleaned[name].strip()
    return cleaned


def _set_allergies(client: Client, allergies: Iterable[Substance] | None, by: User) -> bool:
    if allergies is None:
        return False
    if not handles_clinical_records(by):
        raise PermissionDenied("Only practitioners and managers write a client's clinical notes and allergies.")
    wanted = {s.pk for s in allergies}
    if wanted == set(client.allergies.values_list("pk", flat=True)):
        return False
    client.allergies.set(wanted)
    return True


@transaction.atomic
def client_create(*, by: User, values: Mapping[str, Any], allergies: Iterable[Substance] | None = None) -> Client:
    """A new client from the contact fields (and, for clinical staff, notes
    and allergies). ValidationError, by field, for what cannot be saved; the
    phone is stored in E.164 whatever the notation typed."""
    client = Client(**_clean_values(values, by=by))
    client.refresh_search_key()
    client.full_clean()
    _attribute(client, by, "Created")
    client.save()
    _set_allergies(client, allergies, by)
    return client


@transaction.atomic
def client_update(
    *,
    client_id: int,
    version: int,
    by: User,
    values: Mapping[str, Any],
    allergies: Iterable[Substance] | None = None,
) -> Client:
    """Change the given fields of a client, if nobody saved it since `version`
    (else ClientChanged, nothing saved). ClientMerged for a record merged into
    another; ValidationError by field."""
    client = Client.objects.select_for_update().get(pk=client_id)
    if client.is_merged:
        raise ClientMerged(client)
    if client.version != version:
        raise ClientChanged(client, version)
    cleaned = _clean_values(values, by=by)
    if client.is_erased and any(cleaned.get(f) for f in ("email", "phone", "address", "consent_email", "consent_sms")):
        raise ValidationError("This client's contact data was erased at their request: it cannot be added back.")
    changed = [name for name, value in cleaned.items() if getattr(client, name) != value]
    for name in changed:
        setattr(client, name, cleaned[name])
    _attribute(client, by)
    allergies_changed = _set_allergies(client, allergies, by)
    if changed or allergies_changed:
        client.refresh_search_key()
        # An old record keeps its date of birth as it is, unless it is what was changed.
        client.full_clean(exclude=None if "date_of_birth" in changed else ["date_of_birth"])
        client_write(client, by=by)
    return client


@transaction.atomic
def client_allergy_add(*, client_id: int, substance: Substance, by: User, reason: str) -> Client:
    """Add a known allergy to the client's record (the allergy loop of a side
    effect), as an edit: a new version, and a history row with who and why.
    Adding one the record names already changes nothing."""
    if not handles_clinical_records(by):
        raise PermissionDenied("Only practitioners and managers write a client's clinical notes and allergies.")
    client = Client.objects.select_for_update().get(pk=client_id)
    if client.allergies.filter(pk=substance.pk).exists():
        return client
    _attribute(client, by, reason)
    client.allergies.add(substance)
    client_write(client, by=by, reason=reason)
    return client


CONSENT_FIELDS = {ReminderChannel.EMAIL: "consent_email", ReminderChannel.SMS: "consent_sms"}


@transaction.atomic
def client_consent_withdraw(*, client_id: int, channel: str, reason: str) -> Client:
    """The client withdraws their agreement to reminders by `channel`, from a
    link in a message: no staff member made the change, so the history row
    names no one and `reason` says how. A link from before a merge names the
    merged record: the record kept is the one changed (record_kept). Doing it
    twice changes nothing."""
    client = record_kept(Client.objects.select_for_update().get(pk=client_id))
    field = CONSENT_FIELDS[channel]
    if getattr(client, field):
        setattr(client, field, False)
        client_write(client, by=None, reason=reason, fields=[field])
    return client


def _save_archived_at(client: Client, by: User) -> None:
    client_write(client, by=by, fields=["archived_at"])


@transaction.atomic
def client_archive(*, client: Client, by: User) -> Client:
    """Archive a client. Archiving an archived client changes nothing, so the
    first archiving date (and its history row) stays the true one."""
    client = Client.objects.select_for_update().get(pk=client.pk)
    if client.archived_at is None:
        client.archived_at = timezone.now()
        _save_archived_at(client, by)
    return client


@transaction.atomic
def client_restore(*, client: Client, by: User) -> Client:
    """Bring an archived client back into the lists; a no-op for an active one.
    ErasedClient for a client erased at their request; ClientMerged for a
    record merged into another (that one is the client)."""
    client = Client.objects.select_for_update().get(pk=client.pk)
    if client.is_erased:
        raise ErasedClient(f"{client.full_name} was erased at their request and stays archived.")
    if client.is_merged:
        raise ClientMerged(client)
    if client.archived_at is not None:
        client.archived_at = None
        _save_archived_at(client, by)
    return client


# --- Duplicates ----------------------------------------------------------------------

DUPLICATES_SHOWN = 10


def names_alike(first_a: str, last_a: str, first_b: str, last_b: str) -> bool:
    """Two people's names close enough to ask whether they are one: the same
    once accents and case go, swapped ("Dupont Marie"), one inside the other
    ("Marie" and "Marie-Claire"), or a letter or two apart ("Lefebre")."""
    a, b = fold(f"{first_a} {last_a}"), fold(f"{first_b} {last_b}")
    if not a or not b:
        return False
    if sorted(a.split()) == sorted(b.split()) or a in b or b in a:
        return True
    surname_a, surname_b = fold(last_a), fold(last_b)
    if surname_a and surname_a == surname_b:
        return True
    return SequenceMatcher(None, " ".join(sorted(a.split())), " ".join(sorted(b.split()))).ratio() >= 0.8


@dataclass(frozen=True)
class Duplicate:
    client: Client
    reasons: tuple[str, ...]


def client_duplicates(
    *,
    first_name: str,
    last_name: str,
    date_of_birth: dt.date | None,
    phone: str = "",
    email: str = "",
    exclude_id: int | None = None,
) -> list[Duplicate]:
    """The clients a new record may be a second copy of: the same date of
    birth and a similar name, or the same phone (E.164) or email (case
    ignored). Active ones, most reasons first; one query."""
    condition = Q(pk__in=[])
    if date_of_birth:
        condition |= Q(date_of_birth=date_of_birth)
    if phone:
        condition |= Q(phone=phone)
    if email:
        condition |= Q(email__iexact=email)
    found = Client.objects.active().filter(condition)
    if exclude_id:
        found = found.exclude(pk=exclude_id)
    duplicates = []
    for other in found.order_by("last_name", "first_name", "pk")[:200]:
        reasons = []
        same_day = date_of_birth and other.date_of_birth == date_of_birth
        if same_day and names_alike(first_name, last_name, other.first_name, other.last_name):
            reasons.append("same date of birth, similar name")
        if phone and other.phone == phone:
            reasons.append("same phone")
        if email and other.email.casefold() == email.casefold():
            reasons.append("same email")
        if reasons:
            duplicates.append(Duplicate(other, tuple(reasons)))
    duplicates.sort(key=lambda d: -len(d.reasons))
    return duplicates[:DUPLICATES_SHOWN]


# --- Merging two records of one person -------------------------------------------------


def related_counts(client_ids: Iterable[int]) -> dict[str, int]:
    """Every row of the clinical record of these clients, by kind: what a
    merge must move whole (its tests compare before and after). A row that
    names the client itself is counted by that name (check-ins, side effects,
    reminders), so that one left on the merged record shows; the rows of a
    session are counted through their session's plan."""
    ids = list(client_ids)
    of_sessions = {"session__plan__client_id__in": ids}
    return {
        "plans": TreatmentPlan.objects.filter(client_id__in=ids).count(),
        "sessions": TreatmentSession.objects.filter(plan__client_id__in=ids).count(),
        "injections": Injection.objects.filter(**of_sessions).count(),
        "injection quantities": InjectionQuantity.objects.filter(injection__session__plan__client_id__in=ids).count(),
        "ceiling decisions": CeilingDecision.objects.filter(**of_sessions).count(),
        "record drafts": RecordDraft.objects.filter(**of_sessions).count(),
        "photos": SessionPhoto.objects.filter(**of_sessions).count(),
        "amendments": SessionAmendment.objects.filter(**of_sessions).count(),
        "consents": Consent.objects.filter(plan__client_id__in=ids).count(),
        "screenings": Screening.objects.filter(client_id__in=ids).count(),
        "screening answers": ScreeningAnswer.objects.filter(screening__client_id__in=ids).count(),
        "side effects": SideEffect.objects.filter(client_id__in=ids).count(),
        "side-effect follow-ups": SideEffectFollowUp.objects.filter(side_effect__client_id__in=ids).count(),
        "check-ins": CheckIn.objects.filter(client_id__in=ids).count(),
        "reminders": Reminder.objects.filter(client_id__in=ids).count(),
    }


# What the merge preview counts of each record, and how it names them.
MERGE_SUMMARY = {
    "n_plans": "plans",
    "n_sessions": "sessions",
    "n_screenings": "screenings",
    "n_side_effects": "side effects",
    "n_check_ins": "check-ins",
    "n_reminders": "reminders",
}


def merge_summary(client: Client) -> dict[str, int]:
    """What the merge preview shows of each record: one query, each count a
    subquery (joins would multiply the rows of a long history)."""
    of_client = {"client": OuterRef("pk")}
    counts = (
        Client.objects.filter(pk=client.pk)
        .annotate(
            n_plans=SubqueryCount(TreatmentPlan.objects.filter(**of_client)),
            n_sessions=SubqueryCount(TreatmentSession.objects.filter(plan__client=OuterRef("pk"))),
            n_screenings=SubqueryCount(Screening.objects.filter(**of_client)),
            n_side_effects=SubqueryCount(SideEffect.objects.filter(**of_client)),
            n_check_ins=SubqueryCount(CheckIn.objects.filter(**of_client)),
            n_reminders=SubqueryCount(Reminder.objects.filter(**of_client)),
        )
        .values(*MERGE_SUMMARY)
        .get()
    )
    return {label: counts[name] for name, label in MERGE_SUMMARY.items()}


def merged_record_ids(client_id: int) -> list[int]:
    """The records merged into this one, directly or through a record merged
    into it: whose links, sent before a merge, still speak for this person.
    client_merge points earlier merges at the kept record, so one query
    usually finds them all; the walk stops when a round finds no more."""
    found: list[int] = []
    targets = [client_id]
    while targets:
        merged = Client.objects.filter(merged_into__in=targets).values_list("pk", flat=True)
        targets = [pk for pk in merged if pk not in found and pk != client_id]
        found += targets
    return found


def record_kept(client: Client) -> Client:
    """The record that holds this person now: the client itself, or the one
    its record was merged into (following the chain), locked for update:
    call it inside a transaction, with the first one locked."""
    seen = {client.pk}
    while client.merged_into_id and client.merged_into_id not in seen:
        seen.add(client.merged_into_id)
        client = Client.objects.select_for_update().get(pk=client.merged_into_id)
    return client


def record_ids(client: Client) -> list[int]:
    """The client's id and those of the records merged into it: whose access
    log entries, written under the old ids, are this person's."""
    return [client.pk, *client.merged_records.values_list("pk", flat=True)]


@dataclass(frozen=True)
class MergeResult:
    kept: Client
    merged: Client
    moved: dict[str, int]
    filled: tuple[str, ...]


@transaction.atomic
def client_merge(
    *,
    keep_id: int,
    merge_id: int,
    by: User,
    keep_version: int | None = None,
    merge_version: int | None = None,
    path: str = "",
    ip_address: str | None = None,
) -> MergeResult:
    """Two records of one person become one: every row that names the client
    moves from `merge_id` to `keep_id` (plans, and with them their sessions,
    consents, injections, photos, ceiling decisions and drafts; screenings;
    side effects, with their follow-ups; check-ins; reminders); its allergies
    are added, its notes appended, and its email, phone or address fill the
    kept record's blanks. The merged record is archived, pointing at the kept
    one; both changes are in the history, and the access log says who merged
    them.

    The access log itself is append-only (a PostgreSQL trigger refuses any
    UPDATE): its entries stay under the merged record's id, which the kept
    record lists through `merged_records` (see `record_ids`). Reminder keys name
    their session, plan or screening, never the client, so none collides; a
    screening-renewal reminder of the older screening is cancelled by the next
    round ("the client was screened again").

    Both rows are locked first, in id order, so a merge waits for an edit in
    progress and the edit then finds a new version (ClientChanged); an edit of
    the merged record after it is refused (ClientMerged). MergeRefused for two
    records that cannot be merged."""
    if keep_id == merge_id:
        raise MergeRefused("Choose two different records.")
    locked = {c.pk: c for c in Client.objects.select_for_update().filter(pk__in=[keep_id, merge_id]).order_by("pk")}
    if len(locked) != 2:
        raise MergeRefused("One of the two records does not exist.")
    keep, other = locked[keep_id], locked[merge_id]
    for client, version in ((keep, keep_version), (other, merge_version)):
        if client.is_merged:
            raise MergeRefused(f"{client.full_name} (record {client.pk}) was already merged into another record.")
        if client.is_erased:
            raise MergeRefused(
                f"{client.full_name} (record {client.pk}) was erased at their request: it is not merged."
            )
        if version is not None and client.version != version:
            raise ClientChanged(client, version)

    reason = f"Merged record {other.pk} ({other.full_name}) into record {keep.pk}"
    moved = {}
    for model, label in ((TreatmentPlan, "plans"), (Screening, "screenings"), (SideEffect, "side effects")):
        rows = list(model.objects.filter(client=other))
        for row in rows:
            # One save each, so that each row's own history says where it went and who moved it.
            row.client = keep
            row._history_user, row._change_reason = by, reason
            row.save(update_fields=["client"])
        moved[label] = len(rows)
    # Check-ins and reminders keep no history of their own: one UPDATE each.
    moved["check-ins"] = CheckIn.objects.filter(client=other).update(client=keep)
    moved["reminders"] = Reminder.objects.filter(client=other).update(client=keep)

    filled = tuple(f for f in FILLED_BY_MERGE if not getattr(keep, f) and getattr(other, f))
    for name in filled:
        setattr(keep, name, getattr(other, name))
    if other.notes.strip():
        note = f"From record {other.pk} ({other.full_name}), merged {timezone.localdate():%d/%m/%Y}:\n{other.notes}"
        keep.notes = f"{keep.notes}\n\n{note}" if keep.notes.strip() else note
    keep.refresh_search_key()
    client_write(keep, by=by, reason=reason)
    allergies = set(other.allergies.values_list("pk", flat=True)) - set(keep.allergies.values_list("pk", flat=True))
    if allergies:
        keep.allergies.add(*allergies)

    # Records merged into the one that goes now point at the one that stays.
    for earlier in Client.objects.select_for_update().filter(merged_into=other):
        earlier.merged_into = keep
        client_write(earlier, by=by, reason=reason)
    other.merged_into = keep
    other.archived_at = other.archived_at or timezone.now()
    client_write(other, by=by, reason=reason)

    detail = f"Record {other.pk} ({other.full_name}) merged into record {keep.pk} ({keep.full_name})"
    AccessLog.objects.bulk_create(
        AccessLog(
            user=by,
            action=AccessAction.MERGE_CLIENT,
            client_id=pk,
            detail=detail[:200],
            path=path[:500],
            ip_address=ip_address,
        )
        for pk in (keep.pk, other.pk)
    )
    return MergeResult(keep, other, moved, filled)
