"""Sensible reference data for a new clinic; managers edit it in the admin.

Frozen here on purpose: a migration must not change when the models' choices do.
"""

import datetime

from django.db import migrations

AREAS = [
    ("Face", "face"),
    ("Neck", "face"),
    ("Décolletage", "face"),
    ("Scalp", "scalp"),
    ("Arms", "body"),
    ("Abdomen", "body"),
    ("Flanks", "body"),
    ("Thighs", "body"),
    ("Buttocks", "body"),
    ("Knees", "joint"),
    ("Lower back", "joint"),
    ("Shoulder", "joint"),
    ("Cervical spine (neck pain)", "joint"),
]

INDICATIONS = [
    ("Skin rejuvenation", "Hydration, elasticity and fine lines."),
    ("Body contouring", "Localised fat."),
    ("Cellulite", ""),
    ("Hair loss", "Alopecia."),
    ("Pain management", "Osteoarthritis, rheumatism, sports injuries, neck pain."),
    ("Stretch marks", ""),
    ("Scars", ""),
]

SUBSTANCES = [
    ("Hyaluronic acid", "hyaluronic_acid"),
    ("Vitamin C", "vitamin"),
    ("Biotin (vitamin B7)", "vitamin"),
    ("Vitamin complex (A, B, C, E)", "vitamin"),
    ("Organic silicon", "mineral"),
    ("Zinc", "mineral"),
    ("Amino acid complex", "amino_acid"),
    ("Glutathione", "antioxidant"),
    ("Alpha-lipoic acid", "antioxidant"),
    ("Hyaluronidase", "enzyme"),
    ("Collagenase", "enzyme"),
    ("Calcitonin", "hormone"),
    ("Centella asiatica", "plant_extract"),
    ("Artichoke extract", "plant_extract"),
    ("Caffeine", "plant_extract"),
    ("Lidocaine", "medication"),
    ("Procaine", "medication"),
    ("Piroxicam", "medication"),
    ("Phosphatidylcholine", "medication"),
]

PRODUCTS = [
    ("Hyalu Meso 1%", "Dermalab", ["Hyaluronic acid"]),
    ("Revita NCTF", "Filorga-like Labs", ["Hyaluronic acid", "Vitamin complex (A, B, C, E)", "Amino acid complex"]),
    ("Vita C 20%", "Mesopharm", ["Vitamin C"]),
    ("Biotin 0.5%", "Mesopharm", ["Biotin (vitamin B7)"]),
    ("Silorg", "Mesopharm", ["Organic silicon"]),
    ("Glutathione 600", "Antiox Labs", ["Glutathione"]),
    ("Lipo PC", "Bodyline", ["Phosphatidylcholine"]),
    ("Caffeine 10%", "Bodyline", ["Caffeine"]),
    ("Artichoke 5%", "Bodyline", ["Artichoke extract"]),
    ("Centella 2%", "Phytomeso", ["Centella asiatica"]),
    ("Lidocaine 1%", "Pharma Generic", ["Lidocaine"]),
    ("Procaine 2%", "Pharma Generic", ["Procaine"]),
    ("Piroxicam 20 mg", "Pharma Generic", ["Piroxicam"]),
    ("Calcitonin 100 IU", "Pharma Generic", ["Calcitonin"]),
    ("Zinc Trace", "Mesopharm", ["Zinc"]),
]

MIXTURES = [
    (
        "Facial rejuvenation",
        "Skin rejuvenation",
        [("Hyalu Meso 1%", "2.00", "ml"), ("Revita NCTF", "3.00", "ml"), ("Vita C 20%", "1.00", "ml")],
    ),
    (
        "Hair restoration",
        "Hair loss",
        [("Biotin 0.5%", "2.00", "ml"), ("Silorg", "2.00", "ml"), ("Zinc Trace", "1.00", "ml")],
    ),
    (
        "Body contouring",
        "Body contouring",
        [("Lipo PC", "5.00", "ml"), ("Caffeine 10%", "2.00", "ml"), ("Artichoke 5%", "2.00", "ml")],
    ),
    (
        "Cellulite",
        "Cellulite",
        [("Caffeine 10%", "2.00", "ml"), ("Centella 2%", "2.00", "ml"), ("Silorg", "2.00", "ml")],
    ),
    (
        "Joint pain",
        "Pain management",
        [("Procaine 2%", "2.00", "ml"), ("Piroxicam 20 mg", "1.00", "ml"), ("Calcitonin 100 IU", "1.00", "ml")],
    ),
    ("Stretch marks", "Stretch marks", [("Hyalu Meso 1%", "2.00", "ml"), ("Centella 2%", "2.00", "ml")]),
]

