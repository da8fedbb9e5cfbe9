from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.utils import timezone

from sessions_app.booking_forms import DATE_INPUT
from sessions_app.models import SideEffect, SideEffectKind, TreatmentSession


class SideEffectForm(forms.ModelForm):
    """A side effect of one client; the session list holds that client's sessions only."""

    class Meta:
        model = SideEffect
        fields = ["session", "kind", "severity", "serious", "onset", "resolved_on", "action_taken", "notes"]
        widgets = {
            "onset": DATE_INPUT,
            "resolved_on": DATE_INPUT,
            "action_taken": forms.Textarea(attrs={"rows": 2}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }
        labels = {"resolved_on": "Resolved on (leave empty while it lasts)", "serious": "Serious adverse event"}

    def __init__(self, *args, client, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.client = client
        sessions = (
            TreatmentSession.objects.filter(plan__client=client)
            .select_related("plan__indication")
            .order_by("-starts_at")
        )
        self.fields["session"].queryset = sessions
        self.fields["session"].label_from_instance = lambda s: (
            f"{timezone.localtime(s.starts_at):%d/%m/%Y %H:%M}, {s.plan.indication} (#{s.sequence})"
        )
        self.fields["session"].empty_label = "Not linked to a session"
        self.fields["kind"].queryset = SideEffectKind.objects.filter(active=True)
        self.fields["onset"].initial = timezone.localdate()
        self.helper = FormHelper()
        self.helper.add_input(Submit("save", "Record the side effect"))

    def clean_onset(self):
        onset = self.cleaned_data["onset"]
        if onset and onset > timezone.localdate():
            raise forms.ValidationError("The onset cannot be in the future.")
        return onset

    def clean(self):
        data = super().clean()
        session = data.get("session")
        onset = data.get("onset")
        if session and onset and onset < timezone.localtime(session.starts_at).date():
            self.add_error("onset", "The onset cannot be before the session.")
        return data
