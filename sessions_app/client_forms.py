"""The new-client and edit-client form, and what an edit that lost a race shows.

Contact and administrative fields for every role; allergies and clinical notes
only for staff who handle clinical records (roles.handles_clinical_records).
The form checks what a person can correct beside the field; the services in
services/clients.py decide and write.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any

from crispy_forms.bootstrap import InlineRadios
from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Field, Fieldset, Layout, Row
from django import forms
from django.conf import settings
from django.core import signing
from django.core.validators import MaxLengthValidator

from sessions_app.models import Client, Substance
from sessions_app.models.clients import validate_date_of_birth
from sessions_app.phones import InvalidPhone, phone_display, phone_to_e164
from sessions_app.roles import handles_clinical_records

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
SIGNING_SALT = "sessions_app.client_form.loaded"


def no_hidden_characters(value: str) -> None:
    """Refuse control and invisible formatting characters (a right-to-left
    override would make a name read backwards on every page); letters of any
    script, accents, apostrophes and emoji are kept, and shown escaped."""
    for ch in value:
        if unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs") and ch not in "\n\r\t":
            raise forms.ValidationError(
                f"Remove the invisible character U+{ord(ch):04X}: it changes how the text is shown.",
                code="hidden_character",
            )


def has_a_letter(value: str) -> None:
    if not any(unicodedata.category(ch).startswith("L") for ch in value):
        raise forms.ValidationError("A name needs at least one letter.", code="no_letter")


class PhoneField(forms.CharField):
    """A phone number as typed at the desk ("06 39 98 76 73", "+41 79..."),
    cleaned to E.164 in the clinic's region, with a message beside the field
    when it cannot be a phone number."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 40)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        try:
            return phone_to_e164(value, settings.CLINIC_PHONE_REGION)
        except InvalidPhone as exc:
            raise forms.ValidationError(str(exc), code="invalid_phone") from exc