SIDE_EFFECT_KINDS = [
    ("Swelling", "Usually gone within days."),
    ("Redness", "Usually gone within hours to days."),
    ("Bruising", "Usually gone within days."),
    ("Pain", ""),
    ("Itching", ""),
    ("Infection", "Needs medical follow-up."),
    ("Allergic reaction", "Needs medical follow-up; record the suspected substance."),
    ("Nodules", ""),
    ("Pigmentation change", ""),
]

ROOMS = ["Room 1", "Room 2", "Room 3"]

# Monday to Friday 09:00-13:00 and 14:00-19:00; Saturday 09:00-13:00.
HOURS = [(day, "09:00", "13:00") for day in range(6)] + [(day, "14:00", "19:00") for day in range(5)]

CONSENT_TEXT = """I have been told what mesotherapy is, what is injected and where, how many sessions
are planned, the expected results, and that results are not guaranteed. I have been told of the
possible side effects (swelling, redness, bruising, pain, itching, and rarely infection, allergic
reaction, nodules or pigmentation changes) and what to do if they occur. I have answered the health
questionnaire truthfully and will tell the clinic of any change. I may withdraw at any time."""


def load(apps, schema_editor):
    TreatmentArea = apps.get_model("sessions_app", "TreatmentArea")
    Indication = apps.get_model("sessions_app", "Indication")
    Substance = apps.get_model("sessions_app", "Substance")
    Product = apps.get_model("sessions_app", "Product")
    Mixture = apps.get_model("sessions_app", "Mixture")
    MixtureComponent = apps.get_model("sessions_app", "MixtureComponent")
    SideEffectKind = apps.get_model("sessions_app", "SideEffectKind")
    Room = apps.get_model("sessions_app", "Room")
    OpeningHours = apps.get_model("sessions_app", "OpeningHours")
    ConsentText = apps.get_model("sessions_app", "ConsentText")

    for name, region in AREAS:
        TreatmentArea.objects.get_or_create(name=name, defaults={"region": region})
    indications = {}
    for name, description in INDICATIONS:
        indications[name], _ = Indication.objects.get_or_create(name=name, defaults={"description": description})
    substances = {}
    for name, category in SUBSTANCES:
        substances[name], _ = Substance.objects.get_or_create(name=name, defaults={"category": category})
    products = {}
    for name, manufacturer, contents in PRODUCTS:
        product, _ = Product.objects.get_or_create(name=name, manufacturer=manufacturer)
        product.substances.set([substances[s] for s in contents])
        products[name] = product
    for name, indication, components in MIXTURES:
        mixture, _ = Mixture.objects.get_or_create(name=name, defaults={"indication": indications[indication]})
        for product, amount, unit in components:
            MixtureComponent.objects.get_or_create(
                mixture=mixture, product=products[product], defaults={"amount": amount, "unit": unit}
            )
    for name, description in SIDE_EFFECT_KINDS:
        SideEffectKind.objects.get_or_create(name=name, defaults={"description": description})
    for name in ROOMS:
        Room.objects.get_or_create(name=name)
    for weekday, opens, closes in HOURS:
        OpeningHours.objects.get_or_create(
            weekday=weekday,
            opens=datetime.time.fromisoformat(opens),
            defaults={"closes": datetime.time.fromisoformat(closes)},
        )
    ConsentText.objects.get_or_create(
        version=1,
        defaults={
            "title": "Consent to mesotherapy treatment",
            "body": CONSENT_TEXT,
            "effective_from": datetime.date(2026, 1, 1),
        },
    )


class Migration(migrations.Migration):
    dependencies = [("sessions_app", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
