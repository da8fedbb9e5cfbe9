"""The calendar feed's time zone, read by two independent parsers.

Issue 18: the feed's VTIMEZONE listed the daylight-saving dates as one RDATE
with many values; vobject (and calendar programs built the same way) kept only
the first and showed summer sessions an hour off. The zone is now written as
STANDARD and DAYLIGHT rules with a yearly RRULE, which every reader handles.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import icalendar
import pytest
import vobject
from django.urls import reverse

from sessions_app.calendar_feed import calendar_token_rotate
from sessions_app.calendar_zone import vtimezone

from .factories import make_client, make_plan, make_session

PARIS = ZoneInfo("Europe/Paris")
SUMMER = dt.datetime(2026, 7, 14, 10, 0, tzinfo=PARIS)  # CEST, UTC+2
WINTER = dt.datetime(2026, 12, 8, 10, 0, tzinfo=PARIS)  # CET, UTC+1


@pytest.fixture
def feed(client, practitioner, monkeypatch) -> bytes:
    plan = make_plan(client=make_client(first_name="Inès"), practitioner=practitioner)
    make_session(plan=plan, starts_at=SUMMER, sequence=1)
    make_session(plan=plan, starts_at=WINTER, sequence=2)
    monkeypatch.setattr("sessions_app.calendar_feed.timezone.now", lambda: dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
    response = client.get(reverse("practitioner_feed", args=[calendar_token_rotate(user=practitioner)]))
    assert response.status_code == 200
    return response.content


def test_vobject_reads_summer_and_winter_sessions_at_their_local_time(feed):
    calendar = vobject.readOne(feed.decode())
    starts = sorted(event.dtstart.value for event in calendar.vevent_list)
    assert [(s.hour, s.minute, s.utcoffset()) for s in starts] == [
        (10, 0, dt.timedelta(hours=2)),
        (10, 0, dt.timedelta(hours=1)),
    ]
    assert [s.astimezone(dt.UTC) for s in starts] == [SUMMER.astimezone(dt.UTC), WINTER.astimezone(dt.UTC)]


def test_icalendar_reads_the_same_times_from_the_feeds_own_time_zone(feed):
    calendar = icalendar.Calendar.from_ical(feed)
    [zone] = calendar.timezones
    # The VTIMEZONE as written, not the zone icalendar would look up by its name.
    written = zone.to_tz(lookup_tzid=False)
    starts = sorted(event.start for event in calendar.events)
    assert starts == [SUMMER, WINTER]
    as_written = [s.replace(tzinfo=None).replace(tzinfo=written) for s in starts]
    assert [s.utcoffset() for s in as_written] == [dt.timedelta(hours=2), dt.timedelta(hours=1)]


def test_the_zone_is_rules_not_lists_of_dates(feed):
    calendar = icalendar.Calendar.from_ical(feed)
    [zone] = calendar.timezones
    assert zone["TZID"] == "Europe/Paris"
    observances = {c.name: c for c in zone.subcomponents}
    assert set(observances) == {"STANDARD", "DAYLIGHT"}
    assert "RDATE" not in feed.decode()
    # The last Sunday of March at 02:00, the last Sunday of October at 03:00.
    assert dict(observances["DAYLIGHT"]["RRULE"]) == {"FREQ": ["YEARLY"], "BYMONTH": [3], "BYDAY": ["-1SU"]}
    assert observances["DAYLIGHT"].DTSTART.time() == dt.time(2, 0)
    assert dict(observances["STANDARD"]["RRULE"]) == {"FREQ": ["YEARLY"], "BYMONTH": [10], "BYDAY": ["-1SU"]}
    assert observances["STANDARD"].DTSTART.time() == dt.time(3, 0)


# --- Other zones a clinic may set (CLINIC_TIME_ZONE), without the database ---------


def read_back(zone: ZoneInfo, moments: list[dt.datetime]) -> list[tuple[dt.datetime, dt.timedelta]]:
    """Events at `moments` in a calendar with vtimezone(zone), as vobject and
    icalendar (from the VTIMEZONE as written) read them: UTC time and offset."""
    calendar = icalendar.Calendar.new(prodid="-//test//test//EN")
    for number, moment in enumerate(moments):
        start = moment.astimezone(zone)
        calendar.add_component(
            icalendar.Event.new(uid=f"e{number}", start=start, end=start + dt.timedelta(minutes=45), stamp=moment)
        )
    calendar.add_component(vtimezone(zone, moments))
    text = calendar.to_ical()
    assert b"RDATE" not in text
    by_vobject = [e.dtstart.value for e in vobject.readOne(text.decode()).vevent_list]  # in the file's order
    parsed = icalendar.Calendar.from_ical(text)
    written = parsed.timezones[0].to_tz(lookup_tzid=False)
    by_icalendar = [e.start.replace(tzinfo=None).replace(tzinfo=written) for e in parsed.events]
    for vobject_start, icalendar_start in zip(by_vobject, by_icalendar, strict=True):
        assert (vobject_start.astimezone(dt.UTC), vobject_start.utcoffset()) == (
            icalendar_start.astimezone(dt.UTC),
            icalendar_start.utcoffset(),
        )
    return [(s.astimezone(dt.UTC), s.utcoffset()) for s in by_vobject]


def expected(zone: ZoneInfo, moments: list[dt.datetime]) -> list[tuple[dt.datetime, dt.timedelta]]:
    return [(m.astimezone(dt.UTC), m.astimezone(zone).utcoffset()) for m in moments]


@pytest.mark.parametrize(
    ("key", "daylight_byday", "standard_byday"),
    [
        ("Europe/Paris", "-1SU", "-1SU"),
        ("America/New_York", "2SU", "1SU"),  # second Sunday of March, first of November
        ("Australia/Sydney", "1SU", "1SU"),  # summer from October, winter from April
    ],
)
def test_a_zone_that_changes_every_year_alike_is_two_yearly_rules(key, daylight_byday, standard_byday):
    zone = ZoneInfo(key)
    moments = [dt.datetime(2026, month, 12, 9, 30, tzinfo=zone) for month in range(1, 13)]
    moments += [dt.datetime(2027, 6, 30, 17, tzinfo=zone)]
    assert read_back(zone, moments) == expected(zone, moments)
    written = icalendar.Timezone.from_ical(vtimezone(zone, moments).to_ical())
    rules = {c.name: c["RRULE"]["BYDAY"] for c in written.subcomponents}
    assert rules == {"DAYLIGHT": [daylight_byday], "STANDARD": [standard_byday]}


def test_the_minutes_either_side_of_each_change_are_read_right():
    """The hour the clocks go back (02:00-02:59 twice) is left out: a local time
    with a TZID cannot say which of the two it is, and RFC 5545 takes the first."""
    zone = ZoneInfo("Europe/Paris")
    spring, autumn = dt.datetime(2026, 3, 29, 1, tzinfo=dt.UTC), dt.datetime(2026, 10, 25, 1, tzinfo=dt.UTC)
    moments = [spring + dt.timedelta(minutes=delta) for delta in (-60, -1, 0, 59)]
    moments += [autumn + dt.timedelta(minutes=delta) for delta in (-61, -60, 60, 120)]
    assert read_back(zone, moments) == expected(zone, moments)


def test_a_zone_without_daylight_saving_is_one_standard_observance():
    zone = ZoneInfo("Asia/Tokyo")
    moments = [dt.datetime(2026, 1, 5, 9, tzinfo=zone), dt.datetime(2026, 7, 5, 9, tzinfo=zone)]
    assert read_back(zone, moments) == expected(zone, moments)
    [standard] = vtimezone(zone, moments).subcomponents
    assert (standard.name, standard["TZOFFSETTO"].td) == ("STANDARD", dt.timedelta(hours=9))


def test_a_zone_that_changed_its_rules_is_written_change_by_change():
    """Mexico City kept daylight saving until October 2022: no yearly rule holds
    over 2021-2024, so each change is an observance of its own."""
    zone = ZoneInfo("America/Mexico_City")
    moments = [dt.datetime(year, month, 15, 10, tzinfo=zone) for year in (2022, 2023) for month in (1, 6, 11)]
    assert read_back(zone, moments) == expected(zone, moments)
    assert not any("RRULE" in c for c in vtimezone(zone, moments).subcomponents)
