import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connections, models
from django.db.models import F, Func, Lookup, OuterRef, Q, Subquery, Value
from django.db.models.functions import Collate
from django.utils import timezone
from django.utils.timezone import localtime
from simple_history.models import HistoricalRecords

from sessions_app import clearance
from sessions_app.search_terms import SearchTerms, parse_search, search_key

from .catalog import Substance, TreatmentArea


class Sex(models.TextChoices):
    """Administrative sex, as reports to the authorities ask it; empty when not recorded."""

    FEMALE = "female", "Female"
    MALE = "male", "Male"


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    PHONE = "phone", "Phone call"


# No client alive today was born before this (the database's bound).
BORN_AFTER = dt.date(1900, 1, 1)
# Nor more than this many years ago (the forms' bound, which moves with the years).
OLDEST_AGE = 120


def validate_date_of_birth(value: dt.date) -> None:
    today = timezone.localdate()
    if value > today:
        raise ValidationError("A date of birth cannot be in the future.")
    if value < BORN_AFTER or value < today.replace(year=today.year - OLDEST_AGE, day=min(today.day, 28)):
        raise ValidationError(
            f"A date of birth more than {OLDEST_AGE} years ago ({value:%d/%m/%Y}) is a typing error.",
            code="too_old",
        )


class WordSimilar(Lookup):
    """PostgreSQL's pg_trgm `%>`: the right-hand word is close to some word of
    the left-hand text (word_similarity at least pg_trgm.word_similarity_threshold,
    0.6 by default: "lefebre" finds "Lefebvre"). The GIN trigram index serves it."""

    lookup_name = "word_similar"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} %%> {rhs}", (*lhs_params, *rhs_params)


class SearchNameField(models.TextField):
    """The type of SearchName, which alone knows `word_similar`."""


SearchNameField.register_lookup(WordSimilar)


class SearchName(Func):
    """lower(unaccent(first_name || ' ' || last_name)) on PostgreSQL, through
    the IMMUTABLE SQL function migration 0016 creates: the GIN trigram index
    client_search_name_trgm is on exactly this expression."""

    function = "mesoclinic_search_name"
    output_field = SearchNameField()


class ClientQuerySet(models.QuerySet):
    def active(self):
        return self.filter(archived_at__isnull=True)

    def search(self, query: str, *, region: str | None = None):
        """Reception's search everywhere (the client search, the booking page's
        picker, the admin): every word typed is found somewhere in the name,
        in any order, whatever the accents and the case ("garcia" finds
        García, "dupont marie" Marie Dupont); a phone in any format or its
        last 4 or more digits; an email; a date of birth ("14/09/1966"). On
        PostgreSQL a small typo still finds the name ("lefebre"), and the
        closest names come first; elsewhere (SQLite) the stored search key is
        read. Nothing typed finds nothing."""
        terms = parse_search(query, region or settings.CLINIC_PHONE_REGION)
        if terms.empty:
            return self.none()
        if terms.unread:
            return self.none()
        found = self
        postgres = connections[self.db].vendor == "postgresql"
        if terms.words:
            if postgres:
                found = found.alias(search_name=SearchName(F("first_name"), F("last_name")))
                for word in terms.words:
                    found = found.filter(Q(search_name__contains=word) | Q(search_name__word_similar=word))
            else:
                for word in terms.words:
                    found = found.filter(search_key__contains=word)
        if terms.date_of_birth:
            found = found.filter(date_of_birth=terms.date_of_birth)
        if terms.email:
            found = found.filter(email__iexact=terms.email)
        if terms.phone:
            found = found.filter(phone=terms.phone)
        elif terms.phone_digits:
            phone = Q(phone__contains=terms.phone_digits)
            if terms.phone_prefix:
                phone |= Q(phone__startswith=terms.phone_prefix)
            found = found.filter(phone)
        if postgres and terms.words:
            rank = Func(Value(" ".join(terms.words)), F("search_name"), function="word_similarity")
            return found.order_by(rank.desc(), "last_name", "first_name", "pk")
        return found.order_by("last_name", "first_name", "pk")

    def search_first(self, query: str, limit: int, *, region: str | None = None) -> list:
        """The first `limit` clients `search` finds, for the pages that show a
        few (the client search, the booking picker). One word typed on
        PostgreSQL ("mar", "garcia") is read a tier at a time, each a range of
        an index in order, so that a chain's 100,000 clients cost what 1,000
        do: the last names it begins (alphabetically), then the first names it
        begins, then the rest `search` finds (a part of a name, a typo), the
        closest first. Anything else: `search`'s order."""
        terms = parse_search(query, region or settings.CLINIC_PHONE_REGION)
        one_word = len(terms.words) == 1 and terms == SearchTerms(words=terms.words)
        if not one_word or connections[self.db].vendor != "postgresql":
            return list(self.search(query, region=region)[:limit])
        [word] = terms.words
        found: list[Client] = []
        for first, second in (("last_name", "first_name"), ("first_name", "last_name")):
            # client_search_last_first and client_search_first_last (migration 0033).
            key = Collate(SearchName(F(first), F(second)), "C")
            tier = self.alias(key=key).filter(key__startswith=word).exclude(pk__in=[c.pk for c in found])
            found += tier.order_by("key", "pk")[: limit - len(found)]
            if len(found) >= limit:
                return found
        rest = self.search(query, region=region).exclude(pk__in=[c.pk for c in found])
        return found + list(rest[: limit - len(found)])


