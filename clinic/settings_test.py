"""Settings for the test suite: the real settings, with a fast password hasher
and a fixed key. DATABASE_URL still chooses SQLite or PostgreSQL."""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")
os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("CLINIC_BASE_URL", "http://clinic.test")
os.environ.setdefault("CLINIC_SMS_BACKEND", "console")

from clinic.settings import *  # noqa: E402,F403

# Photos uploaded by the tests go to a folder of this run's own.
MEDIA_ROOT = Path(tempfile.gettempdir()) / f"mesoclinic-test-media-{os.getpid()}"  # noqa: F405

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
# Tests render templates without running collectstatic first.
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
# The test client and the live server speak plain HTTP.
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_SSL_REDIRECT = False

# Threads in the concurrency tests need their own connections to one database:
# SQLite's shared in-memory test database locks whole tables and fails at once,
# where a file waits its turn. One file per test process, so runs do not collide.
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": f"/tmp/mesoclinic-test-{os.getpid()}.sqlite3"}  # noqa: F405
else:
    # A test database is thrown away: commits need not wait for the disk. Same
    # visibility and locking, so the concurrency tests prove the same thing.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c synchronous_commit=off")  # noqa: F405
