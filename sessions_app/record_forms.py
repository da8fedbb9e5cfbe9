"""The session record form: the session's own fields, one row per treated area
(a formset), and the before and after photos. The same form records a session
and amends a signed record (then with a reason)."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Layout, Row
from django import forms
from django.conf import settings

from sessions_app.models import PAIN_SCORE_MAX, Injection, PhotoKind, TreatmentArea, TreatmentSession
from sessions_app.services.records import (
    PHOTO_FORMATS,
    InjectionInput,
    LotContext,
    PhotoInput,
    PhotoRefused,
    RecordInput,
    lots_for_rule,
    photo_prepare,
)


class MultipleImageInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleImageField(forms.ImageField):
    """Several images in one input; each is checked to be a real image of an
    allowed format and size."""

    widget = MultipleImageInput

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)
        self.widget.attrs.setdefault("accept", ",".join(sorted(PHOTO_FORMATS.values())))

    def clean(self, data, initial=None):
        files = data if isinstance(data, (list, tuple)) else ([data] if data else [])
        return [self._one(f, initial) for f in files]

    def _one(self, upload, initial):
        if upload.size <= settings.CLINIC_PHOTO_MAX_BYTES:
            upload = super().clean(upload, initial)  # Pillow: is it an image at all?
        try:
            photo_prepare(upload, max_bytes=settings.CLINIC_PHOTO_MAX_BYTES)
        except PhotoRefused as exc:
            raise forms.ValidationError(str(exc)) from None
        return upload


class SessionRecordForm(forms.ModelForm):
    """The session's part of the record, the photos, and (when amending) the reason."""

    before_photos = MultipleImageField(label="Before photos")
    after_photos = MultipleImageField(label="After photos")

    class Meta:
        model = TreatmentSession
        fields = ["anaesthetic", "pain_score", "combination_therapy", "notes"]
        widgets = {
            "pain_score": forms.NumberInput(attrs={"min": 0, "max": PAIN_SCORE_MAX, "inputmode": "numeric"}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }
        labels = {"pain_score": f"Pain score (0-{PAIN_SCORE_MAX})", "combination_therapy": "Combined with"}

    def __init__(self, *args, amending: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pain_score"].required = True
        self.fields["notes"].max_length = 4000
        fields = ["anaesthetic", "pain_score", "combination_therapy"]
        if amending:
            self.fields["reason"] = forms.CharField(
                label="Reason for the amendment",
                max_length=2000,
                widget=forms.Textarea(attrs={"rows": 2}),
                help_text="Kept with the record, with your name and the time.",
            )
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = Layout(
            Row(*(Column(name, css_class="col-12 col-md-4") for name in fields)),
            "notes",
            Row(
                Column("before_photos", css_class="col-12 col-md-6"),
                Column("after_photos", css_class="col-12 col-md-6"),
            ),
            *(["reason"] if amending else []),
        )

    def photos(self) -> list[PhotoInput]:
        return [PhotoInput(PhotoKind.BEFORE, f) for f in self.cleaned_data["before_photos"]] + [
            PhotoInput(PhotoKind.AFTER, f) for f in self.cleaned_data["after_photos"]
        ]


class InjectionForm(forms.ModelForm):
    """One area's row. A row counts only when "treated" is ticked; then every
    field is required and each lot must pass the lot rule."""

    treated = forms.BooleanField(required=False)

    class Meta:
        model = Injection
        fields = ["area", "lots", "volume_ml", "depth", "technique", "needle_length_mm", "points"]
        widgets = {
            "lots": forms.CheckboxSelectMultiple,
            "volume_ml": forms.NumberInput(attrs={"step": "0.05", "inputmode": "decimal"}),
            "needle_length_mm": forms.NumberInput(attrs={"step": "0.5", "inputmode": "decimal"}),
            "points": forms.NumberInput(attrs={"inputmode": "numeric"}),
        }
        labels = {"lots": "Lots injected", "needle_length_mm": "Needle (mm)", "points": "Points"}

    def __init__(self, *args, context: LotContext, lot_choices: list, area_choices: list, **kwargs):
        super().__init__(*args, **kwargs)
        self.context = context
        self.fields["area"].queryset = TreatmentArea.objects.all()
        self.fields["area"].choices = area_choices
        self.fields["lots"].queryset = lots_for_rule()
        self.fields["lots"].widget.choices = lot_choices
        for field in self.fields.values():
            field.required = False

    @property
    def selected_lots(self) -> set[str]:
        """The ticked lots, as the strings the template compares with."""
        return {str(value) for value in self["lots"].value() or []}

    def clean(self):
        data = super().clean()
        if not data.get("treated"):
            # Not treated: nothing of this row is kept, whatever was typed in it.
            self._errors.clear()
            return data
        for name in self.Meta.fields:
            value = data.get(name)
            empty = not value if name == "lots" else value in (None, "")
            if empty and name not in self._errors:
                message = "Tick the lot or lots injected." if name == "lots" else "Required for a treated area."
                self.add_error(name, message)
        if lots := data.get("lots"):
            for reason in self.context.refusals(lots):
                self.add_error("lots", reason)
        return data

    def _post_clean(self):
        # The model's checks (volume, needle, points) only for a treated row.
        if self.cleaned_data.get("treated"):
            super()._post_clean()

    def item(self) -> InjectionInput:
        data = self.cleaned_data
        return InjectionInput(
            area=data["area"],
            lots=tuple(data["lots"]),
            volume_ml=data["volume_ml"],
            depth=data["depth"],
            technique=data["technique"],
            needle_length_mm=data["needle_length_mm"],
            points=data["points"],
        )


class BaseInjectionFormSet(forms.BaseFormSet):
    def __init__(self, *args, context: LotContext, lot_choices: list, area_choices: list, **kwargs):
        self.form_options = {"context": context, "lot_choices": lot_choices, "area_choices": area_choices}
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), **self.form_options}

    def treated(self) -> list[InjectionForm]:
        return [f for f in self.forms if f.cleaned_data.get("treated")]

    def clean(self):
        if any(self.errors):
            return
        treated = self.treated()
        if not treated:
            raise forms.ValidationError("Tick at least one treated area and record what was injected there.")
        seen = set()
        for form in treated:
            area = form.cleaned_data["area"]
            if area.pk in seen:
                form.add_error("area", f"{area} is recorded twice: one row per area.")
            seen.add(area.pk)

    def items(self) -> tuple[InjectionInput, ...]:
        return tuple(form.item() for form in self.treated())


# More rows than there are areas can only come from a crafted post.
MAX_ROWS = 40

InjectionFormSet = forms.formset_factory(
    InjectionForm, formset=BaseInjectionFormSet, extra=0, max_num=MAX_ROWS, absolute_max=MAX_ROWS, validate_max=True
)


def record_input(form: SessionRecordForm, formset: BaseInjectionFormSet) -> RecordInput:
    data = form.cleaned_data
    return RecordInput(
        anaesthetic=data["anaesthetic"],
        pain_score=data["pain_score"],
        combination_therapy=data["combination_therapy"],
        notes=data["notes"],
        injections=formset.items(),
    )
