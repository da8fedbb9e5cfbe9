"""Clients, their screenings and their consents."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import ngettext
from simple_history.admin import SimpleHistoryAdmin

from sessions_app.client_forms import PhoneField
from sessions_app.models import Client, Consent, ConsentText, Screening, ScreeningAnswer, contraindication_severity
from sessions_app.phones import phone_display
from sessions_app.services.clients import (
    CLINICAL_FIELDS,
    CONTACT_FIELDS,
    ClientChanged,
    ClientMerged,
    ErasedClient,
    client_archive,
    client_create,
    client_restore,
    client_update,
)

from .base import BigTableAdmin, FixedChoicesMixin, LogReadsMixin, NoDeleteInline, NoDeleteMixin, StrRelationsMixin

CLIENT_SEARCH = ["last_name", "first_name", "email", "phone"]


class ArchivedFilter(admin.SimpleListFilter):
    """Active clients unless asked otherwise: archived ones are out of the
    clinic's daily work, but one click away."""

    title = "archived"
    parameter_name = "archived"

    def lookups(self, request, model_admin):
        return [("no", "Active"), ("yes", "Archived"), ("all", "All")]

    def value(self):
        return super().value() or "no"

    def choices(self, changelist):
        # No "All" link of Django's own: ours is explicit, since no parameter means "Active".
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        match self.value():
            case "no":
                return queryset.active()
            case "yes":
                return queryset.filter(archived_at__isnull=False)
        return queryset


# A number in the E.164 form the app writes; any other was kept as typed by the migration.
E164 = r"^\+[1-9][0-9]{1,14}$"


class PhoneToCheckFilter(admin.SimpleListFilter):
    """The numbers migration 0018 could not read, kept as typed: a manager
    corrects them (or asks the client)."""

    title = "phone"
    parameter_name = "phone_check"

    def lookups(self, request, model_admin):
        return [("to_check", "To check (not a readable number)")]

    def queryset(self, request, queryset):
        if self.value() == "to_check":
            return queryset.exclude(Q(phone="") | Q(phone__regex=E164))
        return queryset


