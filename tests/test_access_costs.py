"""What every signed-in page pays before its own work: the session, the user,
and the user's roles with their permissions in one query (roles.load_access).
Nothing of it is kept past the request: a role taken away or an account
deactivated counts from the next page on, whatever the session engine."""

import runpy
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sessions_app.models import Role
from sessions_app.roles import user_roles
from sessions_app.services.staff import staff_deactivate

from .factories import make_user

SETTINGS = Path(__file__).resolve().parent.parent / "clinic" / "settings.py"
CACHED_SESSIONS = "django.contrib.sessions.backends.cached_db"


def access_queries(queries) -> list[str]:
    return [q["sql"] for q in queries if "auth_permission" in q["sql"] or "auth_group" in q["sql"]]


@pytest.mark.django_db
def test_a_page_reads_the_roles_and_permissions_in_one_query(client):
    client.force_login(make_user(Role.RECEPTION))
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("call_list"))  # a permission check, and the navigation's roles
    assert response.status_code == 200
    assert len(access_queries(queries)) == 1, access_queries(queries)
    assert response.context["is_reception"]


@pytest.mark.django_db
def test_the_roles_and_permissions_read_together_are_the_user_s_own_and_their_groups():
    user = make_user(Role.RECEPTION)
    extra = Permission.objects.get(codename="view_screening")
    user.user_permissions.add(extra)
    user = type(user).objects.get(pk=user.pk)
    assert user_roles(user) == {Role.RECEPTION}
    assert user.has_perm("sessions_app.view_client")  # the group's
    assert user.has_perm("sessions_app.view_screening")  # the user's own
    assert not user.has_perm("sessions_app.change_screening")
    assert user.get_user_permissions() == {"sessions_app.view_screening"}
    assert "sessions_app.view_client" in user.get_group_permissions()
    assert "sessions_app.view_screening" not in user.get_group_permissions()


@pytest.mark.django_db
def test_a_superuser_has_every_permission_and_an_inactive_user_none():
    boss = make_user(is_superuser=True)
    assert boss.has_perm("sessions_app.delete_client") and user_roles(boss) == frozenset()
    gone = make_user(Role.MANAGER, is_active=False)
    assert not gone.has_perm("sessions_app.view_client")


@pytest.fixture(params=["django.contrib.sessions.backends.db", CACHED_SESSIONS])
def each_session_engine(request):
    """The test once with sessions in the database, once in the cache before it."""
    with override_settings(SESSION_ENGINE=request.param):
        yield


@pytest.mark.django_db
@pytest.mark.usefixtures("each_session_engine")
def test_a_role_taken_away_counts_from_the_next_page(client):
    member = make_user(Role.RECEPTION)
    client.force_login(member)
    assert client.get(reverse("call_list")).status_code == 200
    member.groups.remove(Group.objects.get(name=Role.RECEPTION))
    assert client.get(reverse("call_list")).status_code == 403
    member.groups.add(Group.objects.get(name=Role.MANAGER))
    response = client.get(reverse("staff_list"))
    assert response.status_code == 200 and response.context["is_manager"]


@pytest.mark.django_db
@pytest.mark.usefixtures("each_session_engine")
def test_a_deactivated_member_is_signed_out_at_their_next_page(client):
    member = make_user(Role.PRACTITIONER)
    client.force_login(member)
    assert client.get(reverse("dashboard")).status_code == 200
    staff_deactivate(by=make_user(Role.MANAGER), member_id=member.pk)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


@pytest.mark.django_db
def test_signing_out_ends_a_cached_session(client):
    with override_settings(SESSION_ENGINE=CACHED_SESSIONS):
        client.force_login(make_user(Role.RECEPTION))
        cookie = client.cookies["sessionid"].value
        assert client.get(reverse("dashboard")).status_code == 200
        client.post(reverse("logout"))
        client.cookies["sessionid"] = cookie  # the old cookie, replayed
        assert client.get(reverse("dashboard")).status_code == 302


def _settings(monkeypatch, **env) -> dict:
    monkeypatch.setenv("DJANGO_DEBUG", "true")
    monkeypatch.delenv("CLINIC_CACHE_URL", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS))


def test_sessions_are_read_from_the_cache_only_when_every_process_shares_it(monkeypatch):
    """Each process's own memory would keep a session another process ended
    (a sign-out served by one worker, the stolen cookie replayed on another)."""
    assert _settings(monkeypatch)["SESSION_ENGINE"] == "django.contrib.sessions.backends.db"
    shared = _settings(monkeypatch, CLINIC_CACHE_URL="redis://127.0.0.1:6379/0")
    assert shared["SESSION_ENGINE"] == CACHED_SESSIONS
