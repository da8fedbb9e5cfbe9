"""What belongs to a signed session record besides its injections: the
corrections made after signing, and the before and after photos."""

import uuid
from pathlib import PurePath

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.timezone import localtime

from .plans import TreatmentSession


class SessionAmendment(models.Model):
    """A correction of a signed record: who, when, why, and what changed.

    The changed rows themselves keep their before and after values in their
    history tables (django-simple-history), each with this amendment's user
    and reason; `changes` is the readable summary shown with the record.
    """

    session = models.ForeignKey(TreatmentSession, on_delete=models.PROTECT, related_name="amendments")
    reason = models.TextField()
    changes = models.JSONField(default=list, help_text="What changed, one line each.")
    amended_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    amended_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["session", "amended_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(reason=""),
                name="amendment_reason_present",
                violation_error_message="An amendment needs its reason.",
            ),
        ]
        indexes = [
            # A session's amendments, in order, on its record page and the client timeline.
            models.Index(fields=["session", "amended_at"], name="amendment_session_idx"),
        ]

    def __str__(self) -> str:
        return f"Amendment of {self.session} by {self.amended_by} on {localtime(self.amended_at):%Y-%m-%d %H:%M}"


class PhotoKind(models.TextChoices):
    BEFORE = "before", "Before"
    AFTER = "after", "After"


def photo_path(instance: "SessionPhoto", filename: str) -> str:
    """A random name under a dated folder: the client's name, the original file
    name and anything guessable stay out of the path."""
    suffix = PurePath(filename).suffix.lower()[:8]
    return f"clinical-photos/{timezone.localdate():%Y/%m}/{uuid.uuid4().hex}{suffix}"


class SessionPhoto(models.Model):
    """A before or after photo of a session. Stored under MEDIA_ROOT, which no URL
    serves: the photo view streams it to signed-in staff allowed to see it."""

    session = models.ForeignKey(TreatmentSession, on_delete=models.PROTECT, related_name="photos")
    kind = models.CharField(max_length=6, choices=PhotoKind.choices)
    image = models.ImageField(upload_to=photo_path)
    width = models.PositiveIntegerField(editable=False)
    height = models.PositiveIntegerField(editable=False)
    content_type = models.CharField(max_length=40, editable=False)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["session", "kind", "uploaded_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=PhotoKind.values), name="photo_kind_valid"),
        ]
        indexes = [
            # A session's photos on its record page and the client timeline.
            models.Index(fields=["session", "kind"], name="photo_session_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} photo of {self.session}"
