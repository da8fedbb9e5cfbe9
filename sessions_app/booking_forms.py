"""Forms reception uses to book a series and to move a session."""

import datetime as dt
import json

from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Column, Field, Layout, Row
from django import forms
from django.conf import settings
from django.utils import timezone

from sessions_app.models import (
    Client,
    Indication,
    Mixture,
    OpeningHours,
    Room,
    TreatmentArea,
    User,
)
from sessions_app.models.plans import INTERVAL_DAYS_MAX, MAINTENANCE_INTERVAL_DAYS_MAX
from sessions_app.scheduling import IntervalUnit, add_interval, bookable_until, period_minutes
from sessions_app.services.slots import practitioners


def longest_opening_minutes() -> int:
    """The longest single opening period, in minutes: no session can be longer."""
    periods = OpeningHours.objects.values_list("opens", "closes")
    return max((period_minutes(opens, closes) for opens, closes in periods), default=0)


def local_start(day: dt.date, time: dt.time) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, time))


def check_bookable(form: forms.Form, field: str, day: dt.date | None, time: dt.time | None, past: str) -> None:
    """The error beside `field` when a session cannot be booked on `day` at
    `time`: in the past (`past` says so), or beyond the booking horizon. Dates
    are compared before times, so year 1 or 9999 never reaches the arithmetic."""
    if not day or not time:
        return
    today, last = timezone.localdate(), bookable_until(timezone.localdate())
    if day < today or (day == today and local_start(day, time) < timezone.now()):
        form.add_error(field, past)
    elif day > last:
        form.add_error(field, f"Sessions can be booked up to {last:%d/%m/%Y} (two years ahead), not later.")


# A browser's date and time inputs take ISO values only, whatever the language.
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME_INPUT = forms.TimeInput(attrs={"type": "time", "step": 900}, format="%H:%M")


class PractitionerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.username


