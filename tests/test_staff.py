"""The staff page: a manager adds a member (who chooses a password by a
one-time link), changes a role, deactivates, unlocks, removes a lost
authenticator; the one rule refuses what would leave the clinic without a
manager; every change is in the member's history, with who and why."""

import datetime as dt
import re

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.models import Group
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from sessions_app.models import Role, User
from sessions_app.services import staff as service

from .factories import PASSWORD, admin_url, make_plan, make_session, make_user

NEW_PASSWORD = "a-long-and-unusual-passphrase"


def new_member(**fields) -> dict:
    return {
        "first_name": "Inès",
        "last_name": "Moreau",
        "username": "ines",
        "email": "ines@example.org",
        "role": Role.PRACTITIONER.value,
        "profession": "nurse",
        "registration_number": "ADELI 75 123 456 7",
        "job_title": "Nurse injector",
        "phone": "",
        **fields,
    }


def reasons(member: User) -> list[str]:
    return list(member.history.order_by("history_date", "history_id").values_list("history_change_reason", flat=True))


def link_in(message) -> str:
    return re.search(r"https?://\S+/account/password/\S+/", message.body).group(0)


@pytest.mark.django_db
def test_a_manager_adds_a_member_who_gets_a_one_time_link_and_no_password(
    manager_client, manager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(reverse("staff_add"), new_member())
    member = User.objects.get(username="ines")
    assert response.status_code == 302 and response["Location"] == reverse("staff_detail", args=[member.pk])
    assert list(member.groups.values_list("name", flat=True)) == [Role.PRACTITIONER]
    assert (member.profession, member.registration_number, member.is_staff) == ("nurse", "ADELI 75 123 456 7", False)
    assert not member.has_usable_password()
    [message] = mail.outbox
    assert message.to == ["ines@example.org"]
    assert "ines" in message.body and "Practitioner" in message.body
    assert link_in(message).startswith("http://testserver/account/password/")
    assert "password:" not in message.body.lower()
    assert reasons(member) == ["Added as Practitioner", "Link to set a password sent to ines@example.org"]
    assert member.history.first().history_user == manager


@pytest.mark.django_db
def test_the_link_sets_the_password_once_and_the_member_signs_in_with_the_role(
    client, manager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        member = service.staff_add(
            by=manager,
            username="ines",
            role=Role.RECEPTION,
            details=service.MemberDetails("Inès", "Moreau", "ines@example.org", "", "", "", ""),
        )
    link = link_in(mail.outbox[0]).removeprefix("http://clinic.test")
    # Django moves the token out of the address (no leak by Referer) to a form page.
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200 and form_page.context["validlink"]
    short = client.post(form_page.redirect_chain[-1][0], {"new_password1": "short", "new_password2": "short"})
    assert "at least 10 characters" in short.content.decode()
    done = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}, follow=True
    )
    assert done.redirect_chain[-1][0] == reverse("login")
    assert "Your password is set" in done.content.decode()
    assert reasons(member)[-1] == "Password set with the one-time link"
    # Used once: it no longer works.
    assert not client.get(link, follow=True).context["validlink"]
    signed_in = client.post(reverse("login"), {"username": "ines", "password": NEW_PASSWORD}, follow=True)
    assert signed_in.status_code == 200
    assert "Reception" in signed_in.content.decode()
    assert client.get(reverse("call_list")).status_code == 200
    assert client.get(reverse("side_effect_list")).status_code == 403


@pytest.mark.django_db
def test_a_deactivated_members_link_no_longer_works(client, manager):
    member = make_user(Role.RECEPTION, email="sam@example.org")
    link = service.password_link(member, base_url="")
    member.is_active = False
    member.save()
    assert not client.get(link, follow=True).context["validlink"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"profession": ""}, "profession", "A practitioner is a physician, a nurse or other"),
        ({"profession": "physician", "registration_number": "  "}, "registration_number", "registration number"),
        ({"username": "MANAGER1"}, "username", "That user name is taken"),
        ({"username": "ines moreau"}, "username", "Enter a valid username"),
        ({"email": ""}, "email", "This field is required."),
        ({"first_name": "x" * 10_000}, "first_name", "at most 150 characters"),
        ({"role": "Superuser"}, "role", "Select a valid choice"),
    ],
)
def test_a_bad_new_member_is_refused_beside_the_field(manager_client, changes, field, message):
    make_user(Role.MANAGER, username="manager1")
    response = manager_client.post(reverse("staff_add"), new_member(**changes))
    assert response.status_code == 200
    assert any(message in error for error in response.context["form"].errors[field]), response.context["form"].errors
    assert 'id="form-errors"' in response.content.decode()
    assert not User.objects.filter(username="ines").exists()


