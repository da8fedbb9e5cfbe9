"""Mesoclinic settings.

Everything that differs between a laptop and a clinic's server comes from the
environment, read through the small strict helpers below. With nothing set the
app is in production mode: maintenance commands (migrate, makemigrations,
check) run, but it refuses to serve or send reminders without a real secret
key, CLINIC_BASE_URL and CLINIC_SMS_BACKEND (clinic/startup.py); `make run`
sets DJANGO_DEBUG=true for local use.
"""

import datetime as dt
import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dj_database_url
import phonenumbers
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    """A string from the environment, or from the file named by NAME_FILE (for
    secrets mounted by a container runtime or systemd credentials)."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_name!r}: {exc}") from exc
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    """Only true/false spellings: a typo must not silently switch DEBUG on."""
    raw = os.environ.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in ("true", "1", "yes", "on"):
        return True
    if raw in ("false", "0", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)

# What serving pages and sending messages need in production and nothing else
# does: makemigrations, migrate or check run without it. clinic/startup.py
# refuses to serve (wsgi.py, asgi.py) or send (send_reminders) while any of it
# is missing, and `check --deploy` lists it.
CLINIC_UNSET_FOR_PRODUCTION: list[str] = []

SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        CLINIC_UNSET_FOR_PRODUCTION.append(
            "DJANGO_SECRET_KEY is not set. Set it (or DJANGO_SECRET_KEY_FILE), "
            "or set DJANGO_DEBUG=true for local development."
        )
    # Development only: nothing is served or sent with it when DEBUG is off.
    SECRET_KEY = "django-insecure-dev-only-key-not-for-production"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    # django.contrib.admin, with a site that answers "Not allowed" to signed-in
    # staff it does not let in (clinic/admin_site.py).
    "clinic.admin_site.ClinicAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # The project itself, for its runserver, which says what production settings
    # are missing and exits (clinic/management/commands/runserver.py); before
    # whitenoise's, which it extends, as the first app to name a command wins.
    "clinic",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "simple_history",
    # django-axes and django-otp's TOTP, named as the clinic says it (clinic/apps.py).
    "clinic.apps.SignInLockoutsConfig",
    "django_otp",
    "clinic.apps.AuthenticatorsConfig",
    "sessions_app",
    "devtools",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): whether this session passed its second factor.
    "django_otp.middleware.OTPMiddleware",
    # Every page needs a signed-in user unless its view says login_not_required
    # (the login page, the secret-URL calendar feed): health data is private by default.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Signs out a session left idle for CLINIC_SESSION_IDLE_MINUTES.
    "sessions_app.middleware.IdleTimeoutMiddleware",
    # Practitioners and managers finish signing in with their second factor
    # when the clinic requires it; pages for signed-in staff are never cached.
    "sessions_app.middleware.TwoFactorMiddleware",
    "sessions_app.middleware.NoStoreMiddleware",
    # Records the signed-in user on every history row of a clinical record.
    "simple_history.middleware.HistoryRequestMiddleware",
    # Locks an account out after repeated failed sign-ins; last, as it asks.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "clinic.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "sessions_app.context_processors.roles",
            ],
        },
    },
]

WSGI_APPLICATION = "clinic.wsgi.application"

# Empty DATABASE_URL: the embedded SQLite file beside manage.py.
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Any SQLite file, named by DATABASE_URL or not. IMMEDIATE transactions take
    # the write lock at BEGIN, so two writers serialise instead of failing with
    # "database is locked" mid-way: the booking service relies on it against
    # double booking. Options given in the URL win.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        **DATABASES["default"].get("OPTIONS", {}),
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "sessions_app.User"

AUTHENTICATION_BACKENDS = [
    # Refuses a locked-out account before the password is even checked.
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, reading a user's permissions and roles in one query.
    "sessions_app.roles.RoleBackend",
]
# Argon2id for new and changed passwords; older hashes are upgraded at sign-in.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
USE_I18N = True
USE_TZ = True
# The clinic's wall clock: opening hours, schedules and reminder times are in it.
TIME_ZONE = env_str("CLINIC_TIME_ZONE", "Europe/Paris")
try:
    ZoneInfo(TIME_ZONE)
except (ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(f"CLINIC_TIME_ZONE {TIME_ZONE!r} is not a known time zone") from None

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Uploaded files (clinical photos) are never served from a public URL; views
# that check permissions stream them.
MEDIA_ROOT = Path(env_str("DJANGO_MEDIA_ROOT", str(BASE_DIR / "media")))
# Clinical photos are readable by the app's own user only.
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
# The largest before/after photo a practitioner may upload.
CLINIC_PHOTO_MAX_MB = env_int("CLINIC_PHOTO_MAX_MB", 10)
if not 1 <= CLINIC_PHOTO_MAX_MB <= 100:
    raise ImproperlyConfigured("CLINIC_PHOTO_MAX_MB must be between 1 and 100")
CLINIC_PHOTO_MAX_BYTES = CLINIC_PHOTO_MAX_MB * 1024 * 1024

# The reason given for a change (an amendment's, up to 2,000 characters) is kept
# whole on every history row: a text column, not simple-history's varchar(100).
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

# Django's form renderer, with <select> written in Python (a long list of options
# cost more than a page's queries): sessions_app/form_renderer.py.
FORM_RENDERER = "sessions_app.form_renderer.FormRenderer"
CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Email through Django 6.1's MAILERS: SMTP in production, the console in
# development. DJANGO_EMAIL_BACKEND may name any backend (for example
# django.core.mail.backends.filebased.EmailBackend); the host options apply to SMTP.
_EMAIL_BACKEND = env_str(
    "DJANGO_EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
_EMAIL_OPTIONS = {}
if _EMAIL_BACKEND.endswith("smtp.EmailBackend"):
    _EMAIL_OPTIONS = {
        "host": env_str("DJANGO_EMAIL_HOST", "localhost"),
        "port": env_int("DJANGO_EMAIL_PORT", 25),
        "username": env_str("DJANGO_EMAIL_HOST_USER"),
        "password": env_str("DJANGO_EMAIL_HOST_PASSWORD"),
        "use_tls": env_bool("DJANGO_EMAIL_USE_TLS", False),
        "timeout": env_int("DJANGO_EMAIL_TIMEOUT", 10),
    }
MAILERS = {"default": {"BACKEND": _EMAIL_BACKEND, "OPTIONS": _EMAIL_OPTIONS}}
DEFAULT_FROM_EMAIL = env_str("DJANGO_DEFAULT_FROM_EMAIL", "Mesoclinic <clinic@localhost>")

CLINIC_NAME = env_str("CLINIC_NAME", "Mesoclinic")
# The longest series reception may book in one go (the database allows up to 30).
CLINIC_MAX_SERIES_SESSIONS = env_int("CLINIC_MAX_SERIES_SESSIONS", 15)
if not 1 <= CLINIC_MAX_SERIES_SESSIONS <= 30:
    raise ImproperlyConfigured("CLINIC_MAX_SERIES_SESSIONS must be between 1 and 30")
CLINIC_SESSION_MINUTES = env_int("CLINIC_SESSION_MINUTES", 45)
# Where a series session whose date clashes looks first: "day", the same time on
# the nearest day; "time", the nearest time on the same day (the other next).
CLINIC_SERIES_CLASH_FIRST = env_str("CLINIC_SERIES_CLASH_FIRST", "day").strip().lower()
if CLINIC_SERIES_CLASH_FIRST not in ("day", "time"):
    raise ImproperlyConfigured(f"CLINIC_SERIES_CLASH_FIRST must be day or time, not {CLINIC_SERIES_CLASH_FIRST!r}")
# How long a clinical record is kept after the last treatment, even when the
# client asks to be forgotten (France: 20 years for a medical record).
CLINIC_RECORD_RETENTION_YEARS = env_int("CLINIC_RECORD_RETENTION_YEARS", 20)
if not 1 <= CLINIC_RECORD_RETENTION_YEARS <= 100:
    raise ImproperlyConfigured("CLINIC_RECORD_RETENTION_YEARS must be between 1 and 100")
# A screening older than this must be renewed before the next session.
CLINIC_SCREENING_MAX_AGE_MONTHS = env_int("CLINIC_SCREENING_MAX_AGE_MONTHS", 12)
if CLINIC_SCREENING_MAX_AGE_MONTHS < 1:
    raise ImproperlyConfigured("CLINIC_SCREENING_MAX_AGE_MONTHS must be at least 1")

# The region a phone number typed without its country code belongs to (ISO 3166 code:
# FR, BE, CH...); numbers are stored in the international E.164 form and shown in
# this region's national format.
CLINIC_PHONE_REGION = env_str("CLINIC_PHONE_REGION", "FR").strip().upper()
if CLINIC_PHONE_REGION not in phonenumbers.SUPPORTED_REGIONS:
    raise ImproperlyConfigured("CLINIC_PHONE_REGION must be a two-letter country code, such as FR, BE or CH")

# --- Reports (sessions_app.reports) -----------------------------------------------
# A cancellation this close to the session (or closer) is a late one.
CLINIC_LATE_CANCELLATION_HOURS = env_int("CLINIC_LATE_CANCELLATION_HOURS", 24)
if not 1 <= CLINIC_LATE_CANCELLATION_HOURS <= 7 * 24:
    raise ImproperlyConfigured("CLINIC_LATE_CANCELLATION_HOURS must be between 1 and 168")
# A series session more than this many days after its due date (the session
# before it plus the plan's interval) is late.
CLINIC_SERIES_LATE_TOLERANCE_DAYS = env_int("CLINIC_SERIES_LATE_TOLERANCE_DAYS", 3)
if not 0 <= CLINIC_SERIES_LATE_TOLERANCE_DAYS <= 60:
    raise ImproperlyConfigured("CLINIC_SERIES_LATE_TOLERANCE_DAYS must be between 0 and 60")

# --- Reminders (sessions_app.reminders) ---------------------------------------
# Where the app is reached from outside: the base of the unsubscribe links in messages.
# Production must say it: a default would put dead links in every message.
CLINIC_BASE_URL = env_str("CLINIC_BASE_URL", "http://127.0.0.1:8000" if DEBUG else "").rstrip("/")
if not CLINIC_BASE_URL:
    CLINIC_UNSET_FOR_PRODUCTION.append(
        "CLINIC_BASE_URL is not set: the address clients reach the app at (https://...), for the links in messages."
    )
elif not CLINIC_BASE_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(f"CLINIC_BASE_URL must start with http:// or https://, not {CLINIC_BASE_URL!r}")


def _positive(name: str, default: int) -> int:
    value = env_int(name, default)
    if value < 1:
        raise ImproperlyConfigured(f"{name} must be at least 1, not {value}")
    return value


# A failed email or SMS is tried again, waiting BACKOFF seconds, then twice as
# long each time (at most BACKOFF_MAX), until MAX_ATTEMPTS tries have failed.
CLINIC_REMINDER_MAX_ATTEMPTS = _positive("CLINIC_REMINDER_MAX_ATTEMPTS", 5)
CLINIC_REMINDER_BACKOFF_SECONDS = _positive("CLINIC_REMINDER_BACKOFF_SECONDS", 300)
CLINIC_REMINDER_BACKOFF_MAX_SECONDS = _positive("CLINIC_REMINDER_BACKOFF_MAX_SECONDS", 6 * 3600)
# A reminder left "sending" this long (its worker died mid-send) is tried again.
CLINIC_REMINDER_SENDING_TIMEOUT_SECONDS = _positive("CLINIC_REMINDER_SENDING_TIMEOUT_SECONDS", 900)
# `send_reminders --loop` waits this long between rounds.
CLINIC_REMINDER_LOOP_SECONDS = _positive("CLINIC_REMINDER_LOOP_SECONDS", 60)
# Reminders that fell due longer ago than this (first start, long downtime) are not created.
CLINIC_REMINDER_CATCH_UP_DAYS = _positive("CLINIC_REMINDER_CATCH_UP_DAYS", 7)


def _quiet_hours(name: str, default: str) -> tuple[dt.time, dt.time] | None:
    """ "21:00-08:00" (clinic time, may run past midnight); empty for none."""
    raw = env_str(name, default).strip()
    if not raw:
        return None
    try:
        start, end = (dt.time.fromisoformat(part.strip()) for part in raw.split("-"))
    except ValueError:
        raise ImproperlyConfigured(f"{name} must look like 21:00-08:00 (or be empty), not {raw!r}") from None
    if start == end:
        raise ImproperlyConfigured(f"{name}: the quiet hours start and end at the same time")
    return start, end


# No SMS in these hours, on the clinic's clock: an SMS due then waits for the end.
CLINIC_REMINDER_QUIET_HOURS = _quiet_hours("CLINIC_REMINDER_QUIET_HOURS", "21:00-08:00")

# SMS: "console" (print), "file" (one JSON line per message in CLINIC_SMS_FILE_PATH),
# "http" (a gateway: CLINIC_SMS_URL, CLINIC_SMS_TOKEN), or a dotted path to a class
# with send(to, body) (see sessions_app/reminders/sms.py).
# Production must choose: the console would mark SMS sent that no one receives.
CLINIC_SMS_BACKEND = env_str("CLINIC_SMS_BACKEND", "console" if DEBUG else "")
if not CLINIC_SMS_BACKEND:
    CLINIC_UNSET_FOR_PRODUCTION.append(
        "CLINIC_SMS_BACKEND is not set: http (your SMS gateway, with CLINIC_SMS_URL and CLINIC_SMS_TOKEN), "
        "file, or console (these two deliver nothing to clients)."
    )
CLINIC_SMS_FILE_PATH = Path(env_str("CLINIC_SMS_FILE_PATH", str(BASE_DIR / "sms-outbox.jsonl")))
CLINIC_SMS_URL = env_str("CLINIC_SMS_URL")
CLINIC_SMS_TOKEN = env_str("CLINIC_SMS_TOKEN")
CLINIC_SMS_TIMEOUT = _positive("CLINIC_SMS_TIMEOUT", 10)
if CLINIC_SMS_BACKEND == "http" and not CLINIC_SMS_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured("CLINIC_SMS_BACKEND=http needs CLINIC_SMS_URL, an http:// or https:// address")

# --- The clients' check-in pages (sessions_app.views.check_in) ----------------------
# The cache the check-in pages count requests in, to rate-limit them. Empty: in
# the memory of each process, enough for one process (development, the tests);
# a server with several processes or machines shares one Redis
# ("redis://127.0.0.1:6379/0"), or each process counts only its own requests
# (check --deploy warns).
CLINIC_CACHE_URL = env_str("CLINIC_CACHE_URL")
if CLINIC_CACHE_URL:
    if not CLINIC_CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(f"CLINIC_CACHE_URL must be a redis:// address, not {CLINIC_CACHE_URL!r}")
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CLINIC_CACHE_URL,
            "KEY_PREFIX": "mesoclinic",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "mesoclinic"}}
# Requests one address may make to the check-in pages in 10 minutes, and
# answers one link may be sent in that time (a client on a phone reloads, a
# guesser tries links).
CLINIC_CHECK_IN_RATE_LIMIT = _positive("CLINIC_CHECK_IN_RATE_LIMIT", 30)

# --- Sign-in and sessions -------------------------------------------------------
# A session ends after this many minutes without a request
# (sessions_app.middleware.IdleTimeoutMiddleware), when the browser closes, and
# in any case after a working day.
CLINIC_SESSION_IDLE_MINUTES = env_int("CLINIC_SESSION_IDLE_MINUTES", 15)
if not 1 <= CLINIC_SESSION_IDLE_MINUTES <= 24 * 60:
    raise ImproperlyConfigured("CLINIC_SESSION_IDLE_MINUTES must be between 1 and 1440")
SESSION_COOKIE_AGE = 12 * 60 * 60
# With a shared cache (CLINIC_CACHE_URL: one Redis for every process), a
# session is read from it rather than from the database on every page, and
# written to both; signing out deletes it from both. The session holds who is
# signed in and when they were last active, no clinical data; the user, and so
# their being active and their roles, is still read from the database on every
# request. Without a shared cache, a session deleted by one process would live
# on in another's memory: then the database alone.
SESSION_ENGINE = (
    "django.contrib.sessions.backends.cached_db" if CLINIC_CACHE_URL else "django.contrib.sessions.backends.db"
)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Repeated failed sign-ins lock the account (django-axes) for a while.
AXES_FAILURE_LIMIT = env_int("CLINIC_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int("CLINIC_LOGIN_LOCKOUT_MINUTES", 15))
# An account is locked after that many failures from anywhere (password
# guessing). Not by address or browser: reception shares one computer and the
# clinic one address, and a colleague's typos must not lock everyone out. Axes
# warns about that choice (axes.W006), which is silenced below on purpose.
AXES_LOCKOUT_PARAMETERS = ["username"]
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
# A success does not wipe the failures: with a shared browser or address, a
# valid account of one's own must not reset the count against another.
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_USERNAME_FORM_FIELD = "username"
AXES_VERBOSE = False

# Two-factor sign-in (TOTP): practitioners and managers must use it when the
# clinic turns this on; anyone may set it up.
CLINIC_REQUIRE_2FA = env_bool("CLINIC_REQUIRE_2FA", False)
OTP_TOTP_ISSUER = env_str("CLINIC_NAME", "Mesoclinic")
# Nobody, managers included, may read another person's authenticator secret in
# the admin; a manager can only remove a lost one.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# --- HTTPS and browser protections -----------------------------------------------
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (only then).
if env_bool("DJANGO_BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Every script, style sheet and image comes from this site (no CDN); no inline
# script. Inline style attributes are allowed (progress bars, Bootstrap's own).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# What the app, Django and the libraries log to standard error, from this level up.
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_log_level = env_str("DJANGO_LOG_LEVEL", "INFO")
LOG_LEVEL = _log_level.strip().upper()
if LOG_LEVEL not in LOG_LEVELS:
    raise ImproperlyConfigured(f"DJANGO_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {_log_level!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
}