class ClientAdminForm(forms.ModelForm):
    phone = PhoneField(label="Phone")
    # The version the form was opened on: an edit saved over someone else's is refused.
    loaded_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Client
        fields = [*CONTACT_FIELDS, *CLINICAL_FIELDS, "allergies"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["phone"] = phone_display(self.instance.phone, settings.CLINIC_PHONE_REGION)
            self.initial["loaded_version"] = self.instance.version

    def clean(self):
        data = super().clean()
        loaded = data.get("loaded_version")
        if self.instance.pk and loaded is not None:
            current = Client.objects.filter(pk=self.instance.pk).values_list("version", flat=True).first()
            if current != loaded:
                raise forms.ValidationError(
                    "Someone saved this client while you were editing: nothing was saved. "
                    "Open the record again to see their changes."
                )
        return data


@admin.register(Client)
class ClientAdmin(LogReadsMixin, NoDeleteMixin, BigTableAdmin, SimpleHistoryAdmin):
    client_field = "pk"
    form = ClientAdminForm
    list_display = [
        "last_name",
        "first_name",
        "date_of_birth",
        "phone_number",
        "email",
        "preferred_channel",
        "archived",
    ]
    list_display_links = ["last_name", "first_name"]
    search_fields = CLIENT_SEARCH
    list_filter = [ArchivedFilter, PhoneToCheckFilter, "preferred_channel", "consent_email", "consent_sms"]
    autocomplete_fields = ["allergies"]
    # Archiving goes through the actions, so that it is recorded the one way.
    readonly_fields = ["archived_at", "merged_into", "erased_at", "erased_by", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["first_name", "last_name", "date_of_birth", "loaded_version"]}),
        ("Contact", {"fields": ["email", "phone", "address", "preferred_channel", "consent_email", "consent_sms"]}),
        ("Clinical", {"fields": ["allergies", "notes"]}),
        ("Record", {"fields": ["archived_at", "merged_into", "erased_at", "erased_by", "created_at", "updated_at"]}),
    ]
    actions = ["archive", "restore"]
    # What a privacy request erased stays erased.
    ERASED_READ_ONLY = ["email", "phone", "address", "preferred_channel", "consent_email", "consent_sms"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.is_erased:
            return [*self.readonly_fields, *self.ERASED_READ_ONLY]
        return self.readonly_fields

    @admin.display(boolean=True, ordering="archived_at")
    def archived(self, obj: Client) -> bool:
        return obj.is_archived

    @admin.display(description="phone", ordering="phone")
    def phone_number(self, obj: Client) -> str:
        return phone_display(obj.phone, settings.CLINIC_PHONE_REGION)

    def get_search_results(self, request, queryset, search_term):
        """The staff pages' search (Client.objects.search): accents, word order,
        a phone in any format, an email, a date of birth."""
        if not search_term.strip():
            return queryset, False
        return queryset.filter(pk__in=Client.objects.search(search_term).values("pk")), False

    def save_model(self, request, obj, form, change):
        """Through services.clients, as the staff pages: history, version, E.164."""
        data = form.cleaned_data
        values = {f: data[f] for f in (*CONTACT_FIELDS, *CLINICAL_FIELDS) if f in data}
        allergies = data.get("allergies")
        if not change:
            created = client_create(by=request.user, values=values, allergies=allergies)
            obj.pk, obj.version = created.pk, created.version
            return
        try:
            client_update(
                client_id=obj.pk,
                version=data.get("loaded_version") or obj.version,
                by=request.user,
                values=values,
                allergies=allergies,
            )
        except (ClientChanged, ClientMerged) as exc:
            self.message_user(request, f"{exc} Nothing was saved.", messages.ERROR)

    def save_related(self, request, form, formsets, change):
        # The allergies were written by the service, with the rest.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    @admin.action(description="Archive selected clients", permissions=["change"])
    def archive(self, request, queryset):
        done = [client_archive(client=c, by=request.user) for c in queryset if not c.is_archived]
        self.message_user(
            request,
            ngettext("%d client archived.", "%d clients archived.", len(done)) % len(done),
            messages.SUCCESS,
        )

    @admin.action(description="Restore selected clients", permissions=["change"])
    def restore(self, request, queryset):
        done, erased, merged = [], [], []
        for c in queryset.filter(archived_at__isnull=False):
            try:
                done.append(client_restore(client=c, by=request.user))
            except ErasedClient:
                erased.append(c.full_name)
            except ClientMerged:
                merged.append(c.full_name)
        self.message_user(
            request,
            ngettext("%d client restored.", "%d clients restored.", len(done)) % len(done),
            messages.SUCCESS,
        )
        if merged:
            names = ", ".join(merged)
            self.message_user(
                request,
                f"Not restored, merged into another record (which holds their history): {names}.",
                messages.WARNING,
            )
        if erased:
            names = ", ".join(erased)
            self.message_user(
                request, f"Not restored, erased at their request (they stay archived): {names}.", messages.WARNING
            )


def set_severity(answer: ScreeningAnswer, changed: list[str], by) -> None:
    # Severity follows from the question; contraindication_severity is the one
    # place that decides it, so the admin never asks for it. A judgement
    # written here is the writer's (the treatment rule reads whether they are
    # a physician).
    if answer.pk is None or "question" in changed:
        answer.severity = contraindication_severity(answer.question)
    if "judgement" in changed:
        answer.judged_by, answer.judged_at = (by, timezone.now()) if answer.judgement else (None, None)


class ScreeningAnswerInline(NoDeleteInline):
    model = ScreeningAnswer
    fields = ["question", "answer", "severity", "details", "areas", "judgement", "judged_by", "judged_at"]
    readonly_fields = ["severity", "judged_by", "judged_at"]


@admin.register(Screening)
class ScreeningAdmin(LogReadsMixin, NoDeleteMixin, StrRelationsMixin, BigTableAdmin, SimpleHistoryAdmin):
    client_field = "client_id"
    list_display = ["client", "screened_at", "screened_by"]
    list_select_related = ["client", "screened_by"]
    search_fields = [f"client__{f}" for f in CLIENT_SEARCH]
    list_filter = ["screened_by"]
    date_hierarchy = "screened_at"
    autocomplete_fields = ["client", "screened_by"]
    inlines = [ScreeningAnswerInline]

    def get_changeform_initial_data(self, request):
        return {"screened_by": request.user.pk, **super().get_changeform_initial_data(request)}

    def save_formset(self, request, form, formset, change):
        changed = {id(f.instance): f.changed_data for f in formset.forms}
        for answer in formset.save(commit=False):
            set_severity(answer, changed.get(id(answer), []), request.user)
            answer.save()
        formset.save_m2m()


@admin.register(ScreeningAnswer)
class ScreeningAnswerAdmin(LogReadsMixin, NoDeleteMixin, StrRelationsMixin, BigTableAdmin, SimpleHistoryAdmin):
    client_field = "screening__client_id"
    list_display = ["screening", "question", "answer", "severity"]
    # The newest first, from the primary key: the model's order goes through the
    # screening's own (its date) and sorted every answer of every screening.
    ordering = ["-pk"]
    list_select_related = ["screening__client"]
    search_fields = [f"screening__client__{f}" for f in CLIENT_SEARCH]
    list_filter = ["question", "answer", "severity"]
    autocomplete_fields = ["screening"]
    readonly_fields = ["severity", "judged_by", "judged_at"]

    def save_model(self, request, obj, form, change):
        set_severity(obj, form.changed_data, request.user)
        super().save_model(request, obj, form, change)


@admin.register(ConsentText)
class ConsentTextAdmin(admin.ModelAdmin):
    """A text clients signed is what they signed: it is never edited or deleted
    afterwards. A change is a new version, which asks each plan for a new
    signature."""

    list_display = ["version", "title", "effective_from"]
    search_fields = ["title"]

    def has_change_permission(self, request, obj=None) -> bool:
        return not (obj and obj.consents.exists()) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return not (obj and obj.consents.exists()) and super().has_delete_permission(request, obj)


@admin.register(Consent)
class ConsentAdmin(LogReadsMixin, NoDeleteMixin, StrRelationsMixin, BigTableAdmin, SimpleHistoryAdmin):
    client_field = "plan__client_id"
    list_display = ["signed_name", "plan", "consent_text", "signed_at", "witnessed_by"]
    list_select_related = ["plan__client", "plan__indication", "consent_text", "witnessed_by"]
    search_fields = ["signed_name", *(f"plan__client__{f}" for f in CLIENT_SEARCH)]
    list_filter = ["consent_text"]
    date_hierarchy = "signed_at"
    autocomplete_fields = ["plan", "witnessed_by"]


class ConsentInline(FixedChoicesMixin, NoDeleteMixin, StrRelationsMixin, admin.StackedInline):
    model = Consent
    extra = 0
    fields = ["consent_text", "signed_name", "agreed", "signed_at", "witnessed_by"]
    autocomplete_fields = ["witnessed_by"]
    fixed_choice_fields = ("consent_text",)
