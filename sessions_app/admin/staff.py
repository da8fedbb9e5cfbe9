from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group

from sessions_app.models import User

from .base import ReadOnlyMixin


@admin.register(User)
class StaffAdmin(UserAdmin):
    """Staff accounts; a role is given by adding the user to its group."""

    fieldsets = [
        *UserAdmin.fieldsets,
        ("Clinic", {"fields": ["profession", "job_title", "phone", "registration_number"]}),
    ]
    add_fieldsets = [
        *UserAdmin.add_fieldsets,
        (
            "Clinic",
            {"fields": ["first_name", "last_name", "email", "profession", "job_title", "phone", "registration_number"]},
        ),
    ]
    list_display = ["username", "first_name", "last_name", "email", "profession", "roles", "is_staff", "is_active"]
    search_fields = [*UserAdmin.search_fields, "registration_number"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description="roles")
    def roles(self, obj: User) -> str:
        return ", ".join(group.name for group in obj.groups.all())


admin.site.unregister(Group)


@admin.register(Group)
class RoleGroupAdmin(ReadOnlyMixin, GroupAdmin):
    """Read-only: sessions_app.roles decides what each role may do, and
    sync_role_groups rewrites the groups' permissions from it, so an edit made
    here would be silently undone."""
