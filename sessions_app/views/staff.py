"""The staff page, for managers (roles.may_manage_staff): the members, a new
member, a member's role and details, and what a manager does for an account
(deactivate, reactivate, unlock, remove a lost authenticator, send a link to
set a password); and the page where a member chooses their password from
that link."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import SetPasswordForm
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sessions_app.models import Role, User
from sessions_app.roles import may_manage_staff
from sessions_app.services import staff as service
from sessions_app.staff_forms import MemberForm, NewMemberForm

PAGE_SIZE = 50
# How many changes the member's page lists, the latest first.
HISTORY_SHOWN = 30


def _manager(request) -> None:
    if not may_manage_staff(request.user):
        raise PermissionDenied


def _base_url(request) -> str:
    """The address the new member opens: the one this manager uses (the
    clinic's own network name), CLINIC_BASE_URL when it is unknown."""
    return request.build_absolute_uri("/").rstrip("/")


@require_GET
def staff_list(request):
    """Every member, active first: two queries (the members with their
    lockout and authenticator, their roles), whatever their number."""
    _manager(request)
    page = Paginator(service.staff_for_list(), PAGE_SIZE).get_page(request.GET.get("page"))
    members = list(page.object_list)
    for member in members:
        member.role = service.role_of(member)
        member.locked = service.is_locked(member)
    return render(request, "staff/list.html", {"members": members, "page": page})


@require_http_methods(["GET", "POST"])
def staff_add(request):
    _manager(request)
    form = NewMemberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            member = service.staff_add(
                by=request.user,
                username=form.cleaned_data["username"],
                role=Role(form.cleaned_data["role"]),
                details=form.details(),
                base_url=_base_url(request),
            )
        except service.StaffRefused as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                f"{member} is added as {service.role_label(member)}. A link to choose a password was sent to "
                f"{member.email}; it works once, for {service.link_days()} days.",
            )
            return redirect("staff_detail", pk=member.pk)
    return render(request, "staff/add.html", {"form": form})


def _member_form_initial(member: User) -> dict:
    role = service.role_of(member)
    return {
        "first_name": member.first_name,
        "last_name": member.last_name,
        "email": member.email,
        "role": role.value if role else "",
        "profession": member.profession,
        "registration_number": member.registration_number,
        "job_title": member.job_title,
        "phone": member.phone,
    }


@require_http_methods(["GET", "POST"])
def staff_detail(request, pk: int):
    _manager(request)
    member = get_object_or_404(service.staff_for_list(), pk=pk)
    form = MemberForm(request.POST or None, initial=_member_form_initial(member))
    if request.method == "POST" and form.is_valid():
        try:
            service.staff_update(
                by=request.user, member_id=member.pk, role=Role(form.cleaned_data["role"]), details=form.details()
            )
        except service.StaffRefused as exc:
            form.add_error("role", str(exc))
        else:
            messages.success(request, f"{member}'s account is saved.")
            return redirect("staff_detail", pk=member.pk)
    member.role = service.role_of(member)
    member.locked = service.is_locked(member)
    context = {
        "member": member,
        "form": form,
        "changes": _changes(member),
        "refusals": {
            action: service.staff_refusal(by=request.user, member=member, action=action)
            for action in ("deactivate", "reactivate", "send_link")
        },
    }
    return render(request, "staff/detail.html", context)


def _changes(member: User) -> list[dict]:
    """The member's history, the latest first: each change's reason, or the
    fields it changed (a change made elsewhere, in the admin); rows that
    change nothing shown here (a calendar address renewed) are left out.
    One query."""
    records = list(
        member.history.select_related("history_user").order_by("-history_date", "-history_id")[: HISTORY_SHOWN + 1]
    )
    changes = []
    for record, before in zip(records, [*records[1:], None], strict=False):
        what = record.history_change_reason
        if not what and record.history_type == "+":
            what = "Account created"
        if not what and before is not None:
            fields = [User._meta.get_field(c.field).verbose_name for c in record.diff_against(before).changes]
            what = "Changed: " + ", ".join(fields) if fields else ""
        if what:
            changes.append({"at": record.history_date, "by": record.history_user, "what": what})
    return changes[:HISTORY_SHOWN]


@require_POST
def staff_action(request, pk: int, action: str):
    _manager(request)
    member = get_object_or_404(User, pk=pk)
    try:
        if action == "deactivate":
            member, ahead = service.staff_deactivate(by=request.user, member_id=pk)
            note = (
                f" They still have {ahead} session{'s' if ahead != 1 else ''} booked ahead: move them." if ahead else ""
            )
            messages.success(request, f"{member} can no longer sign in.{note}")
        elif action == "reactivate":
            service.staff_reactivate(by=request.user, member_id=pk)
            messages.success(request, f"{member} can sign in again.")
        elif action == "unlock":
            service.staff_unlock(by=request.user, member_id=pk)
            messages.success(request, f"{member} can sign in again now.")
        elif action == "remove_authenticator":
            removed = service.staff_remove_authenticator(by=request.user, member_id=pk)
            messages.success(
                request,
                f"{member}'s authenticator is removed: they set up a new one at their next sign-in."
                if removed
                else f"{member} had no authenticator.",
            )
        elif action == "send_link":
            service.send_password_link(member=member, by=request.user, base_url=_base_url(request))
            messages.success(request, f"A link to choose a password was sent to {member.email}.")
    except service.StaffRefused as exc:
        messages.error(request, str(exc))
    return redirect("staff_detail", pk=pk)


class ChoosePasswordForm(SetPasswordForm):
    """Django's form (the password validators), whose save says in the
    member's history that they set their password by the link."""

    def save(self, commit=True):
        self.user._history_user = self.user
        self.user._change_reason = service.password_set_reason()
        return super().save(commit)


@method_decorator(login_not_required, name="dispatch")
class PasswordSetView(auth_views.PasswordResetConfirmView):
    """The one-time link a new member (or one who forgot) opens: Django's
    password reset confirmation, for active accounts only; then the sign-in."""

    template_name = "registration/password_set.html"
    form_class = ChoosePasswordForm
    reset_url_token = "choose"
    success_url = reverse_lazy("login")

    def get_user(self, uidb64):
        user = super().get_user(uidb64)
        return user if user is not None and user.is_active else None

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, "Your password is set: sign in with your user name and it.")
        return response
