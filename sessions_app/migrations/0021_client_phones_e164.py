"""Existing clients: phone numbers rewritten in E.164 (read in CLINIC_PHONE_REGION
when typed without a country code), and the search key of every name.

A number that cannot be read stays exactly as it was typed and is listed here;
managers find them all in the admin (Clients, filter "Phone: to check"), and
the client's edit page asks for the number to be corrected. History rows keep
the numbers as they were then: the same numbers, another notation.
"""

from django.conf import settings
from django.db import migrations

from sessions_app.phones import InvalidPhone, phone_to_e164
from sessions_app.search_terms import search_key

BATCH = 2000


def forwards(apps, schema_editor):
    Client = apps.get_model("sessions_app", "Client")
    region = settings.CLINIC_PHONE_REGION
    changed, unread = [], []
    rows = Client.objects.only("pk", "first_name", "last_name", "phone", "search_key").order_by("pk")
    for client in rows.iterator(chunk_size=BATCH):
        before = (client.phone, client.search_key)
        client.search_key = search_key(client.first_name, client.last_name)
        if client.phone:
            try:
                client.phone = phone_to_e164(client.phone, region)
            except InvalidPhone:
                unread.append((client.pk, client.phone))
        if (client.phone, client.search_key) != before:
            changed.append(client)
        if len(changed) >= BATCH:
            Client.objects.bulk_update(changed, ["phone", "search_key"])
            changed = []
    Client.objects.bulk_update(changed, ["phone", "search_key"])
    if unread:
        print(
            f"\n  {len(unread)} phone number(s) could not be read and were kept as typed (admin: Clients, Phone: to check):"
        )
        for pk, phone in unread[:50]:
            print(f"    client {pk}: {phone!r}")


class Migration(migrations.Migration):
    dependencies = [
        ("sessions_app", "0020_client_search_postgres"),
    ]

    # Backwards: the numbers stay in E.164, which the older code reads as well.
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop, elidable=False)]
