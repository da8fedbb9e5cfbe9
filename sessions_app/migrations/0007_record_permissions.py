from django.db import migrations

from sessions_app.roles import sync_role_groups_migration


class Migration(migrations.Migration):
    """Practitioners and managers get the session photos and amendments."""

    dependencies = [("sessions_app", "0006_session_record")]

    operations = [migrations.RunPython(sync_role_groups_migration, migrations.RunPython.noop)]
