"""The practitioner's forms before treating: the screening questionnaire and
the client's consent."""

from crispy_bootstrap5.bootstrap5 import Switch
from crispy_forms.bootstrap import InlineRadios
from crispy_forms.helper import FormHelper
from crispy_forms.layout import Div, Fieldset, Layout, Submit
from django import forms

from sessions_app.models import Contraindication, Severity, contraindication_severity

YES_NO = [("no", "No"), ("yes", "Yes")]


class ScreeningForm(forms.Form):
    """One yes/no per contraindication of DESIGN.md, with details; a relative
    contraindication also takes the practitioner's judgement."""

    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=4000)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        blocks = []
        for question in Contraindication:
            absolute = contraindication_severity(question) == Severity.ABSOLUTE
            self.fields[f"{question}_answer"] = forms.ChoiceField(
                label="Answer", choices=YES_NO, widget=forms.RadioSelect, initial="no"
            )
            self.fields[f"{question}_details"] = forms.CharField(
                label="Details", required=False, max_length=2000, widget=forms.TextInput()
            )
            fields = [InlineRadios(f"{question}_answer"), f"{question}_details"]
            if not absolute:
                self.fields[f"{question}_judgement"] = forms.CharField(
                    label="Your judgement, if yes (why treating is safe, precautions)",
                    required=False,
                    max_length=2000,
                    widget=forms.Textarea(attrs={"rows": 2}),
                )
                fields.append(f"{question}_judgement")
            legend = f"{question.label}{' (absolute: a yes blocks treatment)' if absolute else ''}"
            blocks.append(Div(Fieldset(legend, *fields), css_class="border rounded p-2 mb-2"))
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(*blocks, "notes")
        self.helper.add_input(Submit("save", "Save the screening"))

    def clean(self):
        data = super().clean()
        for question in Contraindication:
            if data.get(f"{question}_answer") == "yes" and not (data.get(f"{question}_details") or "").strip():
                self.add_error(f"{question}_details", "Say what: a yes needs details.")
        return data

    def answers(self) -> list[dict]:
        """The answers as the service takes them."""
        data = self.cleaned_data
        return [
            {
                "question": question.value,
                "yes": data[f"{question}_answer"] == "yes",
                "details": data.get(f"{question}_details", ""),
                "judgement": data.get(f"{question}_judgement", ""),
            }
            for question in Contraindication
        ]


class ConsentForm(forms.Form):
    signed_name = forms.CharField(label="Client's full name, typed by the client", max_length=160)
    agreed = forms.BooleanField(
        label="I have read and understood this text and agree to the treatment plan", required=True
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agreed"].error_messages["required"] = "The client must tick the box to agree."
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout("signed_name", Switch("agreed"))
        self.helper.add_input(Submit("sign", "Sign"))

    def clean_signed_name(self):
        name = self.cleaned_data["signed_name"].strip()
        if not name:
            raise forms.ValidationError("The client must type their name.")
        return name
