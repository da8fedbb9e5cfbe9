from django.contrib.auth.models import AbstractUser
from django.db import models
from simple_history.models import HistoricalRecords


class Role(models.TextChoices):
    """The three staff roles. Each is a Django group of the same name, created by
    migration; `sessions_app.roles` holds what each may do."""

    RECEPTION = "Reception"
    PRACTITIONER = "Practitioner"
    MANAGER = "Manager"


class Profession(models.TextChoices):
    """What a member of staff is trained as. Some clinical decisions belong to a
    physician only (clearing a contraindication that calls for caution)."""

    PHYSICIAN = "physician", "Physician"
    NURSE = "nurse", "Nurse"
    OTHER = "other", "Other"


class User(AbstractUser):
    """A member of staff. Practitioners are users in the Practitioner group."""

    job_title = models.CharField(max_length=100, blank=True, help_text="For example: physician, nurse injector.")
    profession = models.CharField(
        max_length=10,
        choices=Profession.choices,
        blank=True,
        help_text="For practitioners: some clinical decisions are a physician's only.",
    )
    phone = models.CharField(max_length=40, blank=True)
    registration_number = models.CharField(
        max_length=60,
        blank=True,
        help_text="Professional registration number, for practitioners.",
    )
    # The secret in the URL of the practitioner's iCalendar feed; a new one revokes the old URL.
    calendar_token = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)

    # Who changed a member of staff, what and when (the staff page writes a
    # reason for each change: a role given, an account unlocked...). Never the
    # password hash, the calendar secret, or each sign-in (last_login).
    history = HistoricalRecords(excluded_fields=["password", "last_login", "calendar_token"])

    class Meta(AbstractUser.Meta):
        ordering = ["last_name", "first_name", "username"]
        verbose_name = "staff account"
        verbose_name_plural = "staff accounts"
        swappable = "AUTH_USER_MODEL"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(profession__in=["", *Profession.values]),
                name="user_profession_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def is_physician(self) -> bool:
        return self.profession == Profession.PHYSICIAN

    def has_role(self, role: Role) -> bool:
        """True for a member of the role's group. Uses the prefetched groups when
        present; otherwise one query."""
        return any(group.name == role for group in self.groups.all())