class ClientForm(forms.ModelForm):
    phone = PhoneField(
        label="Phone",
        help_text="As you would dial it; another country's number with its + code.",
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off", "inputmode": "tel"}),
    )
    allergies = forms.ModelMultipleChoiceField(
        queryset=Substance.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Known allergies",
        help_text="Substances the client is allergic to: a mixture containing one is refused.",
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    loaded = forms.CharField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Client
        fields = [
            "first_name",
            "last_name",
            "date_of_birth",
            "sex",
            "phone",
            "email",
            "address",
            "preferred_channel",
            "consent_sms",
            "consent_email",
            "notes",
        ]
        labels = {
            "date_of_birth": "Date of birth",
            "sex": "Sex (administrative)",
            "consent_email": "Agrees to email reminders",
            "consent_sms": "Agrees to SMS reminders",
            "notes": "Clinical notes",
            "preferred_channel": "Prefers to be reached by",
        }
        widgets = {
            "date_of_birth": DATE_INPUT,
            "address": forms.Textarea(attrs={"rows": 2}),
            "notes": forms.Textarea(attrs={"rows": 3}),
            "preferred_channel": forms.RadioSelect,
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.clinical = handles_clinical_records(user)
        if self.clinical:
            self.fields["allergies"].queryset = Substance.objects.order_by("name")
            if self.instance.pk and not self.is_bound:
                self.initial["allergies"] = [s.pk for s in self.instance.allergies.all()]
        else:
            del self.fields["allergies"]
            del self.fields["notes"]
        self.fields["date_of_birth"].validators.append(validate_date_of_birth)
        for name in ("first_name", "last_name"):
            self.fields[name].validators += [no_hidden_characters, has_a_letter]
        for name in ("address", "email", *(("notes",) if self.clinical else ())):
            self.fields[name].validators.append(no_hidden_characters)
        self.fields["address"].validators.append(MaxLengthValidator(500))
        if self.clinical:
            self.fields["notes"].validators.append(MaxLengthValidator(5000))
        self.fields["email"].widget.attrs["autocomplete"] = "off"
        if self.instance.pk and not self.is_bound:
            self.initial["phone"] = phone_display(self.instance.phone, settings.CLINIC_PHONE_REGION)
            self.initial["version"] = self.instance.version
            self.initial["loaded"] = sign_snapshot(snapshot(self.instance, self.value_fields()))

        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        clinical = (
            [Fieldset("Clinical (practitioners and managers)", Field("allergies", wrapper_class="areas-grid"), "notes")]
            if self.clinical
            else []
        )
        self.helper.layout = Layout(
            Row(Column("first_name", css_class="col-md-6"), Column("last_name", css_class="col-md-6")),
            Row(
                Column("date_of_birth", css_class="col-md-4"),
                Column("sex", css_class="col-md-3"),
                Column("phone", css_class="col-md-5"),
            ),
            "email",
            "address",
            Fieldset(
                "Reminders",
                InlineRadios("preferred_channel"),
                Row(Column("consent_sms", css_class="col-sm-6"), Column("consent_email", css_class="col-sm-6")),
            ),
            *clinical,
            "version",
            "loaded",
        )

    def value_fields(self) -> list[str]:
        """The fields this form writes (the clinical ones only for clinical staff)."""
        return [name for name in self.fields if name not in ("version", "loaded")]

    def clean(self):
        data = super().clean()
        # The database's client_sms_consent_needs_phone and ..._email, said beside the box.
        if data.get("consent_sms") and not data.get("phone") and "phone" not in self.errors:
            self.add_error("consent_sms", "SMS reminders need a phone number: type one, or untick this.")
        if data.get("consent_email") and not data.get("email") and "email" not in self.errors:
            self.add_error("consent_email", "Email reminders need an email address: type one, or untick this.")
        return data

    def _post_clean(self):
        # The services write the client (and check its constraints); the
        # form checks only its fields, so a client is never validated twice
        # here with half its values.
        pass

    def values(self) -> dict[str, Any]:
        """What the services take: the contact fields and, for clinical staff, the notes."""
        return {name: self.cleaned_data[name] for name in self.value_fields() if name != "allergies"}

    def chosen_allergies(self):
        """The allergies to write, or None when this form does not hold them."""
        return self.cleaned_data["allergies"] if self.clinical else None


# --- An edit that lost a race ----------------------------------------------------------


def plain(value) -> Any:
    """A field's value as JSON holds it: a date as ISO text, allergies as sorted ids."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if hasattr(value, "all"):  # a related manager or a queryset
        value = value.all()
    if isinstance(value, str) or not hasattr(value, "__iter__"):
        return value
    return sorted(getattr(v, "pk", v) for v in value)


def snapshot(client: Client, fields: list[str]) -> dict[str, Any]:
    """The values of `fields` on the client, as plain JSON values."""
    return {name: plain(getattr(client, name)) for name in fields}


def sign_snapshot(values: dict[str, Any]) -> str:
    return signing.dumps(values, salt=SIGNING_SALT, compress=True)


def read_snapshot(text: str) -> dict[str, Any] | None:
    try:
        return signing.loads(text or "", salt=SIGNING_SALT)
    except signing.BadSignature:
        return None


def three_way(
    original: dict[str, Any] | None, mine: dict[str, Any], theirs: dict[str, Any]
) -> tuple[dict[str, Any], list[str], list[str]]:
    """Merge an edit with the changes someone saved meanwhile: (the values to
    show, the fields both changed differently, the fields only they changed).
    A field only they changed takes their value; one only I changed keeps
    mine; one we both changed keeps mine and is a conflict to look at. Without
    the original (a forged or expired form), every difference is a conflict."""
    merged, conflicts, theirs_only = {}, [], []
    for name, my_value in mine.items():
        their_value = theirs.get(name)
        before = original.get(name) if original is not None else None
        if my_value == their_value:
            merged[name] = my_value
        elif original is not None and my_value == before:
            merged[name] = their_value
            theirs_only.append(name)
        else:
            merged[name] = my_value
            if original is None or their_value != before:
                conflicts.append(name)
    return merged, conflicts, theirs_only
