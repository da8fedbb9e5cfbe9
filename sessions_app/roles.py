"""What each staff role may do, as Django permissions on its group.

The one place that decides a role's permissions: the migrations that create and
update the groups and `seed_demo` all call `sync_role_groups`. A permission is a
codename of this app ("view_client") or "app_label.codename" for another app's.
"""

from django.contrib.auth.backends import ModelBackend
from django.db import connections
from django.db.models import Q

from sessions_app.models.staff import Role

_APP = "sessions_app"

_REFERENCE = [
    "treatmentarea",
    "indication",
    "substance",
    "product",
    "productlot",
    "sideeffectkind",
    "room",
    "openinghours",
    "closedday",
    "mixture",
    "mixturecomponent",
    "consenttext",
    "reminderrule",
    "protocol",
    "productsubstance",
]
_CLINICAL = [
    "screening",
    "screeninganswer",
    "consent",
    "injection",
    "injectionquantity",
    "recorddraft",
    "ceilingdecision",
    "sideeffect",
    "sideeffectfollowup",
    "checkin",
    "sessionphoto",
    "sessionamendment",
]
# Derived from the clinical records: read, never written by hand.
_SIGNAL = ["signalflag"]


def _perms(models: list[str], actions: tuple[str, ...]) -> set[str]:
    return {f"{action}_{model}" for model in models for action in actions}


ROLE_PERMISSIONS: dict[str, set[str]] = {
    # Schedules, contact details, plan progress, reminders: no clinical detail.
    Role.RECEPTION: _perms(
        ["client", "treatmentplan", "treatmentsession", "reminder"],
        ("view", "add", "change"),
    )
    | _perms(_REFERENCE, ("view",)),
    # Reads and writes clinical records; makes aftercare calls (changes a reminder's call outcome).
    Role.PRACTITIONER: _perms(
        ["client", "treatmentplan", "treatmentsession", *_CLINICAL],
        ("view", "add", "change"),
    )
    | _perms(["reminder"], ("view", "change"))
    | _perms(_REFERENCE + _SIGNAL, ("view",))
    | {"view_own_reports"},
    # Everything, reference data and staff included. Deleting clinical records is
    # refused by the admin itself, whatever the permission says. Managers answer
    # privacy requests, read the access log, unlock accounts (an access attempt
    # deleted) and remove a lost authenticator.
    Role.MANAGER: _perms(
        [
            "client",
            "treatmentplan",
            "treatmentsession",
            "reminder",
            "user",
            *_CLINICAL,
            *_REFERENCE,
        ],
        ("view", "add", "change", "delete"),
    )
    | _perms(_SIGNAL, ("view",))
    | {"export_client", "erase_client", "merge_client", "view_accesslog", "view_reports"}
    | {"axes.view_accessattempt", "axes.delete_accessattempt", "axes.view_accesslog", "axes.view_accessfailurelog"}
    | {"otp_totp.view_totpdevice", "otp_totp.delete_totpdevice"},
}


def handles_clinical_records(user) -> bool:
    """Whether the user reads and writes clinical records, and so a client's
    allergies and clinical notes: practitioners and managers, not reception."""
    return user.has_perm(f"{_APP}.view_screening") and user.has_perm(f"{_APP}.change_screening")


# Roles that must sign in with a second factor when the clinic requires it.
TWO_FACTOR_ROLES = {Role.PRACTITIONER, Role.MANAGER}


def two_factor_required(user) -> bool:
    """Whether the clinic's CLINIC_REQUIRE_2FA applies to this user (one query)."""
    from django.conf import settings

    if not settings.CLINIC_REQUIRE_2FA:
        return False
    return user.is_superuser or user.groups.filter(name__in=TWO_FACTOR_ROLES).exists()


def user_roles(user) -> frozenset[str]:
    """The names of the user's role groups, read with their permissions in one
    query (load_access), then kept on the user for the rest of the request
    (the navigation and Today both ask)."""
    if not user.is_authenticated:
        return frozenset()
    if not hasattr(user, "_role_names"):
        load_access(user)
    return user._role_names


