"""The session record form: the session's own fields and photos, and a card
per treated area, each with one lot choice per product of the mixture and an
optional quantity. The same forms record a session (kept as a draft on the
way) and amend a signed record (then with a reason).

An area's fields are prefixed with its id ("a12-volume_ml", "a12-lot_5"), and
the areas treated are the "areas" field, in any order: a card is added or
taken away in the browser without the others being renumbered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django import forms
from django.conf import settings
from django.utils.datastructures import MultiValueDict

from sessions_app.models import (
    PAIN_SCORE_MAX,
    Injection,
    PhotoKind,
    Product,
    ProductLot,
    TreatmentArea,
    TreatmentSession,
)
from sessions_app.services.records import (
    PHOTO_FORMATS,
    InjectionInput,
    LotChoices,
    LotContext,
    PhotoInput,
    PhotoRefused,
    RecordInput,
    photo_prepare,
    quantity_problems,
)
from sessions_app.technique_rules import misfits
from sessions_app.views.params import parse_int


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
    """The session's part of the record, the photos, the decision past a dose
    ceiling and (when amending) the reason."""

    before_photos = MultipleImageField(label="Before photos")
    after_photos = MultipleImageField(label="After photos")
    ceiling_decision = forms.CharField(
        label="Your decision: why you go ahead past the ceiling",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Kept with the record, with your name and the time.",
    )

    class Meta:
        model = TreatmentSession
        fields = ["anaesthetic", "pain_score", "combination_therapy", "notes"]
        widgets = {
            "pain_score": forms.NumberInput(attrs={"min": 0, "max": PAIN_SCORE_MAX, "inputmode": "numeric"}),
            "notes": forms.Textarea(attrs={"rows": 2}),
        }
        labels = {"pain_score": f"Pain score (0-{PAIN_SCORE_MAX})", "combination_therapy": "Combined with"}

    def __init__(self, *args, amending: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pain_score"].required = True
        self.fields["notes"].max_length = 4000
        if amending:
            self.fields["reason"] = forms.CharField(
                label="Reason for the amendment",
                max_length=2000,
                widget=forms.Textarea(attrs={"rows": 2}),
                help_text="Kept with the record, with your name and the time.",
            )

    def photos(self) -> list[PhotoInput]:
        return [PhotoInput(PhotoKind.BEFORE, f) for f in self.cleaned_data["before_photos"]] + [
            PhotoInput(PhotoKind.AFTER, f) for f in self.cleaned_data["after_photos"]
        ]


NOT_USED = "none"


class LotChoiceField(forms.ChoiceField):
    """A product's lot in an area: one of the lots offered, "not used", or
    any other lot id, which the form then puts to the lot rule, so that a
    crafted post or a page left open overnight is refused with the rule's
    reason rather than a bare "not a valid choice"."""

    def valid_value(self, value) -> bool:
        return value == NOT_USED or parse_int(str(value)) is not None or super().valid_value(value)


@dataclass
class ProductLine:
    """One product of the mixture in an area card: its lot choices (the first
    line's field is "lot_<id>", a second lot of the same product on an older
    record "lot_<id>_1"...) and its quantity field."""

    product: Product
    lot_fields: list[forms.BoundField]
    quantity: forms.BoundField
    offered: int  # how many lots the rule accepts


def _lot_label(lot: ProductLot, in_use: bool) -> str:
    label = f"{lot.lot_number} · exp. {lot.expiry_date:%d/%m/%Y}"
    return label + " · in use" if in_use else label


class AreaForm(forms.Form):
    """One treated area. Every field is required but the quantities; each
    product's lot is chosen or marked "not used here", and the lots chosen
    pass the lot rule again (a crafted post, a page left open overnight)."""

    def __init__(
        self,
        *args,
        area: TreatmentArea,
        products: Sequence[Product],
        choices: LotChoices,
        context: LotContext,
        extra_lots: Mapping[int, Sequence[ProductLot]] | None = None,
        lines: Mapping[int, int] | None = None,
        **kwargs,
    ):
        kwargs.setdefault("prefix", f"a{area.pk}")
        self._options = {
            "area": area,
            "products": products,
            "choices": choices,
            "context": context,
            "extra_lots": extra_lots,
            "lines": lines,
        }
        super().__init__(*args, **kwargs)
        self.area, self.products, self.context = area, list(products), context
        self.lines = dict(lines or {})
        for name in ("volume_ml", "depth", "technique", "needle_length_mm", "points"):
            model_field = Injection._meta.get_field(name)
            self.fields[name] = model_field.formfield(required=True)
            # The model's own bounds (at least 0.01 ml, at most 13 mm...), beside the field.
            self.fields[name].validators += [v for v in model_field.validators if v not in self.fields[name].validators]
        self.fields["volume_ml"].label = "Volume (ml)"
        self.fields["needle_length_mm"].label = "Needle (mm)"
        self.fields["points"].label = "Points"
        for name in ("volume_ml", "needle_length_mm", "points"):
            self.fields[name].widget.attrs["class"] = "form-control"
        for name in ("depth", "technique"):
            self.fields[name].widget.attrs["class"] = "form-select"
        self.fields["volume_ml"].widget.attrs.update(step="0.1", inputmode="decimal", min="0.01")
        self.fields["needle_length_mm"].widget.attrs.update(step="0.5", inputmode="decimal", min="0.1", max="13")
        self.fields["points"].widget.attrs.update(inputmode="numeric", min="1")
        for name in ("depth", "technique"):
            self.fields[name].choices = [("", "Choose"), *self.fields[name].choices[1:]]
        for f in ("volume_ml", "depth", "technique", "needle_length_mm", "points"):
            self.fields[f].error_messages["required"] = "Required for a treated area."
        self.fields["same_lots"] = forms.BooleanField(label="Same lots as the area above", required=False)
        self.lot_options: dict[int, list[tuple[str, str]]] = {}
        self.known_lots: dict[str, ProductLot] = {}
        for product in self.products:
            lots = list(choices.offered.get(product.pk, []))
            lots += [lot for lot in (extra_lots or {}).get(product.pk, ()) if lot not in lots]
            self.known_lots |= {str(lot.pk): lot for lot in lots}
            options = [("", "Choose the lot")]
            options += [(str(lot.pk), _lot_label(lot, choices.in_use.get(product.pk) == lot.pk)) for lot in lots]
            options.append((NOT_USED, "Not used in this area"))
            self.lot_options[product.pk] = options
            for n in range(max(1, self.lines.get(product.pk, 1))):
                self.fields[self.lot_field(product, n)] = LotChoiceField(
                    label=product.name, choices=options, required=False
                )
            self.fields[f"qty_{product.pk}"] = forms.DecimalField(
                label=f"{product.name}: ml (optional)",
                required=False,
                min_value=Decimal("0.01"),
                max_digits=6,
                decimal_places=2,
                widget=forms.NumberInput(attrs={"step": "0.1", "inputmode": "decimal", "min": "0.01"}),
            )
        self.offered_count = {p.pk: len(choices.offered.get(p.pk, [])) for p in self.products}

    def bound_copy(self) -> AreaForm:
        """The same card bound to its shown values, to read them as a submission would."""
        data = MultiValueDict()
        for name, f in self.fields.items():
            value = self[name].value()
            if isinstance(f.widget, forms.CheckboxInput):
                if value:
                    data[self.add_prefix(name)] = "on"
            elif value is not None:
                data[self.add_prefix(name)] = str(value)
        return AreaForm(data, prefix=self.prefix, **self._options)

    @staticmethod
    def lot_field(product: Product, n: int = 0) -> str:
        return f"lot_{product.pk}" if n == 0 else f"lot_{product.pk}_{n}"

    def product_lines(self) -> list[ProductLine]:
        return [
            ProductLine(
                product=p,
                lot_fields=[self[self.lot_field(p, n)] for n in range(max(1, self.lines.get(p.pk, 1)))],
                quantity=self[f"qty_{p.pk}"],
                offered=self.offered_count[p.pk],
            )
            for p in self.products
        ]

    def copy_lots_from(self, above: AreaForm) -> None:
        """ "Same lots as the area above": this area's lot choices become those
        of `above` (already cleaned), for the products both have."""
        for product in self.products:
            if product in above.products:
                for n in range(max(1, self.lines.get(product.pk, 1))):
                    name = self.lot_field(product, n)
                    source = above.lot_field(product, n)
                    self.cleaned_data[name] = above.cleaned_data.get(source, NOT_USED) or NOT_USED
                    self._errors.pop(name, None)

    def clean(self):
        data = super().clean()
        if data.get("same_lots"):
            return data  # the lots come from the area above (RecordForms.is_valid)
        self.check_lots()
        return data

    def _unknown_lots(self) -> None:
        """Lots posted that the form did not offer: read, to be judged by the lot rule."""
        from sessions_app.services.records import lots_for_rule

        ids = {v for n, v in self.cleaned_data.items() if n.startswith("lot_") and parse_int(v) is not None}
        if missing := ids - set(self.known_lots):
            self.known_lots |= {str(lot.pk): lot for lot in lots_for_rule().filter(pk__in=missing)}

    def check_lots(self) -> None:
        data = self.cleaned_data
        self._unknown_lots()
        chosen = []
        for product in self.products:
            for n in range(max(1, self.lines.get(product.pk, 1))):
                name = self.lot_field(product, n)
                value = data.get(name)
                if value in (None, "") and name not in self._errors:
                    self.add_error(name, f"Choose the lot of {product.name}, or “Not used in this area”.")
                elif value and value != NOT_USED and value not in self.known_lots:
                    self.add_error(name, "No such lot.")
                elif value and value != NOT_USED:
                    lot = self.known_lots[value]
                    chosen.append(lot)
                    if lot.product_id != product.pk and lot.product_id in self.context.mixture_product_ids:
                        self.add_error(name, f"{lot.product.name} lot {lot.lot_number} is not a lot of {product.name}.")
        if not chosen and not any(n.startswith("lot_") for n in self._errors):
            self.add_error(None, f"{self.area}: choose the lot of at least one product.")
        for reason in self.context.refusals(chosen):
            self.add_error(None, reason)

    def lots(self) -> tuple[ProductLot, ...]:
        values = [self.cleaned_data.get(name) for name in self.fields if name.startswith("lot_")]
        return tuple(self.known_lots[v] for v in values if v and v != NOT_USED and v in self.known_lots)

    def quantities(self) -> dict[int, Decimal]:
        return {p.pk: q for p in self.products if (q := self.cleaned_data.get(f"qty_{p.pk}")) is not None}

    def item(self) -> InjectionInput:
        data = self.cleaned_data
        return InjectionInput(
            area=self.area,
            lots=self.lots(),
            volume_ml=data["volume_ml"],
            depth=data["depth"],
            technique=data["technique"],
            needle_length_mm=data["needle_length_mm"],
            points=data["points"],
            quantities=self.quantities(),
        )

    def misfits(self) -> list[str]:
        """What does not fit in the depth, technique and needle as they stand (unbound: as first shown)."""
        values = {}
        for name in ("depth", "technique", "needle_length_mm"):
            raw = self[name].value()
            try:
                values[name] = self.fields[name].clean(raw)
            except forms.ValidationError:
                return []
        return misfits(**values)


@dataclass
class RecordForms:
    """The whole record form: the session's form and an area form per treated
    area, in the areas' name order (the order of the cards)."""

    session_form: SessionRecordForm
    area_forms: list[AreaForm]
    areas_offered: list[TreatmentArea]
    chosen: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def bound(self) -> bool:
        return self.session_form.is_bound

    @property
    def has_field_errors(self) -> bool:
        """Errors beside fields (after is_valid), the session's or an area's."""
        if not self.bound:
            return False
        fields = {k for k in self.session_form.errors if k != "__all__"}
        return bool(fields) or any(form.errors for form in self.area_forms)

    @property
    def error_areas(self) -> list[str]:
        return [form.area.name for form in self.area_forms if form.is_bound and form.errors]

    def is_valid(self) -> bool:
        self.errors = []
        valid = self.session_form.is_valid()
        above = None
        for form in self.area_forms:
            form.is_valid()
            if form.cleaned_data.get("same_lots") and above is not None:
                form.copy_lots_from(above)
                form.check_lots()
            elif form.cleaned_data.get("same_lots"):
                form.check_lots()  # the first area has none above: its own choices stand
            if not form.errors and (problems := quantity_problems(form.item())):
                for problem in problems:
                    form.add_error(None, problem)
            valid = valid and not form.errors
            above = form
        if not self.area_forms:
            self.errors.append("Choose at least one treated area on the chart or in the list, and record it.")
        return valid and not self.errors

    def record_input(self) -> RecordInput:
        data = self.session_form.cleaned_data
        return RecordInput(
            anaesthetic=data["anaesthetic"],
            pain_score=data["pain_score"],
            combination_therapy=data["combination_therapy"],
            notes=data["notes"],
            injections=tuple(form.item() for form in self.area_forms),
            ceiling_decision=data.get("ceiling_decision", ""),
        )

    def items_so_far(self) -> list[InjectionInput]:
        """The areas as far as they are filled in (a draft): those with a
        volume and a lot, for the dose ledger."""
        items = []
        above = None
        for shown in self.area_forms:
            form = shown if shown.is_bound else shown.bound_copy()
            form.is_valid()
            if form.cleaned_data.get("same_lots") and above is not None:
                form.copy_lots_from(above)
            data = form.cleaned_data
            lots = form.lots()
            used = {lot.product_id for lot in lots}
            if data.get("volume_ml") and lots:
                items.append(
                    InjectionInput(
                        area=form.area,
                        lots=lots,
                        volume_ml=data["volume_ml"],
                        depth=data.get("depth") or "",
                        technique=data.get("technique") or "",
                        needle_length_mm=data.get("needle_length_mm") or Decimal(0),
                        points=data.get("points") or 0,
                        quantities={p: q for p, q in form.quantities().items() if p in used},
                    )
                )
            above = form
        return items


def values_of(data: Mapping[str, Sequence[str]]) -> MultiValueDict:
    """A draft's stored fields as the forms read posted data."""
    return MultiValueDict({name: list(values) for name, values in data.items()})


def initial_from(form: forms.Form, data: MultiValueDict) -> dict:
    """The values `data` gives `form`'s fields, as initial values: a draft
    shown again without its errors (it is not being submitted)."""
    initial = {}
    for name, f in form.fields.items():
        key = form.add_prefix(name)
        if isinstance(f, forms.FileField):
            continue
        if key in data or isinstance(f.widget, forms.CheckboxInput):
            initial[name] = f.widget.value_from_datadict(data, MultiValueDict(), key)
    return initial