class Client(models.Model):
    """A person treated at the clinic. Never deleted: archived, so that the
    clinical record stays whole."""

    first_name = models.CharField(max_length=80)
    last_name = models.CharField(max_length=80)
    date_of_birth = models.DateField(validators=[validate_date_of_birth])
    sex = models.CharField(
        max_length=6,
        choices=Sex.choices,
        blank=True,
        help_text="Administrative, for reports of side effects to the authorities. Empty: not recorded.",
    )
    email = models.EmailField(blank=True)
    # E.164 ("+33639987673"), written by services/clients.py from what was typed
    # (sessions_app.phones); an old number the migration could not read stays as
    # it was typed until someone corrects it ("Phones to check" in the admin).
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
    # Two records of one person merged: this one was archived, everything it
    # held moved to `merged_into` (services.clients.client_merge).
    merged_into = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="merged_records", editable=False
    )
    # The folded name (search_terms.search_key): what the search reads on SQLite.
    # Written with the names by the services and by seed_demo; PostgreSQL reads
    # the names themselves through unaccent and a trigram index instead.
    search_key = models.CharField(max_length=200, blank=True, editable=False)
    # Each save adds one: an edit made on an older version is refused
    # (the optimistic check of services.clients.client_update).
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(m2m_fields=[allergies], excluded_fields=["search_key"])
    objects = ClientQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        permissions = [
            ("export_client", "Can export a client's whole record (privacy request)"),
            ("erase_client", "Can erase a client's contact data (privacy request)"),
            ("merge_client", "Can merge two records of one client"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(erased_at__isnull=True)
                | Q(email="", phone="", address="", consent_email=False, consent_sms=False, archived_at__isnull=False),
                name="client_erased_has_no_contact",
                violation_error_message="An erased client has no contact details and no reminder consent.",
            ),
            models.CheckConstraint(condition=Q(sex="") | Q(sex__in=Sex.values), name="client_sex_valid"),
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
            models.CheckConstraint(
                condition=Q(merged_into__isnull=True) | Q(archived_at__isnull=False),
                name="client_merged_is_archived",
                violation_error_message="A record merged into another is archived.",
            ),
            models.CheckConstraint(
                condition=~Q(merged_into=F("pk")),
                name="client_not_merged_into_itself",
            ),
        ]
        indexes = [
            # Client search by name (admin search, reception's lookup), in list order.
            models.Index(fields=["last_name", "first_name"], name="client_name_idx"),
            # Lookup by phone when a client calls in.
            models.Index(fields=["phone"], name="client_phone_idx"),
            models.Index(fields=["email"], name="client_email_idx"),
            # Search by date of birth, and the duplicates of a new client (same date, a similar name).
            models.Index(fields=["date_of_birth"], name="client_dob_idx"),
            # PostgreSQL only, made by migration 0016 (no Django index type says it):
            # client_search_name_trgm, GIN trigram on SearchName (names, any part, typos),
            # client_phone_trgm, GIN trigram on phone (the last digits, a part of a number).
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
    def is_merged(self) -> bool:
        return self.merged_into_id is not None

    @property
    def age(self) -> int:
        """Full years today, on the clinic's calendar."""
        today = timezone.localdate()
        born = self.date_of_birth
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day))

    def refresh_search_key(self) -> None:
        """Set the stored search key from the names (the services call this before each save)."""
        self.search_key = search_key(self.first_name, self.last_name)

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

    @staticmethod
    def latest_of_client() -> Subquery:
        """The id of the latest screening of the outer row's client
        (`client_id`): the one the treatment rule reads, and whose age the
        renewal reminder counts (screening_client_latest_idx)."""
        latest = Screening.objects.filter(client_id=OuterRef("client_id")).order_by("-screened_at", "-pk")
        return Subquery(latest.values("pk")[:1])


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
