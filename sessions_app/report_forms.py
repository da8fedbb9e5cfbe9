"""The period a page shows (the reports, the side-effect signal), and the
reports' filter: the period, and for managers one practitioner."""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Layout, Row, Submit
from django import forms
from django.utils import timezone

from sessions_app.booking_forms import DATE_INPUT
from sessions_app.models import Role, User
from sessions_app.reports.period import EARLIEST, Period, latest, period_refusal


class PractitionerChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return str(obj) if obj.is_active else f"{obj} (no longer active)"


class PeriodForm(forms.Form):
    """From and to, read from the query string (GET): the date picker offers
    only the days period_refusal accepts, and a period it refuses is said
    beside its field."""

    start = forms.DateField(label="From", widget=DATE_INPUT)
    end = forms.DateField(label="To", widget=DATE_INPUT)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = timezone.localdate()
        for name in ("start", "end"):
            self.fields[name].widget.attrs.update(min=EARLIEST.isoformat(), max=latest(self.today).isoformat())

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end:
            for field, message in period_refusal(start, end, today=self.today).items():
                self.add_error(field, message)
        return cleaned

    @property
    def period(self) -> Period:
        return Period(self.cleaned_data["start"], self.cleaned_data["end"])


class ReportFilterForm(PeriodForm):
    """The reports' filter: the page shows no figures until it is right."""

    practitioner = PractitionerChoice(
        queryset=User.objects.none(), required=False, empty_label="The whole clinic", label="Whose figures"
    )

    def __init__(self, *args, choose_practitioner: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if choose_practitioner:
            # Former practitioners too: their sessions are in the figures.
            self.fields["practitioner"].queryset = User.objects.filter(groups__name=Role.PRACTITIONER).order_by(
                "-is_active", "last_name", "first_name"
            )
        else:
            del self.fields["practitioner"]
        self.helper = FormHelper()
        self.helper.form_method = "get"
        self.helper.form_id = "report-filter"
        self.helper.attrs = {"novalidate": True, "aria-label": "Period of the reports"}
        columns = [Column("start", css_class="col-6 col-md-3"), Column("end", css_class="col-6 col-md-3")]
        if choose_practitioner:
            columns.append(Column("practitioner", css_class="col-12 col-md-4"))
        self.helper.layout = Layout(
            Row(*columns, Column(Submit("apply", "Show", css_class="mt-md-4"), css_class="col-12 col-md-2"))
        )
