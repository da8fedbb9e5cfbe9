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
_CLINICAL = ["screening", "screeninganswer", "consent", "injection", "sideeffect"]


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


def sync_role_groups(group_model, permission_model) -> None:
    """Create the three groups and give each exactly its permissions. Takes the
    models as arguments so a migration can pass its historical ones.

    Permissions of a model a later migration creates are skipped (that
    migration syncs again); any other missing permission is an error."""
    content_types = permission_model._meta.get_field("content_type").related_model.objects
    existing = set(content_types.filter(app_label=_APP).values_list("model", flat=True))
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = group_model.objects.get_or_create(name=role)
        perms = permission_model.objects.filter(content_type__app_label=_APP, codename__in=codenames)
        found = set(perms.values_list("codename", flat=True))
        missing = {c for c in codenames - found if c.split("_", 1)[1] in existing}
        if missing:
            raise RuntimeError(f"Permissions missing for {role}: {sorted(missing)}")
        group.permissions.set(perms)
