"""The staff page's forms: a new member, and a member's role and details."""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Field, Layout, Row
from django import forms
from django.contrib.auth.forms import UsernameField
from django.contrib.auth.validators import UnicodeUsernameValidator

from sessions_app.models import Profession, Role, User
from sessions_app.services.staff import MemberDetails

ROLE_HELP = {
    Role.RECEPTION: "books and moves sessions, works the call list; sees no clinical detail",
    Role.PRACTITIONER: "screens, treats and records sessions, reviews side effects",
    Role.MANAGER: "everything, with the reports, the staff and the Django admin",
}
# Their registration number is what makes their records theirs in law.
REGISTERED = (Profession.PHYSICIAN, Profession.NURSE)


class MemberForm(forms.Form):
    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150)
    email = forms.EmailField(
        max_length=254,
        required=False,
        help_text="Links to choose a password are sent here; no password is ever mailed.",
    )
    role = forms.ChoiceField(choices=[(r.value, f"{r.label}: {ROLE_HELP[r]}") for r in Role], widget=forms.RadioSelect)
    profession = forms.ChoiceField(
        choices=[("", "—"), *Profession.choices],
        required=False,
        help_text="Practitioners: some clinical decisions are a physician's only.",
    )
    registration_number = forms.CharField(
        max_length=60, required=False, help_text="Required of physicians and nurses (RPPS, ADELI, NMC...)."
    )
    job_title = forms.CharField(max_length=100, required=False, help_text="As shown to colleagues: nurse injector.")
    phone = forms.CharField(max_length=40, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(*self.layout_fields())

    def layout_fields(self) -> list:
        return [
            Row(Column("first_name", css_class="col-md-6"), Column("last_name", css_class="col-md-6")),
            Row(Column("email", css_class="col-md-6"), Column("phone", css_class="col-md-6")),
            Field("role"),
            Row(
                Column("profession", css_class="col-md-4"),
                Column("registration_number", css_class="col-md-4"),
                Column("job_title", css_class="col-md-4"),
            ),
        ]

    def clean(self):
        cleaned = super().clean()
        role, profession = cleaned.get("role"), cleaned.get("profession")
        if role == Role.PRACTITIONER and not profession:
            self.add_error("profession", "A practitioner is a physician, a nurse or other: say which.")
        if profession in REGISTERED and not cleaned.get("registration_number", "").strip():
            self.add_error("registration_number", "A physician or a nurse treats under a registration number.")
        return cleaned

    def details(self) -> MemberDetails:
        data = self.cleaned_data
        return MemberDetails(
            first_name=data["first_name"].strip(),
            last_name=data["last_name"].strip(),
            email=data["email"],
            profession=data["profession"],
            job_title=data["job_title"].strip(),
            registration_number=data["registration_number"].strip(),
            phone=data["phone"].strip(),
        )


class NewMemberForm(MemberForm):
    username = UsernameField(
        label="User name",
        max_length=150,
        validators=[UnicodeUsernameValidator()],
        help_text="What they type to sign in: letters, digits and @ . + - _ only.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The new member's link to choose a password goes there.
        self.fields["email"].required = True

    def layout_fields(self) -> list:
        return [
            *super().layout_fields()[:2],
            Row(Column("username", css_class="col-md-6")),
            *super().layout_fields()[2:],
        ]

    def clean_username(self):
        username = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError("That user name is taken: choose another.")
        return username