class SeriesForm(forms.Form):
    """What reception types to book a series; the preview is computed from it."""

    client = forms.ModelChoiceField(
        queryset=Client.objects.active(),
        widget=forms.HiddenInput,
        error_messages={
            "required": "Choose the client: search by name and pick one.",
            "invalid_choice": "That client does not exist or is archived.",
        },
    )
    indication = forms.ModelChoiceField(queryset=Indication.objects.filter(active=True))
    areas = forms.ModelMultipleChoiceField(
        queryset=TreatmentArea.objects.filter(active=True), widget=forms.CheckboxSelectMultiple
    )
    mixture = forms.ModelChoiceField(queryset=Mixture.objects.filter(active=True))
    practitioner = PractitionerChoiceField(queryset=User.objects.none())
    room = forms.ModelChoiceField(
        queryset=Room.objects.filter(active=True),
        error_messages={"invalid_choice": "Unknown room: choose one of the clinic's rooms."},
    )
    # sessions: set in __init__, its maximum comes from the settings.
    interval = forms.IntegerField(label="Every", min_value=1, initial=2)
    interval_unit = forms.ChoiceField(
        label="Unit",
        choices=[(IntervalUnit.DAYS, "days"), (IntervalUnit.WEEKS, "weeks")],
        initial=IntervalUnit.WEEKS,
    )
    first_date = forms.DateField(label="First date", widget=DATE_INPUT)
    first_time = forms.TimeField(label="Time", widget=TIME_INPUT)
    duration = forms.IntegerField(label="Duration (minutes)", min_value=5, initial=settings.CLINIC_SESSION_MINUTES)
    maintenance_interval_days = forms.IntegerField(
        label="Maintenance every (days)",
        min_value=1,
        max_value=MAINTENANCE_INTERVAL_DAYS_MAX,
        required=False,
        initial=90,
        help_text="After the series. Leave empty for no maintenance.",
        error_messages={
            "min_value": "The maintenance interval must be at least 1 day.",
            "max_value": f"Maintenance is at most every {MAINTENANCE_INTERVAL_DAYS_MAX} days (two years).",
        },
    )
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000)

    def __init__(self, *args, client_label: str = "", protocols: dict[int, dict] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["practitioner"].queryset = practitioners()
        # Choosing an indication fills the fields from its protocol (static/js/app.js
        # reads them here; without JavaScript, ?indication= does it on the server).
        self.protocols = protocols or {}
        self.fields["indication"].widget.attrs["data-protocols"] = json.dumps(self.protocols)
        self.fields["indication"].help_text = "Its protocol fills in the mixture, areas and series; change any of them."
        most = settings.CLINIC_MAX_SERIES_SESSIONS
        self.fields["sessions"] = forms.IntegerField(
            label="Number of sessions",
            min_value=1,
            max_value=most,
            initial=6,
            error_messages={"max_value": f"At most {most} sessions can be booked in one series."},
        )
        self.fields["interval"].error_messages["min_value"] = "The interval must be at least 1."
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = Layout(
            # The picker's radio buttons carry the client; a hidden input as well would
            # post a second, empty "client" that Django takes as the value.
            HTML('{% include "booking/client_picker.html" %}'),
            Row(Column("indication", css_class="col-md-6"), Column("mixture", css_class="col-md-6")),
            Field("areas", wrapper_class="areas-grid"),
            Row(Column("practitioner", css_class="col-md-6"), Column("room", css_class="col-md-6")),
            Row(
                Column("sessions", css_class="col-6 col-md-3"),
                Column("interval", css_class="col-6 col-md-3"),
                Column("interval_unit", css_class="col-6 col-md-3"),
                Column("duration", css_class="col-6 col-md-3"),
            ),
            Row(
                Column("first_date", css_class="col-6 col-md-4"),
                Column("first_time", css_class="col-6 col-md-4"),
                Column("maintenance_interval_days", css_class="col-12 col-md-4"),
            ),
            "notes",
        )

    def clean_duration(self):
        minutes = self.cleaned_data["duration"]
        longest = longest_opening_minutes()
        if minutes > longest:
            raise forms.ValidationError(
                f"{minutes} minutes is longer than the clinic's longest opening period ({longest} minutes)."
            )
        return minutes

    def clean(self):
        data = super().clean()
        day = data.get("first_date")
        check_bookable(self, "first_date", day, data.get("first_time"), "The first session cannot be in the past.")
        interval, unit, count = data.get("interval"), data.get("interval_unit"), data.get("sessions")
        if interval is None or unit is None:
            return data
        if self.interval_days > INTERVAL_DAYS_MAX:
            self.add_error(
                "interval",
                f"At most {INTERVAL_DAYS_MAX} days ({INTERVAL_DAYS_MAX // 7} weeks) between two sessions of a series.",
            )
        elif day and count and "first_date" not in self.errors:
            last_day = add_interval(day, interval * (count - 1), unit)
            if last_day > bookable_until(timezone.localdate()):
                self.add_error(
                    "interval",
                    f"The last session would fall on {last_day:%d/%m/%Y}, more than two years ahead: "
                    "book fewer sessions or a shorter interval.",
                )
        return data

    @property
    def first_start(self) -> dt.datetime:
        return local_start(self.cleaned_data["first_date"], self.cleaned_data["first_time"])

    @property
    def interval_days(self) -> int:
        factor = 7 if self.cleaned_data["interval_unit"] == IntervalUnit.WEEKS else 1
        return self.cleaned_data["interval"] * factor

    @property
    def session_duration(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.cleaned_data["duration"])


class MoveForm(forms.Form):
    """Where a session goes: its new date and time, and its practitioner and
    room (its own unless changed). Opened from the session, filled with where it
    is now; dropped on the calendar, filled with where it was dropped."""

    new_date = forms.DateField(label="New date", widget=DATE_INPUT)
    new_time = forms.TimeField(label="New time", widget=TIME_INPUT)
    # Not required: left out (an older page, a drop on a day column), they stay the session's own.
    practitioner = PractitionerChoiceField(
        queryset=User.objects.none(),
        required=False,
        empty_label=None,
        error_messages={"invalid_choice": "Choose one of the clinic's practitioners."},
    )
    room = forms.ModelChoiceField(
        queryset=Room.objects.filter(active=True),
        required=False,
        empty_label=None,
        error_messages={"invalid_choice": "Unknown room: choose one of the clinic's rooms."},
    )
    shift_later = forms.BooleanField(
        label="Shift the later sessions of the series by the same number of days, to keep their spacing",
        required=False,
        initial=True,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["practitioner"].queryset = practitioners()
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = Layout(
            Row(Column("new_date", css_class="col-6 col-md-3"), Column("new_time", css_class="col-6 col-md-3")),
            Row(Column("practitioner", css_class="col-md-6"), Column("room", css_class="col-md-6")),
            "shift_later",
        )

    @classmethod
    def filled(cls, session) -> "MoveForm":
        """The form for `session`, filled with where it is now (the keyboard path)."""
        local = timezone.localtime(session.starts_at)
        initial = {
            "new_date": local.date(),
            "new_time": local.time().replace(second=0, microsecond=0),
            "practitioner": session.practitioner_id,
            "room": session.room_id,
        }
        return cls(initial=initial)

    @classmethod
    def dropped(cls, session, query) -> "MoveForm":
        """The form for a session dropped on the calendar: the date and time
        dropped on, the practitioner or room of the column (the session's own
        otherwise), the later sessions shifted as the form's default says."""
        return cls(
            {
                "new_date": query.get("new_date", ""),
                "new_time": query.get("new_time", ""),
                "practitioner": query.get("practitioner") or session.practitioner_id,
                "room": query.get("room") or session.room_id,
                "shift_later": "on" if cls.base_fields["shift_later"].initial else "",
            }
        )

    def clean(self):
        data = super().clean()
        check_bookable(
            self, "new_date", data.get("new_date"), data.get("new_time"), "A session cannot be moved into the past."
        )
        return data

    @property
    def new_start(self) -> dt.datetime:
        return local_start(self.cleaned_data["new_date"], self.cleaned_data["new_time"])


# How many other free slots the series preview offers for each session.
SLOT_OPTIONS = 5


def chosen_slots(data, count: int) -> tuple[dict[int, dt.datetime], dict[int, str]]:
    """The slots reception chose in the series preview, by session number, and
    why a typed one could not be read or booked: each row posts "slot-<n>" (""
    for the clinic's proposal, a proposed slot as "YYYY-MM-DDTHH:MM", or
    "other" with "other-date-<n>" and "other-time-<n>" typed)."""
    pins: dict[int, dt.datetime] = {}
    errors: dict[int, str] = {}
    for n in range(1, count + 1):
        raw = (data.get(f"slot-{n}") or "").strip()
        if not raw:
            continue
        if raw == "other":
            day, time = data.get(f"other-date-{n}", "").strip(), data.get(f"other-time-{n}", "").strip()
            if not day and not time:
                continue
            raw = f"{day}T{time}"
        try:
            moment = dt.datetime.fromisoformat(raw)
        except ValueError:
            errors[n] = "Enter a date and a time, for example 2026-12-01 and 10:15."
            continue
        if moment.tzinfo is not None or not dt.date(2000, 1, 1) <= moment.date() <= dt.date(9000, 1, 1):
            errors[n] = "Enter a date and a time, for example 2026-12-01 and 10:15."
            continue
        if moment.date() > bookable_until(timezone.localdate()):
            errors[n] = (
                f"Sessions can be booked up to {bookable_until(timezone.localdate()):%d/%m/%Y} (two years ahead)."
            )
            continue
        pins[n] = local_start(moment.date(), moment.time())
    return pins, errors
