import os

import pytest
from django.db import connection
from hypothesis import settings as hypothesis_settings

from sessions_app.models import Role

from .factories import make_nurse, make_physician, make_user

# CI replays the same generated examples each run (a red build is then about the
# change, not the dice); a developer's runs explore new ones.
hypothesis_settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Tests choose their own closed days: the public holidays a migration loads
    would make every date-based test depend on the day it runs."""
    from sessions_app.models import ClosedDay

    with django_db_blocker.unblock():
        ClosedDay.objects.all().delete()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test counts the check-in pages' requests from zero (the cache is
    in this process's memory and would carry counts from one test to the next)."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def reception(db):
    return make_user(Role.RECEPTION)


@pytest.fixture
def practitioner(db):
    """A physician (who may clear a condition that calls for caution)."""
    return make_physician()


@pytest.fixture
def nurse(db):
    """A nurse injector: treats, but cannot clear a condition that calls for caution."""
    return make_nurse()


@pytest.fixture
def manager(db):
    return make_user(Role.MANAGER)


@pytest.fixture
def manager_client(client, manager):
    """Django's test client signed in as a manager (the admin's user)."""
    client.force_login(manager)
    return client


def pytest_collection_modifyitems(config, items):
    """Tests marked postgres_only are skipped, with the reason, on SQLite."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def on_postgres():
    return connection.vendor == "postgresql"


# Browser tests (Playwright against the live server): the fixtures live in tests/browser.py.
from .browser import (  # noqa: E402, F401
    browser,
    new_page,
    page,
    reception_page,
    reference_data,
    sign_in_as,
    viewport,
)