def _access_sql(connection) -> str:
    """load_access's query: the user's groups' names, their permissions, the
    user's own permissions, as (kind, app label or name, codename) rows."""
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType

    from sessions_app.models import User

    def table(model) -> str:
        return connection.ops.quote_name(model._meta.db_table)

    user_groups = table(User._meta.get_field("groups").remote_field.through)
    user_perms = table(User._meta.get_field("user_permissions").remote_field.through)
    group_perms = table(Group._meta.get_field("permissions").remote_field.through)
    perm, content_type = table(Permission), table(ContentType)
    return (
        f"SELECT 'role', g.name, '' FROM {table(Group)} g JOIN {user_groups} ug ON ug.group_id = g.id"
        " WHERE ug.user_id = %s"
        f" UNION ALL SELECT 'group', ct.app_label, p.codename FROM {group_perms} gp"
        f" JOIN {user_groups} ug ON ug.group_id = gp.group_id JOIN {perm} p ON p.id = gp.permission_id"
        f" JOIN {content_type} ct ON ct.id = p.content_type_id WHERE ug.user_id = %s"
        f" UNION ALL SELECT 'user', ct.app_label, p.codename FROM {user_perms} up"
        f" JOIN {perm} p ON p.id = up.permission_id JOIN {content_type} ct ON ct.id = p.content_type_id"
        " WHERE up.user_id = %s"
    )


def load_access(user) -> None:
    """Read the user's groups, their permissions and the user's own in one
    query, and keep them on the user object where ModelBackend keeps its
    caches (`_user_perm_cache`, `_group_perm_cache`, `_perm_cache`) and
    user_roles reads `_role_names`. The user object lives for one request:
    a role changed or taken away counts from the next request on.

    Django's ModelBackend asks in two queries (the user's permissions, their
    groups' permissions) and the role names were a third: every page paid
    them. Plain SQL, as the ORM took four times the database's time to
    compose this UNION on every page."""
    names, by_group, by_user = set(), set(), set()
    connection = connections[user._state.db or "default"]
    with connection.cursor() as cursor:
        cursor.execute(_access_sql(connection), [user.pk, user.pk, user.pk])
        for row_kind, first, second in cursor.fetchall():
            if row_kind == "role":
                names.add(first)
            else:
                (by_group if row_kind == "group" else by_user).add(f"{first}.{second}")
    user._role_names = frozenset(names)
    if user.is_active and not user.is_superuser:
        user._user_perm_cache = by_user
        user._group_perm_cache = by_group
        user._perm_cache = by_user | by_group


class RoleBackend(ModelBackend):
    """Django's ModelBackend (settings.AUTHENTICATION_BACKENDS), with a user's
    permissions and role names read in one query (load_access) rather than
    three. A superuser's permissions (every permission there is) and an
    inactive user's (none) are ModelBackend's own."""

    def get_all_permissions(self, user_obj, obj=None):
        if (
            user_obj.is_active
            and not user_obj.is_anonymous
            and not user_obj.is_superuser
            and obj is None
            and not hasattr(user_obj, "_perm_cache")
        ):
            load_access(user_obj)
        return super().get_all_permissions(user_obj, obj)


def _app_and_codename(permission: str) -> tuple[str, str]:
    app_label, _, codename = permission.rpartition(".")
    return app_label or _APP, codename


def sync_role_groups(group_model, permission_model, *, available: set[tuple[str, str]] | None = None) -> None:
    """Create the three groups and give each exactly its permissions. Takes the
    models as arguments so a migration can pass its historical ones; `available`
    then names the (app label, codename) permissions its models define at that
    point of the migrations, and the others wait for the migration that adds
    them."""
    for role, permissions in ROLE_PERMISSIONS.items():
        wanted = {_app_and_codename(p) for p in permissions}
        if available is not None:
            wanted &= available
        group, _ = group_model.objects.get_or_create(name=role)
        matching = Q(pk__in=[])
        for app, code in wanted:
            matching |= Q(content_type__app_label=app, codename=code)
        perms = permission_model.objects.filter(matching)
        missing = wanted - set(perms.values_list("content_type__app_label", "codename"))
        if missing:
            raise RuntimeError(f"Permissions missing for {role}: {sorted(missing)}")
        group.permissions.set(perms)


def sync_role_groups_migration(apps, schema_editor) -> None:
    """The data migrations' step that gives the groups their permissions, run
    again by each migration that adds models the roles name. Permissions are
    normally created after all migrations ran; the groups need them now."""
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    available = set()
    for model in apps.get_models():
        meta = model._meta
        available |= {(meta.app_label, f"{action}_{meta.model_name}") for action in meta.default_permissions}
        available |= {(meta.app_label, codename) for codename, _ in meta.permissions}
    sync_role_groups(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"), available=available)


def reports_practitioner(user) -> int | None:
    """Whose figures the reports show this user: None for the whole clinic
    (view_reports: managers), the user's own id (view_own_reports:
    practitioners). PermissionDenied for anyone else."""
    from django.core.exceptions import PermissionDenied

    if user.has_perm("sessions_app.view_reports"):
        return None
    if user.has_perm("sessions_app.view_own_reports"):
        return user.pk
    raise PermissionDenied


def may_manage_staff(user) -> bool:
    """The staff page (add members, change roles, unlock...): managers."""
    return user.has_perm("sessions_app.change_user")
