import os
import shutil
import uuid
from pathlib import Path

import pytest
from django.db import connection
from hypothesis import settings as hypothesis_settings

from sessions_app.models import Role

from .factories import make_nurse, make_physician, make_user
from .sinks import SmtpSink

# CI replays the same generated examples each run (a red build is then about the
# change, not the dice); a developer's runs explore new ones.
hypothesis_settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


def pytest_configure(config):
    """Names this run for tests/databases.py, before pytest-xdist starts its
    workers (they inherit the environment): with --create-db, the first worker
    rebuilds the template and the others use it."""
    if not hasattr(config, "workerinput"):
        os.environ["MESOCLINIC_TEST_RUN"] = uuid.uuid4().hex


def pytest_sessionfinish(session):
    """The photos this test process uploaded (clinic/settings_test.py gives it a
    folder of its own) go with it."""
    from django.conf import settings

    media = Path(settings.MEDIA_ROOT)
    if media.name.startswith("mesoclinic-test-media-"):
        shutil.rmtree(media, ignore_errors=True)


@pytest.fixture(scope="session")
def django_db_setup(
    request,
    django_test_environment,
    django_db_blocker,
    django_db_modify_db_settings,
    django_db_use_migrations,
    django_db_createdb,
):
    """pytest-django's test database setup, from a copy of a template migrated
    once (tests/databases.py) instead of through every migration each run.
    Each test process gets its own copy and drops it at the end (--reuse-db is
    not needed: the copy takes well under a second).

    Tests choose their own closed days: the public holidays a migration loads
    would make every date-based test depend on the day it runs."""
    from django.test.utils import setup_databases, teardown_databases
    from pytest_django.fixtures import _disable_migrations, _get_databases_for_setup

    from sessions_app.models import ClosedDay

    from .databases import copy_templates, delete_instead_of_truncate

    verbosity = request.config.option.verbose
    aliases, serialized_aliases = _get_databases_for_setup(request.session.items)
    with pytest.MonkeyPatch.context() as patch:
        delete_instead_of_truncate(patch)
        with django_db_blocker.unblock():
            if django_db_use_migrations:
                copy_templates(aliases, os.environ["MESOCLINIC_TEST_RUN"], rebuild=django_db_createdb)
            else:
                _disable_migrations()  # --no-migrations: tables straight from the models, as pytest-django does
            # keepdb: Django finds the copy and runs migrate on it, which has nothing to apply.
            config = setup_databases(
                verbosity=verbosity,
                interactive=False,
                keepdb=django_db_use_migrations,
                aliases=aliases,
                serialized_aliases=serialized_aliases,
            )
            ClosedDay.objects.all().delete()
        yield
        with django_db_blocker.unblock():
            teardown_databases(config, verbosity=verbosity)


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


@pytest.fixture
def sink(settings):
    """A real SMTP server on loopback that keeps what it receives, as Django's mailer."""
    server = SmtpSink().start()
    settings.MAILERS = server.mailers()
    yield server
    server.stop()


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
