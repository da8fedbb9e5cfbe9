"""What each staff role may do, as Django permissions on its group.

The one place that decides a role's permissions: the migration that creates the
groups and `seed_demo` both call `sync_role_groups`.
"""

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
]
_CLINICAL = ["screening", "screeninganswer", "consent", "injection", "sideeffect", "sessionphoto", "sessionamendment"]


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
    | _perms(_REFERENCE, ("view",)),
    # Everything, reference data and staff included. Deleting clinical records is
    # refused by the admin itself, whatever the permission says.
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
    ),
}


def sync_role_groups(group_model, permission_model, *, models: set[str] | None = None) -> None:
    """Create the three groups and give each exactly its permissions. Takes the
    models as arguments so a migration can pass its historical ones; `models`
    then names the app's models that exist at that point of the migrations, and
    the permissions of later ones wait for the migration that adds them."""
    for role, codenames in ROLE_PERMISSIONS.items():
        if models is not None:
            codenames = {c for c in codenames if c.split("_", 1)[1] in models}
        group, _ = group_model.objects.get_or_create(name=role)
        perms = permission_model.objects.filter(content_type__app_label=_APP, codename__in=codenames)
        found = set(perms.values_list("codename", flat=True))
        missing = codenames - found
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
    present = {model._meta.model_name for model in apps.get_app_config(_APP).get_models()}
    sync_role_groups(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"), models=present)
