from django.conf import settings

from sessions_app.models import Role
from sessions_app.roles import user_roles


def roles(request):
    """The clinic's name, and the signed-in user's roles for the navigation
    (one query, only for signed-in users)."""
    context = {"clinic_name": settings.CLINIC_NAME}
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return context
    names = user_roles(user)
    return context | {
        "role_names": [role.label for role in Role if role in names],
        "is_reception": Role.RECEPTION in names,
        "is_practitioner": Role.PRACTITIONER in names,
        "is_manager": Role.MANAGER in names or user.is_superuser,
    }