@pytest.mark.django_db
def test_hostile_names_are_shown_escaped(manager_client, django_capture_on_commit_callbacks):
    name = "<script>alert(1)</script>\u202e🙂"
    with django_capture_on_commit_callbacks(execute=True):
        manager_client.post(reverse("staff_add"), new_member(first_name=name))
    member = User.objects.get(username="ines")
    User.objects.filter(pk=member.pk).update(job_title='"><img src=x onerror=alert(2)>', registration_number="<b>1</b>")
    for url in (reverse("staff_list"), reverse("staff_detail", args=[member.pk])):
        page = manager_client.get(url).content.decode()
        assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "<img src=x" not in page and "&quot;&gt;&lt;img src=x onerror=alert(2)&gt;" in page
        assert "<b>1</b>" not in page and "&lt;b&gt;1&lt;/b&gt;" in page


@pytest.mark.django_db
def test_changing_a_role_gives_its_permissions_and_is_in_the_history(manager_client, manager):
    member = make_user(Role.RECEPTION, first_name="Julie", last_name="Marchand", email="julie@example.org")
    data = new_member(
        first_name="Julie", last_name="Marchand", email="julie@example.org", role="Manager", profession=""
    )
    data.pop("username")
    response = manager_client.post(reverse("staff_detail", args=[member.pk]), data)
    assert response.status_code == 302
    member.refresh_from_db()
    assert list(member.groups.values_list("name", flat=True)) == [Role.MANAGER]
    assert member.is_staff  # the Django admin is the manager's
    assert reasons(member)[-1] == (
        "Role changed from Reception to Manager; Details changed: job title, registration number"
    )
    page = manager_client.get(reverse("staff_detail", args=[member.pk])).content.decode()
    assert "Role changed from Reception to Manager" in page and str(manager) in page


@pytest.mark.django_db
def test_the_clinic_always_keeps_an_active_manager(client):
    only = make_user(Role.MANAGER)
    other = make_user(Role.MANAGER)
    assert service.staff_refusal(by=only, member=only, action="deactivate").startswith("You cannot take your own")
    assert service.staff_refusal(by=only, member=other, action="role", role=Role.RECEPTION) is None
    service.staff_deactivate(by=only, member_id=other.pk)
    other.refresh_from_db()
    # The last active manager may not be made reception by a superuser either.
    root = User.objects.create_superuser("root", password=PASSWORD)
    assert "only active manager" in service.staff_refusal(by=root, member=only, action="role", role=Role.RECEPTION)
    with pytest.raises(service.StaffRefused, match="only active manager"):
        service.staff_deactivate(by=root, member_id=only.pk)
    client.force_login(only)
    data = new_member(first_name="A", last_name="B", email="", role="Reception", profession="")
    data.pop("username")
    response = client.post(reverse("staff_detail", args=[only.pk]), data)
    assert "You cannot take your own account out of the managers" in response.content.decode()
    assert only.groups.get().name == Role.MANAGER


@pytest.mark.django_db
def test_a_deactivated_member_is_signed_out_and_cannot_sign_in_but_keeps_their_records(client, manager):
    practitioner = make_user(Role.PRACTITIONER, calendar_token="secret-calendar-token-123456")
    plan = make_plan(practitioner=practitioner)
    make_session(plan, starts_at=timezone.now() + dt.timedelta(days=3))
    client.force_login(practitioner)
    member, ahead = service.staff_deactivate(by=manager, member_id=practitioner.pk)
    assert ahead == 1
    assert client.get(reverse("dashboard")).status_code == 302  # the open session ends
    assert client.post(reverse("login"), {"username": practitioner.username, "password": PASSWORD}).status_code == 200
    member.refresh_from_db()
    assert (member.is_active, member.calendar_token) == (False, None)
    assert User.objects.filter(pk=practitioner.pk).exists() and plan.practitioner_id == practitioner.pk
    assert reasons(member)[-1] == "Deactivated"
    service.staff_reactivate(by=manager, member_id=member.pk)
    assert client.post(reverse("login"), {"username": member.username, "password": PASSWORD}).status_code == 302


@pytest.mark.django_db
def test_a_locked_account_is_shown_and_unlocked(manager_client):
    member = make_user(Role.RECEPTION)
    client = Client()  # the member's browser
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": member.username, "password": "wrong"})
    assert client.post(reverse("login"), {"username": member.username, "password": PASSWORD}).status_code == 429
    listed = manager_client.get(reverse("staff_list"))
    assert "locked out" in listed.content.decode()
    response = manager_client.post(reverse("staff_action", args=[member.pk, "unlock"]), follow=True)
    assert "can sign in again now" in response.content.decode()
    assert not AccessAttempt.objects.filter(username=member.username).exists()
    assert reasons(member)[-1] == "Sign-in lockout lifted"
    assert client.post(reverse("login"), {"username": member.username, "password": PASSWORD}).status_code == 302


