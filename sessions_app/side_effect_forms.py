"""The forms of a side effect's life: recording one, editing it, a follow-up
entry, the list's filters, the signal's period, and the client's check-in."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Layout, Row, Submit
from django import forms
from django.conf import settings
from django.utils import timezone

from sessions_app import report_forms
from sessions_app.booking_forms import DATE_INPUT
from sessions_app.models import (
    PAIN_SCORE_MAX,
    CheckInAnswer,
    Mixture,
    Product,
    SideEffect,
    SideEffectKind,
    SideEffectSeverity,
    SideEffectStatus,
    Substance,
    TreatmentArea,
    TreatmentSession,
    User,
)
from sessions_app.models.plans import PRACTITIONERS
from sessions_app.services.records import PHOTO_FORMATS, PhotoRefused, photo_prepare
from sessions_app.services.side_effects import EDITABLE, side_effect_refusals, status_when_recorded

NOTE_MAX = 2000


class PhotoField(forms.ImageField):
    """One photo, refused beside the field unless the clinic can keep it (the
    rule of staff uploads: services.records.photo_prepare)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)
        self.widget.attrs.setdefault("accept", ",".join(sorted(PHOTO_FORMATS.values())))

    def clean(self, data, initial=None):
        if not data:
            return None
        if data.size <= settings.CLINIC_PHOTO_MAX_BYTES:
            data = super().clean(data, initial)  # Pillow: is it an image at all?
        try:
            photo_prepare(data, max_bytes=settings.CLINIC_PHOTO_MAX_BYTES)
        except PhotoRefused as exc:
            raise forms.ValidationError(str(exc)) from None
        return data


def _session_label(session: TreatmentSession) -> str:
    return f"{timezone.localtime(session.starts_at):%d/%m/%Y %H:%M}, {session.plan.indication} (#{session.sequence})"


class _SideEffectFields(forms.ModelForm):
    """What recording and editing share: the cause is one of the client's past
    sessions in which they were treated; reference data that is switched off
    is not offered (but stays on a side effect that names it)."""

    def _offer(self, client):
        instance = self.instance
        sessions = TreatmentSession.objects.possible_causes(client.pk, timezone.now()).select_related(
            "plan__indication"
        )
        if instance.session_id:
            sessions = sessions | TreatmentSession.objects.filter(pk=instance.session_id)
        self.fields["session"].queryset = sessions.order_by("-starts_at", "-pk")
        self.fields["session"].label_from_instance = _session_label
        self.fields["session"].empty_label = "Not linked to a session"
        self.fields["session"].help_text = "One of the client's past sessions."
        for name, model in (
            ("kind", SideEffectKind),
            ("area", TreatmentArea),
            ("suspected_product", Product),
            ("suspected_substance", Substance),
        ):
            current = getattr(instance, f"{name}_id", None)
            self.fields[name].queryset = model.objects.filter(active=True) | model.objects.filter(pk=current)
        self.fields["area"].empty_label = "Not said"
        self.fields["suspected_product"].empty_label = "None suspected"
        self.fields["suspected_substance"].empty_label = "None suspected"

    def clean(self):
        data = super().clean()
        # The service's rule (side_effect_refusals), said beside the fields.
        refusals = side_effect_refusals(
            client_id=self.instance.client_id,
            session=data.get("session"),
            onset=data.get("onset"),
            resolved_on=data.get("resolved_on") if "resolved_on" in self.fields else self.instance.resolved_on,
            now=timezone.now(),
            cause_changed="session" in self.changed_data,
        )
        for field, message in refusals.items():
            self.add_error(field if field in self.fields else None, message)
        return data


CAUSE_LAYOUT = [
    Row(Column("session", css_class="col-12 col-md-6"), Column("area", css_class="col-12 col-md-6")),
    Row(
        Column("kind", css_class="col-12 col-md-4"),
        Column("severity", css_class="col-6 col-md-4"),
        Column("serious", css_class="col-6 col-md-4 d-flex align-items-end"),
    ),
    Row(
        Column("suspected_product", css_class="col-12 col-md-6"),
        Column("suspected_substance", css_class="col-12 col-md-6"),
    ),
]
WIDGETS = {
    "onset": DATE_INPUT,
    "resolved_on": DATE_INPUT,
    "action_taken": forms.Textarea(attrs={"rows": 2, "maxlength": NOTE_MAX}),
    "notes": forms.Textarea(attrs={"rows": 3, "maxlength": NOTE_MAX}),
}
LABELS = {"resolved_on": "Resolved on (leave empty while it lasts)", "serious": "Serious adverse event"}


class SideEffectForm(_SideEffectFields):
    """A side effect of one client, recorded by staff."""

    class Meta:
        model = SideEffect
        fields = [
            "session",
            "kind",
            "severity",
            "serious",
            "area",
            "suspected_product",
            "suspected_substance",
            "onset",
            "resolved_on",
            "action_taken",
            "notes",
        ]
        widgets = WIDGETS
        labels = LABELS

    def __init__(self, *args, client, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.client = client
        self._offer(client)
        self.fields["onset"].initial = timezone.localdate()
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            *CAUSE_LAYOUT,
            Row(Column("onset", css_class="col-6 col-md-4"), Column("resolved_on", css_class="col-6 col-md-4")),
            "action_taken",
            "notes",
        )
        self.helper.add_input(Submit("save", "Record the side effect"))

    def clean(self):
        data = super().clean()
        # As the service will record it (SideEffect.clean checks the pair).
        self.instance.status = status_when_recorded(data.get("resolved_on"))
        return data


