"""Signing in and staying signed in: lockout, Argon2id, the idle timeout, sign
out, two-factor sign-in; and what every page answers with (no caching, CSP, no
stack traces)."""

import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from sessions_app import middleware
from sessions_app.models import Role, User

from .factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def sign_in(client, user, password=PASSWORD, follow=False):
    return client.post(reverse("login"), {"username": user.username, "password": password}, follow=follow)


# --- Lockout ------------------------------------------------------------------


def test_repeated_failures_lock_the_account_even_with_the_right_password(client, settings):
    user = make_user(Role.PRACTITIONER)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, user, "wrong-guess").status_code == 200  # the form again, with its error
    locked = sign_in(client, user, "wrong-guess")
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()
    right = sign_in(client, user)
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_lockout_is_per_account_and_a_manager_lifts_it(manager_client, settings):
    client = Client()  # the desk's browser; the manager signs in on another
    user, colleague = make_user(Role.RECEPTION), make_user(Role.RECEPTION)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, user, "wrong-guess")
    assert sign_in(client, colleague).status_code == 302  # the clinic's shared address locks no one else
    client.post(reverse("logout"))

    from axes.models import AccessAttempt

    attempt = AccessAttempt.objects.get(username=user.username)
    url = reverse("admin:axes_accessattempt_delete", args=[attempt.pk])
    assert manager_client.post(url, {"post": "yes"}).status_code == 302
    assert sign_in(client, user).status_code == 302


def test_the_lockout_ends_after_the_cool_off(client, settings):
    from axes.models import AccessAttempt
    from django.utils import timezone

    user = make_user(Role.RECEPTION)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, user, "wrong-guess")
    assert sign_in(client, user).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME)
    assert sign_in(client, user).status_code == 302


# --- Passwords ----------------------------------------------------------------


def test_production_hashes_passwords_with_argon2id_and_upgrades_old_hashes(client, settings):
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]
    user = make_user(Role.RECEPTION)
    user.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    user.save()
    assert sign_in(client, user).status_code == 302
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$")
    assert check_password(PASSWORD, user.password)


def test_the_password_validators_refuse_weak_passwords(client):
    """On the page where staff choose their password (the one-time link of
    the staff page; the admin no longer sets passwords)."""
    from sessions_app.services.staff import password_link

    user = make_user(Role.RECEPTION)
    url = client.get(password_link(user, base_url=""), follow=True).redirect_chain[-1][0]
    for weak, message in [("short", "too short"), ("12345678901", "entirely numeric"), ("password123", "too common")]:
        response = client.post(url, {"new_password1": weak, "new_password2": weak})
        assert message in response.content.decode()


# --- Staying signed in --------------------------------------------------------


def test_a_session_idle_longer_than_the_limit_is_signed_out(client, monkeypatch):
    user = make_user(Role.RECEPTION)
    sign_in(client, user)
    assert client.get(reverse("schedule")).status_code == 200
    now = time.time()
    monkeypatch.setattr(middleware.time, "time", lambda: now + (settings.CLINIC_SESSION_IDLE_MINUTES - 1) * 60)
    assert client.get(reverse("schedule")).status_code == 200  # still working: the session is renewed
    renewed = now + (settings.CLINIC_SESSION_IDLE_MINUTES - 1) * 60
    monkeypatch.setattr(middleware.time, "time", lambda: renewed + settings.CLINIC_SESSION_IDLE_MINUTES * 60 - 30)
    assert client.get(reverse("schedule")).status_code == 200  # 14.5 minutes after the last request
    later = renewed + settings.CLINIC_SESSION_IDLE_MINUTES * 60 - 30 + settings.CLINIC_SESSION_IDLE_MINUTES * 60 + 1
    monkeypatch.setattr(middleware.time, "time", lambda: later)
    response = client.get(reverse("schedule"), follow=True)
    assert response.redirect_chain[0][0].startswith(reverse("login"))
    assert "signed out after 15 minutes without activity" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_signing_out_ends_the_session_on_the_server(client):
    user = make_user(Role.PRACTITIONER)
    sign_in(client, user)
    key = client.session.session_key
    assert Session.objects.filter(session_key=key).exists()
    assert client.post(reverse("logout")).status_code == 302
    assert not Session.objects.filter(session_key=key).exists()
    client.cookies[settings.SESSION_COOKIE_NAME] = key  # the old cookie, replayed
    assert client.get(reverse("schedule")).status_code == 302