@pytest.mark.django_db
def test_a_lost_authenticator_is_removed(manager_client):
    member = make_user(Role.PRACTITIONER)
    TOTPDevice.objects.create(user=member, name="Phone", confirmed=True)
    assert "authenticator" in manager_client.get(reverse("staff_list")).content.decode()
    manager_client.post(reverse("staff_action", args=[member.pk, "remove_authenticator"]))
    assert not TOTPDevice.objects.filter(user=member).exists()
    assert reasons(member)[-1] == "Authenticator removed"


@pytest.mark.django_db
def test_signing_in_writes_the_last_sign_in_but_no_history_row(client):
    member = make_user(Role.RECEPTION)
    rows = member.history.count()
    client.post(reverse("login"), {"username": member.username, "password": PASSWORD})
    member.refresh_from_db()
    assert member.last_login is not None and member.history.count() == rows


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.RECEPTION, Role.PRACTITIONER])
def test_only_managers_open_the_staff_page(client, role):
    member = make_user(Role.RECEPTION)
    client.force_login(make_user(role))
    assert client.get(reverse("staff_list")).status_code == 403
    assert client.get(reverse("staff_add")).status_code == 403
    assert client.get(reverse("staff_detail", args=[member.pk])).status_code == 403
    assert client.post(reverse("staff_action", args=[member.pk, "deactivate"])).status_code == 403
    assert reverse("staff_list") not in client.get(reverse("dashboard")).content.decode()
    member.refresh_from_db()
    assert member.is_active


@pytest.mark.django_db
def test_the_staff_list_makes_the_same_queries_however_many_members(manager_client, django_assert_num_queries):
    # session, user, roles and permissions (one query), the page's members (with
    # their lockout and authenticator), their groups (one prefetch), the
    # count for the pages.
    with django_assert_num_queries(6):
        manager_client.get(reverse("staff_list"))
    for role in (Role.RECEPTION, Role.PRACTITIONER, Role.MANAGER) * 5:
        TOTPDevice.objects.create(user=make_user(role), name="Phone", confirmed=True)
    with django_assert_num_queries(6):
        response = manager_client.get(reverse("staff_list"))
    assert len(response.context["members"]) == 16


@pytest.mark.django_db
def test_the_admin_shows_staff_read_only_and_points_to_the_staff_page(manager_client):
    member = make_user(Role.PRACTITIONER, registration_number="RPPS-123")
    page = manager_client.get(admin_url(User, "change", member.pk))
    assert page.status_code == 200
    html = page.content.decode()
    assert reverse("staff_detail", args=[member.pk]) in html
    assert "argon2" not in html and "algorithm" not in html and "User permissions" not in html
    assert manager_client.get(admin_url(User, "add")).status_code == 403
    assert manager_client.post(admin_url(User, "change", member.pk), {"username": "x"}).status_code == 403


@pytest.mark.django_db
def test_managers_get_the_admin_and_others_lose_it_with_the_role(manager):
    member = make_user(Role.RECEPTION)
    details = service.MemberDetails(member.first_name, member.last_name, "", "", "", "", "")
    service.staff_update(by=manager, member_id=member.pk, role=Role.MANAGER, details=details)
    member.refresh_from_db()
    assert member.is_staff and member.groups.get() == Group.objects.get(name=Role.MANAGER)
    service.staff_update(by=manager, member_id=member.pk, role=Role.PRACTITIONER, details=details)
    member.refresh_from_db()
    assert not member.is_staff


@pytest.mark.django_db
def test_a_members_page_makes_the_same_queries_however_long_their_history(manager_client, django_assert_num_queries):
    member = make_user(Role.RECEPTION, first_name="Julie", last_name="Marchand", email="julie@example.org")
    url = reverse("staff_detail", args=[member.pk])
    # session, user, roles and permissions (one query), the member (with their
    # lockout and authenticator), their groups, their history rows (at most
    # HISTORY_SHOWN, with who made each).
    with django_assert_num_queries(6):
        manager_client.get(url)
    data = new_member(first_name="Julie", last_name="Marchand", email="julie@example.org")
    data.pop("username")
    for i, role in enumerate([Role.PRACTITIONER, Role.RECEPTION] * 4):
        response = manager_client.post(url, {**data, "role": role.value, "job_title": f"Title {i}"})
        assert response.status_code == 302, response.context["form"].errors
    with django_assert_num_queries(6):
        response = manager_client.get(url)
    assert len(response.context["changes"]) >= 9
