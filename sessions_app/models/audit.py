"""Who read or exported a client's record, and when. Changes to clinical records
are kept by their history tables; this log is for reads, which leave no trace
otherwise. Append-only: nobody edits or deletes it from the app (the admin is
read-only, and on PostgreSQL a trigger refuses UPDATE and DELETE)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.timezone import localtime

from .clients import Client


class AccessAction(models.TextChoices):
    VIEW_CLIENT = "view_client", "Opened the client page"
    VIEW_RECORD = "view_record", "Opened a session record"
    VIEW_PHOTO = "view_photo", "Viewed a clinical photo"
    VIEW_LIST = "view_list", "Listed on a clinical page (open side effects, a lot trace)"
    EXPORT_CLIENT = "export_client", "Exported the client's record"
    ERASE_CLIENT = "erase_client", "Erased the client's contact data"
    EXPORT_LOT_TRACE = "export_lot_trace", "Exported a lot trace"
    MERGE_CLIENT = "merge_client", "Merged two records of one client"
    EXPORT_SIDE_EFFECT = "export_side_effect", "Exported a side-effect report (pharmacovigilance)"


class AccessLog(models.Model):
    at = models.DateTimeField(default=timezone.now)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=20, choices=AccessAction.choices)
    client = models.ForeignKey(Client, on_delete=models.PROTECT, null=True, blank=True, related_name="access_log")
    detail = models.CharField(max_length=200, blank=True, help_text="What was opened: a session, a photo, a lot.")
    path = models.CharField(max_length=500)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "access log entry"
        verbose_name_plural = "access log"
        constraints = [
            models.CheckConstraint(condition=Q(action__in=AccessAction.values), name="access_action_valid"),
        ]
        indexes = [
            # One client's readers, newest first (privacy requests, the admin's client filter).
            models.Index(fields=["client", "-at"], name="access_client_idx"),
            # What one member of staff opened.
            models.Index(fields=["user", "-at"], name="access_user_idx"),
            # The whole log, newest first (the admin's list and date hierarchy).
            models.Index(fields=["-at"], name="access_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.get_action_display().lower()} on {localtime(self.at):%Y-%m-%d %H:%M}"