def test_pages_for_signed_in_staff_are_never_cached_and_carry_the_csp(client):
    client.force_login(make_user(Role.RECEPTION))
    response = client.get(reverse("schedule"))
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"


# --- Two-factor sign-in -------------------------------------------------------


def code(device: TOTPDevice, drift: int = 0) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=drift):06d}"


def test_when_the_clinic_requires_it_a_practitioner_sets_up_an_authenticator(client, settings):
    settings.CLINIC_REQUIRE_2FA = True
    user = make_user(Role.PRACTITIONER)
    response = sign_in(client, user, follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("two_factor_setup"))
    assert "<svg" in response.content.decode()  # the QR code, drawn by the app itself
    assert client.get(reverse("schedule")).status_code == 302  # every page leads to the set-up
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    wrong = client.post(reverse("two_factor_setup"), {"token": "000000"})
    assert "That code is wrong" in wrong.content.decode()
    too_fast = client.post(reverse("two_factor_setup"), {"token": code(device)})
    assert "wait a few seconds" in too_fast.content.decode()
    device.refresh_from_db()
    device.throttle_reset()  # the few seconds a person takes
    done = client.post(reverse("two_factor_setup"), {"token": code(device), "next": "/schedule/"})
    assert done.status_code == 302 and done["Location"] == "/schedule/"
    assert client.get(reverse("schedule")).status_code == 200
    device.refresh_from_db()
    assert device.confirmed


def test_a_user_with_an_authenticator_gives_a_code_at_each_sign_in(client, settings):
    user = make_user(Role.MANAGER)
    device = TOTPDevice.objects.create(user=user, name="Phone", confirmed=True)
    response = sign_in(client, user, follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("two_factor_verify"))
    assert client.get(reverse("client_search")).status_code == 302
    assert client.get(reverse("admin:index")).status_code == 302  # the admin too
    assert "That code is wrong" in client.post(reverse("two_factor_verify"), {"token": "123456"}).content.decode()
    device.refresh_from_db()
    device.throttle_reset()
    assert client.post(reverse("two_factor_verify"), {"token": code(device)}).status_code == 302
    assert client.get(reverse("client_search")).status_code == 200


def test_reception_is_not_asked_for_a_second_factor_unless_it_chose_one(client, settings):
    settings.CLINIC_REQUIRE_2FA = True
    user = make_user(Role.RECEPTION)
    assert sign_in(client, user)["Location"] == reverse("dashboard")
    assert client.get(reverse("schedule")).status_code == 200


