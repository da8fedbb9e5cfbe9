"""Staff accounts, as a manager runs them from the staff page: add a member
with a role, change the role or the details, deactivate (never delete: the
records keep who did what) and reactivate, lift a sign-in lockout, remove a
lost authenticator, send a one-time link to set a password.

Every change is kept in the member's history (django-simple-history, the
same tables as the clinical records' history) with who made it, when, and a
reason in words: the history is where changes are kept, the access log is
for reads of clients' records. Changes that leave the account row as it was
(a lockout lifted, an authenticator removed, a link sent) get a history row
of their own all the same.
"""

from __future__ import annotations

from dataclasses import dataclass

from axes.models import AccessAttempt
from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet, Subquery, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.plugins.otp_totp.models import TOTPDevice

from sessions_app.models import Role, SessionStatus, TreatmentSession, User


class StaffRefused(Exception):
    """The change is refused; the message says why, for the manager."""


@dataclass(frozen=True)
class MemberDetails:
    first_name: str
    last_name: str
    email: str
    profession: str
    job_title: str
    registration_number: str
    phone: str


DETAIL_LABELS = {
    "first_name": "first name",
    "last_name": "last name",
    "email": "email",
    "profession": "profession",
    "job_title": "job title",
    "registration_number": "registration number",
    "phone": "phone",
}


def record_last_login(sender, request, user, **kwargs) -> None:
    """user_logged_in receiver, in place of Django's update_last_login: the
    same write, without a row in the staff history for every sign-in."""
    user.last_login = timezone.now()
    user.save_without_historical_record(update_fields=["last_login"])


def role_of(member: User) -> Role | None:
    """The member's role (the first, should an old account have several).
    Uses the prefetched groups when present."""
    names = {group.name for group in member.groups.all()}
    return next((role for role in Role if role in names), None)


def staff_for_list() -> QuerySet:
    """Members with what the staff page shows: roles (prefetched), whether
    locked out (django-axes: failures within the lockout time reaching the
    limit), whether an authenticator is set up."""
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    failures = (
        AccessAttempt.objects.filter(username=OuterRef("username"), attempt_time__gte=since)
        .order_by()
        .values("username")
        .annotate(n=Sum("failures_since_start"))
        .values("n")
    )
    return (
        User.objects.prefetch_related("groups")
        .annotate(
            recent_failures=Subquery(failures),
            has_authenticator=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)),
        )
        .order_by("-is_active", "last_name", "first_name", "username")
    )


def is_locked(member: User) -> bool:
    """Locked out now, as django-axes decides (member from staff_for_list)."""
    return (getattr(member, "recent_failures", None) or 0) >= settings.AXES_FAILURE_LIMIT


def _active_managers() -> QuerySet:
    return User.objects.filter(is_active=True, groups__name=Role.MANAGER)


def staff_refusal(*, by: User, member: User, action: str, role: str | None = None) -> str | None:
    """Why `by` may not make this change to `member`, or None: the one rule
    the staff page's buttons and its forms ask. `action` is "role",
    "details", "deactivate", "reactivate", "unlock", "remove_authenticator"
    or "send_link"."""
    if not by.has_perm("sessions_app.change_user"):
        return "Only a manager manages staff accounts."
    if member.is_superuser and not by.is_superuser:
        return "This is a technical administrator's account: it is managed with manage.py, not here."
    leaves_managers = action == "deactivate" or (action == "role" and role != Role.MANAGER)
    if member.pk == by.pk and leaves_managers:
        return "You cannot take your own account out of the managers: ask another manager."
    last_manager = (
        leaves_managers
        and member.is_active
        and role_of(member) == Role.MANAGER
        and not _active_managers().exclude(pk=member.pk).exists()
    )
    if last_manager:
        return f"{member} is the only active manager: give another member the Manager role first."
    if action == "deactivate" and not member.is_active:
        return f"{member}'s account is already deactivated."
    if action == "reactivate" and member.is_active:
        return f"{member}'s account is active."
    if action == "send_link" and not member.email:
        return f"{member} has no email address: add one first."
    if action == "send_link" and not member.is_active:
        return f"{member}'s account is deactivated: reactivate it first."
    return None


def _check(by: User, member: User, action: str, role: str | None = None) -> None:
    if refusal := staff_refusal(by=by, member=member, action=action, role=role):
        raise StaffRefused(refusal)


def _save(member: User, *, by: User, reason: str, fields: list[str] | None = None) -> None:
    """Save with one history row saying who and why."""
    member._history_user = by
    member._change_reason = reason
    member.save(update_fields=fields)


def _history_only(member: User, *, by: User, reason: str) -> None:
    """A history row for a change outside the account row (an unlock, an
    authenticator removed, a link sent)."""
    member._history_user = by
    member._change_reason = reason
    User.history.bulk_history_create([member], update=True)


def _set_role(member: User, role: Role) -> None:
    member.groups.set([Group.objects.get(name=role)])
    # The Django admin is the manager's (clinic/admin_site.py lets in is_staff).
    member.is_staff = role == Role.MANAGER


