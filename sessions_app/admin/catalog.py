"""Reference data managers edit: small tables, plain screens (mixtures with
their products inline, products with what each ml holds, protocols per
indication)."""

from django import forms
from django.contrib import admin
from django.utils import timezone

from sessions_app.models import (
    ClosedDay,
    Indication,
    Mixture,
    MixtureComponent,
    OpeningHours,
    Product,
    ProductLot,
    ProductSubstance,
    Protocol,
    Room,
    SideEffectKind,
    Substance,
    TreatmentArea,
)

from .base import DateDrillDownMixin, KeepLinkedMixin, StrRelationsMixin


@admin.register(TreatmentArea)
class TreatmentAreaAdmin(KeepLinkedMixin, admin.ModelAdmin):
    list_display = ["name", "region", "chart_zone", "active"]
    list_filter = ["region", "active"]
    search_fields = ["name"]


@admin.register(Indication)
class IndicationAdmin(KeepLinkedMixin, admin.ModelAdmin):
    list_display = ["name", "reduces_fat", "active"]
    list_filter = ["active", "reduces_fat"]
    search_fields = ["name"]


@admin.register(Substance)
class SubstanceAdmin(KeepLinkedMixin, admin.ModelAdmin):
    list_display = ["name", "category", "unit", "ceiling_per_session", "ceiling_per_12_months", "active"]
    list_filter = ["category", "active"]
    search_fields = ["name"]
    fieldsets = [
        (None, {"fields": ["name", "category", "active"]}),
        (
            "Dose ledger",
            {
                "fields": ["unit", "ceiling_per_session", "ceiling_per_12_months"],
                "description": "Optional ceilings: signing a record that goes past one asks the practitioner's "
                "decision, which the record keeps.",
            },
        ),
    ]


class ProductSubstanceInline(StrRelationsMixin, admin.TabularInline):
    model = ProductSubstance
    extra = 0
    autocomplete_fields = ["substance"]
    fields = ["substance", "amount_per_ml"]


class ProductLotInline(StrRelationsMixin, admin.TabularInline):
    model = ProductLot
    extra = 0
    # A lot is deleted from its own page, which refuses while injections name it.
    can_delete = False
    fields = ["lot_number", "expiry_date", "received_on"]


@admin.register(Product)
class ProductAdmin(KeepLinkedMixin, admin.ModelAdmin):
    list_display = ["name", "manufacturer", "active"]
    list_filter = ["active", "manufacturer"]
    search_fields = ["name", "manufacturer"]
    inlines = [ProductSubstanceInline, ProductLotInline]


@admin.register(ProductLot)
class ProductLotAdmin(DateDrillDownMixin, KeepLinkedMixin, StrRelationsMixin, admin.ModelAdmin):
    list_display = ["lot_number", "product", "expiry_date", "expired", "received_on"]
    list_select_related = ["product"]
    search_fields = ["lot_number", "product__name"]
    list_filter = ["product__manufacturer"]
    date_hierarchy = "expiry_date"
    autocomplete_fields = ["product"]

    @admin.display(boolean=True, ordering="expiry_date")
    def expired(self, obj: ProductLot) -> bool:
        return obj.is_expired_on(timezone.localdate())


@admin.register(SideEffectKind)
class SideEffectKindAdmin(KeepLinkedMixin, admin.ModelAdmin):
    list_display = ["name", "expected_days", "allergy", "symptom", "active"]
    list_filter = ["active"]
    search_fields = ["name"]


@admin.register(Room)
class RoomAdmin(KeepLinkedMixin, admin.ModelAdmin):
    list_display = ["name", "active"]
    list_filter = ["active"]
    search_fields = ["name"]


@admin.register(OpeningHours)
class OpeningHoursAdmin(admin.ModelAdmin):
    list_display = ["weekday", "opens", "closes"]
    list_filter = ["weekday"]


@admin.register(ClosedDay)
class ClosedDayAdmin(DateDrillDownMixin, admin.ModelAdmin):
    list_display = ["date", "reason"]
    search_fields = ["reason"]
    date_hierarchy = "date"


class MixtureComponentInline(StrRelationsMixin, admin.TabularInline):
    model = MixtureComponent
    extra = 0
    autocomplete_fields = ["product"]


@admin.register(Mixture)
class MixtureAdmin(admin.ModelAdmin):
    list_display = ["name", "indication", "active"]
    list_select_related = ["indication"]
    search_fields = ["name"]
    list_filter = ["active", "indication"]
    inlines = [MixtureComponentInline]


@admin.register(MixtureComponent)
class MixtureComponentAdmin(StrRelationsMixin, admin.ModelAdmin):
    list_display = ["mixture", "product", "amount", "unit"]
    list_select_related = ["mixture", "product"]
    search_fields = ["mixture__name", "product__name"]
    list_filter = ["mixture"]
    autocomplete_fields = ["mixture", "product"]


class ProtocolForm(forms.ModelForm):
    def clean(self):
        from sessions_app.technique_rules import misfits

        cleaned = super().clean()
        depth, technique, needle = (cleaned.get(f) for f in ("depth", "technique", "needle_length_mm"))
        if depth and technique and needle is not None:
            for problem in misfits(depth=depth, technique=technique, needle_length_mm=needle):
                self.add_error(None, problem)
        return cleaned


@admin.register(Protocol)
class ProtocolAdmin(admin.ModelAdmin):
    """What the clinic usually does per indication: booking and the session
    record start from it."""

    form = ProtocolForm
    list_display = ["indication", "mixture", "sessions", "interval_days", "maintenance_interval_days", "depth"]
    list_select_related = ["indication", "mixture"]
    autocomplete_fields = ["indication", "mixture"]
    filter_horizontal = ["areas"]
    fieldsets = [
        (None, {"fields": ["indication", "mixture", "areas"]}),
        ("Series", {"fields": ["sessions", "interval_days", "maintenance_interval_days"]}),
        ("Each area", {"fields": ["depth", "technique", "needle_length_mm", "volume_ml", "points"]}),
        (None, {"fields": ["notes"]}),
    ]
