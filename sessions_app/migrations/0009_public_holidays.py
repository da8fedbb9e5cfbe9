"""Closed days: France's public holidays from 2026 to 2030, for a clinic on the
default CLINIC_TIME_ZONE (Europe/Paris). A manager edits them in the admin (a
clinic elsewhere deletes them and adds its own); booking moves sessions off them."""

import datetime as dt

from django.db import migrations

YEARS = range(2026, 2031)


def easter(year: int) -> dt.date:
    """Easter Sunday in the Gregorian calendar (the anonymous algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    leap = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * leap) // 451
    month, day = divmod(h + leap - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


def holidays(year: int) -> dict[dt.date, str]:
    sunday = easter(year)
    return {
        dt.date(year, 1, 1): "New Year's Day",
        sunday + dt.timedelta(days=1): "Easter Monday",
        dt.date(year, 5, 1): "Labour Day",
        dt.date(year, 5, 8): "Victory in Europe Day",
        sunday + dt.timedelta(days=39): "Ascension Day",
        sunday + dt.timedelta(days=50): "Whit Monday",
        dt.date(year, 7, 14): "Bastille Day",
        dt.date(year, 8, 15): "Assumption of Mary",
        dt.date(year, 11, 1): "All Saints' Day",
        dt.date(year, 11, 11): "Armistice Day",
        dt.date(year, 12, 25): "Christmas Day",
    }


def load(apps, schema_editor):
    ClosedDay = apps.get_model("sessions_app", "ClosedDay")
    for year in YEARS:
        for day, reason in holidays(year).items():
            ClosedDay.objects.get_or_create(date=day, defaults={"reason": reason})


def unload(apps, schema_editor):
    ClosedDay = apps.get_model("sessions_app", "ClosedDay")
    for year in YEARS:
        for day, reason in holidays(year).items():
            ClosedDay.objects.filter(date=day, reason=reason).delete()


class Migration(migrations.Migration):
    dependencies = [("sessions_app", "0008_data_guards")]

    operations = [migrations.RunPython(load, unload)]