def test_the_admin_has_no_sign_in_of_its_own(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


# --- Production settings ------------------------------------------------------


def test_the_deployment_check_passes_with_production_settings(tmp_path):
    """`manage.py check --deploy --fail-level WARNING` with DEBUG off and a real secret."""
    env = PRODUCTION | {"DJANGO_ALLOWED_HOSTS": "clinic.example.org", "DATABASE_URL": ""}
    manage = Path(settings.BASE_DIR) / "manage.py"
    result = subprocess.run(
        [sys.executable, str(manage), "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


PRODUCTION = {
    "PATH": "/usr/bin:/bin",
    "DJANGO_DEBUG": "false",
    "DJANGO_SETTINGS_MODULE": "clinic.settings",
    "DJANGO_SECRET_KEY": "a-real-secret-" + "x7Qm2pZ9" * 8,
    "CLINIC_BASE_URL": "https://clinic.example.org",
    "CLINIC_SMS_BACKEND": "http",
    "CLINIC_SMS_URL": "https://sms.example.org/send",
    "CLINIC_CACHE_URL": "redis://127.0.0.1:6379/0",
}


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("DJANGO_SECRET_KEY", "DJANGO_SECRET_KEY is not set"),
        # Defaults that would put dead links in messages, or mark SMS sent that nobody receives.
        ("CLINIC_BASE_URL", "CLINIC_BASE_URL is not set"),
        ("CLINIC_SMS_BACKEND", "CLINIC_SMS_BACKEND is not set"),
    ],
)
def test_production_refuses_to_start_without_what_it_cannot_guess(missing, message):
    """Serving (the WSGI application gunicorn loads), sending reminders and the
    deployment check refuse; maintenance commands still run."""
    env = {name: value for name, value in PRODUCTION.items() if name != missing}

    def run(*args, env):
        return subprocess.run(args, env=env, cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=120)

    started = run(sys.executable, "-c", "import clinic.wsgi", env=PRODUCTION)
    assert started.returncode == 0, started.stderr
    result = run(sys.executable, "-c", "import clinic.wsgi", env=env)
    assert result.returncode != 0 and message in result.stderr
    manage = str(Path(settings.BASE_DIR) / "manage.py")
    sending = run(sys.executable, manage, "send_reminders", env=env)
    assert sending.returncode != 0 and message in sending.stderr and "Traceback" not in sending.stderr
    deploy = run(sys.executable, manage, "check", "--deploy", env=env)
    assert deploy.returncode != 0 and message in deploy.stderr
    assert run(sys.executable, manage, "makemigrations", "--check", "--dry-run", env=env).returncode == 0


def test_maintenance_commands_run_with_nothing_set():
    """A fresh clone, no environment at all: checking the migrations needs no
    secret (only serving and sending do)."""
    manage = str(Path(settings.BASE_DIR) / "manage.py")
    result = subprocess.run(
        [sys.executable, manage, "makemigrations", "--check", "--dry-run"],
        env={"PATH": "/usr/bin:/bin"},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes detected" in result.stdout


def test_an_error_shows_a_plain_page_not_a_stack_trace(client, monkeypatch):
    from sessions_app.views import schedule

    client.force_login(make_user(Role.RECEPTION))
    client.raise_request_exception = False

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals: SELECT * FROM sessions_app_client")

    monkeypatch.setattr(schedule, "annotate_badges", broken)
    response = client.get(reverse("schedule"))
    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong" in page and "secret internals" not in page and "Traceback" not in page


def test_a_new_user_gets_no_role_and_sees_nothing_clinical(client):
    user = User.objects.create_user(username="newcomer", password=PASSWORD)
    client.force_login(user)
    assert client.get(reverse("dashboard")).status_code == 200
    for name in ("schedule", "client_search", "side_effect_list", "lot_search", "call_list"):
        assert client.get(reverse(name)).status_code == 403, name


def test_no_one_reads_another_persons_authenticator_secret_in_the_admin(manager_client):
    device = TOTPDevice.objects.create(user=make_user(Role.PRACTITIONER), name="Phone", confirmed=True)
    for view in ("config", "qrcode"):
        url = reverse(f"admin:otp_totp_totpdevice_{view}", kwargs={"pk": device.pk})
        assert manager_client.get(url).status_code == 403
    page = manager_client.get(reverse("admin:otp_totp_totpdevice_change", args=[device.pk])).content.decode()
    assert device.key not in page
    delete = reverse("admin:otp_totp_totpdevice_delete", args=[device.pk])
    assert manager_client.post(delete, {"post": "yes"}).status_code == 302  # a lost phone is removed
    assert not TOTPDevice.objects.filter(pk=device.pk).exists()
