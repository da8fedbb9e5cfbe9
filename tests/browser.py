"""Playwright fixtures for browser tests: headless Chromium against pytest-django's
live server.

The machine has no network, so Playwright's own browser download is never used:
Debian's /usr/bin/chromium is launched instead. Fixtures (exposed to every test
through tests/conftest.py):

- ``browser``: one Chromium for the whole run (session scope).
- ``viewport``: the window size of ``page``; DESKTOP unless a test overrides it,
  e.g. ``@pytest.mark.parametrize("viewport", [TABLET], indirect=True)``.
- ``page``: a fresh browser context (no cookies) and page per test, at
  ``viewport``. It needs ``live_server``, so the test runs on a transactional
  database that the live server's thread can see.
- ``new_page``: more pages, each in its own context (two users at once).
- ``sign_in_as``: creates a user of a role and signs them in through the login
  form, in a new page; ``reception_page`` is that for reception.
- ``reference_data``: the rows the data migrations wrote (rooms, opening hours,
  mixtures, role groups...), put back if an earlier transactional test flushed
  them; every page fixture depends on it.

Playwright's sync API runs an asyncio loop in the main thread; Django then
refuses ORM calls from that thread ("You cannot call this from an async
context"). The ``browser`` fixture sets DJANGO_ALLOW_ASYNC_UNSAFE while Chromium
runs, the usual setup for Playwright with pytest-django, and restores it after.
"""

import importlib
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DESKTOP = {"width": 1366, "height": 900}
TABLET = {"width": 820, "height": 1180}
# Long enough for a page load on a slow CI machine, short enough to fail fast.
TIMEOUT_MS = 15_000


def launch_chromium(playwright):
    """Headless Debian Chromium, with everything that would reach the network off."""
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def sign_in(page, base_url: str, username: str, password: str) -> None:
    """Sign in through the real login form, as a person would, and wait to leave it."""
    page.goto(f"{base_url}/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"^(?!.*/login/).*$"))


@pytest.fixture(scope="session")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = launch_chromium(playwright)
            try:
                yield chromium
            finally:
                chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def reference_data(transactional_db) -> None:
    """A transactional test ends with a flush that empties every table, the data
    migrations' rows included, and the next test would find no room and no role.
    Put them back with the migrations' own code (idempotent: get_or_create)."""
    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType
    from django.db import transaction

    from sessions_app.models import OpeningHours, Role
    from sessions_app.roles import sync_role_groups

    if OpeningHours.objects.exists() and Group.objects.filter(name__in=Role.values).count() == len(Role):
        return
    with transaction.atomic():  # one commit, not one per row: a third of the time on PostgreSQL
        importlib.import_module("sessions_app.migrations.0002_reference_data").load(apps, None)
        importlib.import_module("sessions_app.migrations.0011_reminders").load_default_rules(apps)
        importlib.import_module("sessions_app.migrations.0018_reminder_rule_sms_text").load_default_sms_texts(apps)
        side_effects = importlib.import_module("sessions_app.migrations.0022_side_effect_course_check_ins_signal")
        side_effects.load_kinds(apps)
        side_effects.load_default_rules(apps)
        importlib.import_module("sessions_app.migrations.0026_protocols_and_doses").load(apps, None)
        ContentType.objects.clear_cache()
        for app_config in apps.get_app_configs():
            create_permissions(app_config, verbosity=0)
        sync_role_groups(Group, Permission)


@pytest.fixture
def viewport(request) -> dict:
    """The window size of `page`; parametrize indirectly to change it."""
    return dict(getattr(request, "param", DESKTOP))


@pytest.fixture
def new_page(browser, live_server, viewport, reference_data) -> Iterator[Callable]:
    """Opens pages, each in a new context (own cookies); all closed after the test,
    before the database is flushed. `base_url` is the live server's."""
    contexts = []

    def open_page(size: dict | None = None):
        context = browser.new_context(base_url=live_server.url, viewport=size or viewport, locale="en-GB")
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


# Known password of the users the browser tests sign in with.
BROWSER_PASSWORD = "browser-test-passphrase"


@pytest.fixture
def sign_in_as(new_page, live_server) -> Callable:
    """Creates a user of `role`, signs them in through the login form in a new
    page, and returns (page, user)."""
    from .factories import make_user

    def sign_in_role(role, size: dict | None = None, **fields):
        user = make_user(role, **fields)
        user.set_password(BROWSER_PASSWORD)
        user.save()
        signed_in = new_page(size)
        sign_in(signed_in, live_server.url, user.username, BROWSER_PASSWORD)
        return signed_in, user

    return sign_in_role


@pytest.fixture
def reception_page(sign_in_as):
    """A page signed in as a new reception user."""
    from sessions_app.models import Role

    signed_in, _user = sign_in_as(Role.RECEPTION)
    return signed_in
