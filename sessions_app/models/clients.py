import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.timezone import localtime
from simple_history.models import HistoricalRecords

from sessions_app import clearance

from .catalog import Substance, TreatmentArea


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    PHONE = "phone", "Phone call"


# No client alive today was born before this.
BORN_AFTER = dt.date(1900, 1, 1)


def validate_date_of_birth(value: dt.date) -> None:
    if value > timezone.localdate():
        raise ValidationError("A date of birth cannot be in the future.")
    if value < BORN_AFTER:
        raise ValidationError(f"A date of birth before {BORN_AFTER:%d/%m/%Y} is a typing error.")


class ClientQuerySet(models.QuerySet):
    def active(self):
        return self.filter(archived_at__isnull=True)

    def matching(self, query: str):
        """Clients whose first or last name starts with each word typed, or whose
        phone contains it ("mar dup", "06 12"): reception's search everywhere."""
        condition = Q()
        for word in query.split():
            condition &= Q(last_name__istartswith=word) | Q(first_name__istartswith=word) | Q(phone__contains=word)
        return self.filter(condition)


class Client(models.Model):
    """A person treated at the clinic. Never deleted: archived, so that the
    clinical record stays whole."""

    first_name = models.CharField(max_length=80)
    last_name = models.CharField(max_length=80)
    date_of_birth = models.DateField(validators=[validate_date_of_birth])
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    address = models.TextField(blank=True)
    preferred_channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    consent_email = models.BooleanField("agrees to email reminders", default=False)
    consent_sms = models.BooleanField("agrees to SMS reminders", default=False)
    allergies = models.ManyToManyField(
        Substance,
        blank=True,
        related_name="allergic_clients",
        help_text="Known allergies to substances.",
    )
    notes = models.TextField(blank=True)
    archived_at = models.DateTimeField(null=True, blank=True, help_text="Set when the client is archived.")
    # A privacy request erased the contact and marketing data; the clinical
    # record stays for its legal retention time (sessions_app.services.privacy).
    erased_at = models.DateTimeField(null=True, blank=True, editable=False)
    erased_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(m2m_fields=[allergies])
    objects = ClientQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        permissions = [
            ("export_client", "Can export a client's whole record (privacy request)"),
            ("erase_client", "Can erase a client's contact data (privacy request)"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(erased_at__isnull=True)
                | Q(email="", phone="", address="", consent_email=False, consent_sms=False, archived_at__isnull=False),
                name="client_erased_has_no_contact",
                violation_error_message="An erased client has no contact details and no reminder consent.",
            ),
            models.CheckConstraint(
                condition=Q(preferred_channel__in=Channel.values),
                name="client_preferred_channel_valid",
            ),
            models.CheckConstraint(
                condition=Q(date_of_birth__gte=BORN_AFTER),
                name="client_born_after_1900",
                violation_error_message=f"A date of birth before {BORN_AFTER:%d/%m/%Y} is a typing error.",
            ),
            models.CheckConstraint(
                condition=Q(consent_email=False) | ~Q(email=""),
                name="client_email_consent_needs_email",
                violation_error_message="Email reminders need an email address.",
            ),
            models.CheckConstraint(
                condition=Q(consent_sms=False) | ~Q(phone=""),
                name="client_sms_consent_needs_phone",
                violation_error_message="SMS reminders need a phone number.",
            ),
        ]
        indexes = [
            # Client search by name (admin search, reception's lookup), in list order.
            models.Index(fields=["last_name", "first_name"], name="client_name_idx"),
            # Lookup by phone when a client calls in.
            models.Index(fields=["phone"], name="client_phone_idx"),
            models.Index(fields=["email"], name="client_email_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.last_name}, {self.first_name}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None

    def clean(self):
        # Mirrors client_erased_has_no_contact, which forms cannot check (erased_at is not in them).
        if self.is_erased and (self.email or self.phone or self.address or self.consent_email or self.consent_sms):
            raise ValidationError("An erased client has no contact details and no reminder consent.")


class Contraindication(models.TextChoices):
    """The questionnaire of DESIGN.md, one question each; what a yes means is
    sessions_app.clearance.QUESTION_SEVERITY."""

    PREGNANCY = "pregnancy", "Pregnant or breastfeeding"
    DIABETES = "diabetes", "Diabetes"
    LIVER_KIDNEY = "liver_kidney", "Liver or kidney disease"
    CARDIOVASCULAR = "cardiovascular", "Cardiovascular disease"
    BLEEDING = "bleeding", "Blood or bleeding disorder, or anticoagulant therapy"
    AUTOIMMUNE = "autoimmune", "Autoimmune disease"
    SKIN_INFECTION = "skin_infection", "Active skin infection"
    SKIN_CONDITION = "skin_condition", "Severe chronic skin condition or severe acne"
    ALLERGY = "allergy", "Known allergy to a substance in the mixture"
    KELOID = "keloid", "Tendency to keloid scars"
    IMMUNOSUPPRESSED = "immunosuppressed", "Weakened immune system"
    SEVERE_OBESITY = "severe_obesity", "Severe obesity"


class Severity(models.TextChoices):
    """What a yes means, recorded with each answer (sessions_app.clearance)."""

    ABSOLUTE = clearance.ABSOLUTE, "Rules treatment out"
    RELATIVE = clearance.CAUTION, "Calls for caution: a physician's judgement"
    IN_AREA = clearance.IN_AREA, "Rules treatment out in the areas named"
    INDICATION = clearance.INDICATION, "Rules out the indications it concerns"


def contraindication_severity(question: str) -> Severity:
    """What a yes to `question` means today (sessions_app.clearance decides)."""
    return Severity(clearance.question_severity(question))


class Screening(models.Model):
    """A dated contraindication questionnaire."""

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="screenings")
    screened_at = models.DateTimeField()
    screened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    notes = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-screened_at"]
        indexes = [
            # The client's latest screening (is it still valid?).
            models.Index(fields=["client", "-screened_at"], name="screening_client_latest_idx"),
            # The admin's list, newest first (a page read from the index, not sorted), and
            # the first and last date of its date drill-down.
            models.Index(fields=["-screened_at", "-id"], name="screening_screened_idx"),
        ]

    def __str__(self) -> str:
        return f"Screening of {self.client} on {localtime(self.screened_at):%Y-%m-%d}"


class ScreeningAnswer(models.Model):
    """One question of a screening. Only the questions asked have a row: a
    question for another indication (severe obesity, for fat reduction) may
    have been left out."""

    screening = models.ForeignKey(Screening, on_delete=models.CASCADE, related_name="answers")
    question = models.CharField(max_length=30, choices=Contraindication.choices)
    answer = models.BooleanField("yes", default=False)
    details = models.TextField(blank=True)
    severity = models.CharField(
        max_length=10,
        choices=Severity.choices,
        help_text="What a yes meant when it was answered.",
    )
    # For a condition in the area to be treated: which areas (answers from
    # before areas were asked have none, and kept their "absolute" severity).
    areas = models.ManyToManyField(TreatmentArea, blank=True, related_name="+")
    judgement = models.TextField(
        blank=True,
        help_text="For a yes that calls for caution: the physician's recorded judgement (why treating is safe).",
    )
    judged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    judged_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords(m2m_fields=[areas])

    class Meta:
        ordering = ["screening", "question"]
        constraints = [
            models.UniqueConstraint(
                fields=["screening", "question"],
                name="answer_unique_question_per_screening",
            ),
            models.CheckConstraint(
                condition=Q(question__in=Contraindication.values),
                name="answer_question_valid",
            ),
            models.CheckConstraint(condition=Q(severity__in=Severity.values), name="answer_severity_valid"),
            models.CheckConstraint(
                condition=Q(judgement="") | Q(judged_by__isnull=False, judged_at__isnull=False),
                name="answer_judgement_has_judge",
                violation_error_message="A judgement records who judged, and when.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_question_display()}: {'yes' if self.answer else 'no'}"


class ConsentText(models.Model):
    """A versioned consent text; a new version asks for a new signature."""

    version = models.PositiveIntegerField(unique=True)
    title = models.CharField(max_length=160)
    body = models.TextField()
    effective_from = models.DateField()

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.CheckConstraint(condition=Q(version__gte=1), name="consent_text_version_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"


class Consent(models.Model):
    """A client's signature to a consent text, for one treatment plan."""

    plan = models.ForeignKey("sessions_app.TreatmentPlan", on_delete=models.PROTECT, related_name="consents")
    consent_text = models.ForeignKey(ConsentText, on_delete=models.PROTECT, related_name="consents")
    signed_name = models.CharField(max_length=160, help_text="The client's name, typed by the client.")
    agreed = models.BooleanField(default=False, help_text="The client ticked the box.")
    signed_at = models.DateTimeField()
    witnessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["-signed_at"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "consent_text"], name="consent_unique_text_per_plan"),
            models.CheckConstraint(
                condition=Q(agreed=True),
                name="consent_agreed",
                violation_error_message="Consent must be ticked by the client.",
            ),
            models.CheckConstraint(
                condition=~Q(signed_name=""),
                name="consent_signed_name_present",
                violation_error_message="The client must type their name.",
            ),
        ]
        indexes = [
            # The admin's list, newest first (a page read from the index, not sorted), and
            # the first and last date of its date drill-down.
            models.Index(fields=["-signed_at", "-id"], name="consent_signed_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.signed_name} signed {self.consent_text} on {localtime(self.signed_at):%Y-%m-%d}"
