"""Settings read from the environment (clinic/settings.py), evaluated afresh."""

import runpy
from pathlib import Path

import pytest

SETTINGS = Path(__file__).resolve().parent.parent / "clinic" / "settings.py"


def settings_with(monkeypatch, **env) -> dict:
    monkeypatch.setenv("DJANGO_DEBUG", "true")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS))


@pytest.mark.parametrize("url", [None, "sqlite:////tmp/mesoclinic-elsewhere.sqlite3"])
def test_every_sqlite_database_serialises_writers(monkeypatch, url):
    # The booking service relies on IMMEDIATE transactions against double booking on SQLite.
    if url is None:
        monkeypatch.delenv("DATABASE_URL", raising=False)
    options = settings_with(monkeypatch, **({"DATABASE_URL": url} if url else {}))["DATABASES"]["default"]["OPTIONS"]
    assert options["transaction_mode"] == "IMMEDIATE"
    assert options["timeout"] == 20


def test_postgresql_gets_no_sqlite_options(monkeypatch):
    database = settings_with(monkeypatch, DATABASE_URL="postgres://postgres@127.0.0.1:5432/x")["DATABASES"]["default"]
    assert "transaction_mode" not in database.get("OPTIONS", {})


@pytest.mark.parametrize(("value", "level"), [(None, "INFO"), ("debug", "DEBUG"), (" Warning ", "WARNING")])
def test_the_log_level_is_any_spelling_of_a_standard_level(monkeypatch, value, level):
    """Python's logging accepts only upper case: "debug" stopped every command with a traceback."""
    if value is None:
        monkeypatch.delenv("DJANGO_LOG_LEVEL", raising=False)
    options = settings_with(monkeypatch, **({"DJANGO_LOG_LEVEL": value} if value else {}))
    assert options["LOGGING"]["root"]["level"] == level


def test_an_unknown_log_level_is_refused_by_name(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="DJANGO_LOG_LEVEL must be one of DEBUG, INFO"):
        settings_with(monkeypatch, DJANGO_LOG_LEVEL="verbose")


@pytest.mark.parametrize(("raw", "expected"), [(None, "day"), ("time", "time"), (" Day ", "day")])
def test_where_a_clashing_session_looks_first_is_a_setting(monkeypatch, raw, expected):
    if raw is None:
        monkeypatch.delenv("CLINIC_SERIES_CLASH_FIRST", raising=False)
    options = settings_with(monkeypatch, **({"CLINIC_SERIES_CLASH_FIRST": raw} if raw else {}))
    assert options["CLINIC_SERIES_CLASH_FIRST"] == expected


def test_a_misspelt_clash_setting_stops_the_app_with_the_reason(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="CLINIC_SERIES_CLASH_FIRST must be day or time"):
        settings_with(monkeypatch, CLINIC_SERIES_CLASH_FIRST="week")