@transaction.atomic
def staff_add(*, by: User, username: str, role: Role, details: MemberDetails, base_url: str | None = None) -> User:
    """A new member with a role, no password (they choose it through the link
    mailed to them), and a history row "Added as ..."."""
    if not by.has_perm("sessions_app.add_user"):
        raise StaffRefused("Only a manager adds staff accounts.")
    member = User(username=username, **details.__dict__)
    member.set_unusable_password()
    # The row first (the role is a group, which needs its id), then the one
    # history row, which shows the role given.
    member.save_without_historical_record()
    _set_role(member, role)
    _save(member, by=by, reason=f"Added as {Role(role).label}")
    send_password_link(member=member, by=by, base_url=base_url, new=True)
    return member


@transaction.atomic
def staff_update(*, by: User, member_id: int, role: Role, details: MemberDetails) -> User:
    """Change a member's role and details; one history row naming what changed."""
    member = User.objects.select_for_update().get(pk=member_id)
    before = role_of(member)
    reasons = []
    if before != role:
        _check(by, member, "role", role)
        _set_role(member, role)
        reasons.append(f"Role changed from {before.label if before else 'none'} to {Role(role).label}")
    changed = [name for name, value in details.__dict__.items() if getattr(member, name) != value]
    if changed:
        _check(by, member, "details")
        for name in changed:
            setattr(member, name, getattr(details, name))
        reasons.append("Details changed: " + ", ".join(DETAIL_LABELS[name] for name in changed))
    if reasons:
        _save(member, by=by, reason="; ".join(reasons))
    return member


@transaction.atomic
def staff_deactivate(*, by: User, member_id: int) -> tuple[User, int]:
    """The member can no longer sign in (their open sessions end with it) and
    their calendar address stops; everything they recorded stays theirs.
    Returns the member and how many sessions they still have booked ahead."""
    member = User.objects.select_for_update().get(pk=member_id)
    _check(by, member, "deactivate")
    member.is_active = False
    member.calendar_token = None
    _save(member, by=by, reason="Deactivated", fields=["is_active", "calendar_token"])
    ahead = TreatmentSession.objects.filter(
        practitioner=member, status__in=SessionStatus.AHEAD, starts_at__gte=timezone.now()
    ).count()
    return member, ahead


@transaction.atomic
def staff_reactivate(*, by: User, member_id: int) -> User:
    member = User.objects.select_for_update().get(pk=member_id)
    _check(by, member, "reactivate")
    member.is_active = True
    _save(member, by=by, reason="Reactivated", fields=["is_active"])
    return member


@transaction.atomic
def staff_unlock(*, by: User, member_id: int) -> int:
    """Lift a sign-in lockout now rather than after CLINIC_LOGIN_LOCKOUT_MINUTES:
    django-axes' attempts for the user name are deleted. Returns how many."""
    member = User.objects.select_for_update().get(pk=member_id)
    _check(by, member, "unlock")
    removed = axes_reset(username=member.username)
    _history_only(member, by=by, reason="Sign-in lockout lifted")
    return removed


@transaction.atomic
def staff_remove_authenticator(*, by: User, member_id: int) -> int:
    """A lost phone: the member's authenticator is deleted, and they set up a
    new one at their next sign-in. Returns how many were removed."""
    member = User.objects.select_for_update().get(pk=member_id)
    _check(by, member, "remove_authenticator")
    removed, _ = TOTPDevice.objects.filter(user=member).delete()
    if removed:
        _history_only(member, by=by, reason="Authenticator removed")
    return removed


def password_link(member: User, base_url: str | None = None) -> str:
    """The one-time address at which the member chooses a password: Django's
    password-reset token, which stops working once the password is set (or
    after PASSWORD_RESET_TIMEOUT)."""
    uid = urlsafe_base64_encode(force_bytes(member.pk))
    path = reverse("password_set", args=[uid, default_token_generator.make_token(member)])
    return (base_url or settings.CLINIC_BASE_URL) + path


def link_days() -> int:
    return max(1, settings.PASSWORD_RESET_TIMEOUT // 86400)


@transaction.atomic
def send_password_link(*, member: User, by: User, base_url: str | None = None, new: bool = False) -> None:
    """Mail the member the link to set their password, once the transaction
    commits; no password is ever sent. A history row says it was sent."""
    _check(by, member, "send_link")
    link = password_link(member, base_url)
    clinic = settings.CLINIC_NAME
    if new:
        opening = f"{by} has opened an account for you at {clinic}, as {role_label(member)}."
    else:
        opening = f"{by} has sent you a link to choose a new password for your account at {clinic}."
    body = (
        f"Hello {member.first_name or member.username},\n\n{opening}\n\n"
        f"Your user name: {member.username}\n\n"
        f"Choose your password here (the link works once, for {link_days()} days):\n{link}\n\n"
        "If you did not expect this message, ignore it: nothing changes until the link is used.\n"
    )
    message = EmailMessage(
        subject=f"Your account at {clinic}", body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[member.email]
    )
    transaction.on_commit(message.send)
    _history_only(member, by=by, reason=f"Link to set a password sent to {member.email}")


def role_label(member: User) -> str:
    role = role_of(member)
    return role.label if role else "a member of staff without a role"


def password_set_reason() -> str:
    return "Password set with the one-time link"
