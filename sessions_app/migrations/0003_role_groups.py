from django.db import migrations

from sessions_app.roles import sync_role_groups_migration


class Migration(migrations.Migration):
    dependencies = [
        ("sessions_app", "0002_reference_data"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(sync_role_groups_migration, migrations.RunPython.noop)]