class SideEffectEditForm(_SideEffectFields):
    """A practitioner corrects or completes a side effect; its course (status,
    the date it resolved) changes through follow-ups."""

    class Meta:
        model = SideEffect
        # What the service lets staff edit, no more.
        fields = list(EDITABLE)
        widgets = WIDGETS
        labels = LABELS | {"severity": "Severity now"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._offer(self.instance.client)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(*CAUSE_LAYOUT, "onset", "action_taken", "notes")
        self.helper.add_input(Submit("save", "Save the changes"))


class FollowUpForm(forms.Form):
    """An entry in the side effect's course: what was seen, the severity now,
    a photo, and the status it leaves it in."""

    note = forms.CharField(
        label="What was seen or done", required=False, max_length=NOTE_MAX, widget=forms.Textarea(attrs={"rows": 3})
    )
    severity = forms.ChoiceField(label="Severity now", choices=SideEffectSeverity.choices)
    status = forms.ChoiceField(label="Status")
    resolved_on = forms.DateField(label="Resolved on", required=False, widget=DATE_INPUT)
    photo = PhotoField(label="Photo")

    def __init__(self, *args, side_effect: SideEffect, **kwargs):
        super().__init__(*args, **kwargs)
        current = side_effect.status
        allowed = [current, *SideEffectStatus.TRANSITIONS[current]]
        self.fields["status"].choices = [
            (s, SideEffectStatus(s).label) for s in SideEffectStatus.values if s in allowed
        ]
        self.fields["status"].initial = current
        self.fields["severity"].initial = side_effect.severity
        self.fields["resolved_on"].help_text = "When it resolved: needed to mark it resolved."
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            "note",
            Row(
                Column("severity", css_class="col-6 col-md-3"),
                Column("status", css_class="col-6 col-md-3"),
                Column("resolved_on", css_class="col-12 col-md-6"),
            ),
            "photo",
        )
        self.helper.add_input(Submit("follow_up", "Add to the course"))

    def clean(self):
        data = super().clean()
        if data.get("status") == SideEffectStatus.RESOLVED and not data.get("resolved_on"):
            self.add_error("resolved_on", "Give the date it resolved.")
        return data


class _Choices(forms.ModelChoiceField):
    def __init__(self, queryset, label, **kwargs):
        super().__init__(queryset, label=label, required=False, empty_label="All", **kwargs)


LIST_STATUSES = [
    ("open", "Open or to review"),
    ("review", "Awaiting review"),
    ("unresolved", "Not resolved"),
    ("overdue", "Past the expected time"),
    *SideEffectStatus.choices,
    ("all", "All"),
]


class SideEffectFilterForm(forms.Form):
    """The list's filters; anything odd in the address is dropped, not an error page."""

    status = forms.ChoiceField(choices=LIST_STATUSES, required=False)
    severity = forms.ChoiceField(choices=[("", "All"), *SideEffectSeverity.choices], required=False)
    kind = _Choices(SideEffectKind.objects.all(), "Kind")
    practitioner = _Choices(User.objects.filter(**PRACTITIONERS).distinct(), "Practitioner")
    mixture = _Choices(Mixture.objects.all(), "Mixture")
    lot = forms.CharField(label="Lot number", required=False, max_length=60)
    onset_from = forms.DateField(label="Onset from", required=False, widget=DATE_INPUT)
    onset_to = forms.DateField(label="to", required=False, widget=DATE_INPUT)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["practitioner"].label_from_instance = lambda u: str(u)
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs["class"] = f"{css} form-control-sm" if css == "form-control" else f"{css} form-select-sm"

    def filters(self) -> dict:
        """The valid filters only (an invalid one is left out)."""
        self.is_valid()
        return {name: value for name, value in getattr(self, "cleaned_data", {}).items() if value not in (None, "")}


class PeriodForm(report_forms.PeriodForm):
    """The signal's period, under the reports' rule (report_forms.PeriodForm)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("start", "end"):
            self.fields[name].widget.attrs["class"] = "form-control"


SCORES = [(n, str(n)) for n in range(PAIN_SCORE_MAX + 1)]


class CheckInForm(forms.Form):
    """The client's answer, on a phone: one tap for how it is, one for how bad,
    an optional photo and words."""

    answer = forms.ChoiceField(
        label="How is the treated area?",
        choices=CheckInAnswer.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose how the treated area is: fine, or what you notice."},
    )
    score = forms.TypedChoiceField(
        label=f"How bad is it? 0 is not at all, {PAIN_SCORE_MAX} the worst you can imagine",
        choices=SCORES,
        coerce=int,
        required=False,
        empty_value=None,
        widget=forms.RadioSelect,
    )
    photo = PhotoField(label="A photo of the area (optional)")
    note = forms.CharField(
        label="Anything to add? (optional)",
        required=False,
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": NOTE_MAX}),
    )

    def clean(self):
        data = super().clean()
        answer = data.get("answer")
        if answer and answer != CheckInAnswer.FINE and data.get("score") is None:
            self.add_error("score", "Say how bad it is, from 0 to 10.")
        if answer == CheckInAnswer.FINE and data.get("photo"):
            self.add_error("photo", "A photo goes with something that is not fine: choose what you notice above.")
        return data
