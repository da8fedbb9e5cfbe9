from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils.html import format_html

from sessions_app.models import User

from .base import ReadOnlyMixin

STAFF_FIELDS = ["username", "first_name", "last_name", "email", "phone"]
CLINIC_FIELDS = ["roles", "profession", "job_title", "registration_number"]
SIGN_IN_FIELDS = ["is_active", "last_login", "date_joined"]


@admin.register(User)
class StaffAdmin(ReadOnlyMixin, UserAdmin):
    """Staff accounts, to read: they are added and changed on the staff page
    (/staff/), which gives a role as the clinic means it (no technical
    permissions, no password hash), asks the one rule of services/staff.py
    and writes the reason of each change in the member's history, which the
    staff page shows."""

    fieldsets = [
        (None, {"fields": [*STAFF_FIELDS, "staff_page"]}),
        ("Clinic", {"fields": CLINIC_FIELDS}),
        ("Signing in", {"fields": SIGN_IN_FIELDS}),
    ]
    readonly_fields = [*STAFF_FIELDS, *CLINIC_FIELDS, *SIGN_IN_FIELDS, "staff_page"]
    list_display = ["username", "first_name", "last_name", "email", "profession", "roles", "is_active", "last_login"]
    list_filter = ["is_active", "groups"]
    search_fields = [*UserAdmin.search_fields, "registration_number"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description="roles")
    def roles(self, obj: User) -> str:
        return ", ".join(group.name for group in obj.groups.all())

    @admin.display(description="to change it")
    def staff_page(self, obj: User) -> str:
        return format_html('<a href="{}">Open {} on the staff page</a>', reverse("staff_detail", args=[obj.pk]), obj)


admin.site.unregister(Group)


@admin.register(Group)
class RoleGroupAdmin(ReadOnlyMixin, GroupAdmin):
    """Read-only: sessions_app.roles decides what each role may do, and
    sync_role_groups rewrites the groups' permissions from it, so an edit made
    here would be silently undone."""
