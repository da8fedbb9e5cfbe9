"""The record form on a tablet: the draft kept on the server, the lot each
product starts on, "same lots as the area above", quantities per product, an
area's card fetched when it is chosen, what does not fit, and the dose ledger
with its ceilings and the practitioner's decision."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from sessions_app.clearance import months_before
from sessions_app.ledger import LEDGER_MONTHS
from sessions_app.models import (
    CeilingDecision,
    Injection,
    InjectionQuantity,
    Product,
    RecordDraft,
    SessionStatus,
    Substance,
    TreatmentArea,
)
from sessions_app.services.ledger import session_ledger
from sessions_app.services.records import LotContext, lot_choices

from .factories import make_cleared, make_lot, make_plan, make_session, sign_record

FACE, NECK = "Face", "Neck"


def area(name: str) -> TreatmentArea:
    return TreatmentArea.objects.get(name=name)


def product(name: str) -> Product:
    return Product.objects.get(name=name)


@pytest.fixture
def session(db, practitioner):
    """An arrived session of a cleared client, two hours ago, on the face and
    neck, with the Facial rejuvenation mixture (Hyalu Meso 1% 2 ml, Revita NCTF
    3 ml, Vita C 20% 1 ml)."""
    plan = make_cleared(make_plan(practitioner=practitioner, sessions_planned=3))
    plan.areas.set([area(FACE), area(NECK)])
    start = timezone.now().replace(microsecond=0) - dt.timedelta(hours=2)
    return make_session(plan=plan, starts_at=start, status=SessionStatus.ARRIVED)


@pytest.fixture
def lots(db):
    return {
        "Hyalu Meso 1%": make_lot(product("Hyalu Meso 1%"), lot_number="HY-1"),
        "Revita NCTF": make_lot(product("Revita NCTF"), lot_number="RV-1"),
        "Vita C 20%": make_lot(product("Vita C 20%"), lot_number="VC-1"),
    }


def card(area_name: str, lots: dict, **changes) -> dict:
    pk = area(area_name).pk
    values = {"volume_ml": "3", "depth": "superficial_dermis", "technique": "nappage", "needle_length_mm": "4"}
    values["points"] = "40"
    values |= {f"lot_{lot.product_id}": str(lot.pk) for lot in lots.values()}
    values |= changes
    return {f"a{pk}-{k}": v for k, v in values.items() if v is not None}


def post(*cards, areas=(FACE, NECK), **fields) -> dict:
    data = {"anaesthetic": "none", "pain_score": "2", "combination_therapy": "none", "notes": ""}
    data["areas"] = [area(name).pk for name in areas]
    for c in cards:
        data |= c
    return data | fields


def record_url(session) -> str:
    return reverse("session_record", args=[session.pk])


def draft_url(session) -> str:
    return reverse("session_record_draft", args=[session.pk])


# --- The draft ------------------------------------------------------------------------


def test_the_draft_survives_closing_the_page(client, practitioner, session, lots):
    client.force_login(practitioner)
    data = post(card(FACE, lots, volume_ml="2.7"), areas=[FACE], pain_score="4", notes="Half done")
    answer = client.post(draft_url(session), data)
    assert answer.status_code == 200
    assert "Dose ledger" in answer.content.decode()
    draft = RecordDraft.objects.get(session=session)
    assert (draft.saved_by, draft.data["pain_score"]) == (practitioner, ["4"])
    assert "csrfmiddlewaretoken" not in draft.data

    # The tab was closed; the page opened again shows what was typed, nothing signed.
    forms = client.get(record_url(session)).context["forms"]
    assert [f.area.name for f in forms.area_forms] == [FACE]
    assert forms.area_forms[0].initial["volume_ml"] == "2.7"
    assert forms.session_form.initial["pain_score"] == "4"
    assert forms.session_form.initial["notes"] == "Half done"
    session.refresh_from_db()
    assert session.status == SessionStatus.ARRIVED and not session.injections.exists()


def test_without_javascript_save_the_draft_and_show_the_areas_ticked_keep_the_form(client, practitioner, session, lots):
    client.force_login(practitioner)
    data = post(card(FACE, lots, volume_ml="2.2"), areas=[FACE, "Décolletage"], action="areas")
    response = client.post(record_url(session), data)
    assert response.status_code == 302 and response["Location"].endswith("#areas")
    forms = client.get(record_url(session)).context["forms"]
    assert [f.area.name for f in forms.area_forms] == ["Décolletage", FACE]
    removed = post(card(FACE, lots), areas=[FACE, "Décolletage"], action=f"remove:{area('Décolletage').pk}")
    client.post(record_url(session), removed)
    assert [f.area.name for f in client.get(record_url(session)).context["forms"].area_forms] == [FACE]


def test_a_refused_signature_keeps_what_was_typed_as_the_draft(client, practitioner, session, lots):
    client.force_login(practitioner)
    response = client.post(record_url(session), post(card(FACE, lots), areas=[FACE], pain_score="", notes="Kept"))
    assert response.status_code == 200
    assert RecordDraft.objects.get(session=session).data["notes"] == ["Kept"]


def test_signing_replaces_the_draft_and_a_signed_record_takes_no_draft(client, practitioner, session, lots):
    client.force_login(practitioner)
    client.post(draft_url(session), post(card(FACE, lots), areas=[FACE]))
    assert client.post(record_url(session), post(card(FACE, lots), areas=[FACE])).status_code == 302
    assert not RecordDraft.objects.exists()
    late = client.post(draft_url(session), post(card(FACE, lots), areas=[FACE]))
    assert late.status_code == 409 and "signed" in late.content.decode()
    assert not RecordDraft.objects.exists()


def test_reception_cannot_write_a_draft(client, reception, session, lots):
    client.force_login(reception)
    assert client.post(draft_url(session), post(card(FACE, lots))).status_code == 403
    assert not RecordDraft.objects.exists()


# --- Lots -------------------------------------------------------------------------------


def test_each_product_starts_on_the_lot_in_use_still_valid_for_this_client(session, lots):
    hyalu = lots["Hyalu Meso 1%"]
    day = timezone.localtime(session.starts_at).date()
    # Another client's session used HY-2 last: it is the vial in use.
    in_use = make_lot(hyalu.product, lot_number="HY-2", expiry_date=hyalu.expiry_date + dt.timedelta(days=60))
    other = make_cleared(make_plan())
    sign_record(make_session(plan=other, starts_at=session.starts_at - dt.timedelta(days=1), status="arrived"))
    Injection.objects.filter(session__plan=other).get().lots.set([in_use])
    choices = lot_choices(LotContext.of(session))
    assert choices.in_use[hyalu.product_id] == in_use.pk
    # Once expired on the session's day, it is left out with its reason and the next one is in use.
    in_use.expiry_date = day - dt.timedelta(days=1)
    in_use.save()
    choices = lot_choices(LotContext.of(session))
    assert choices.in_use[hyalu.product_id] == hyalu.pk
    assert [(lot.lot_number, reasons[0][:30]) for lot, reasons in choices.left_out] == [
        ("HY-2", "Hyalu Meso 1% lot HY-2 expired")
    ]


def test_a_lot_in_use_the_client_is_allergic_to_is_not_where_the_choice_starts(session, lots):
    session.plan.client.allergies.add(Substance.objects.get(name="Vitamin C"))
    choices = lot_choices(LotContext.of(session))
    vita_c = lots["Vita C 20%"]
    assert vita_c.product_id not in choices.in_use
    assert [lot.lot_number for lot, _ in choices.left_out] == ["VC-1"]


def test_same_lots_as_the_area_above(client, practitioner, session, lots):
    client.force_login(practitioner)
    other = make_lot(product("Hyalu Meso 1%"), lot_number="HY-9")
    # The neck's card says HY-9 but ticks "same lots as the area above" (the face, above it).
    neck = card(NECK, lots, same_lots="on", **{f"lot_{other.product_id}": str(other.pk)})
    assert client.post(record_url(session), post(card(FACE, lots), neck)).status_code == 302
    recorded = {i.area.name: {lot.lot_number for lot in i.lots.all()} for i in session.injections.all()}
    assert recorded == {FACE: {"HY-1", "RV-1", "VC-1"}, NECK: {"HY-1", "RV-1", "VC-1"}}


def test_a_product_not_used_in_an_area_is_said_so_and_is_not_recorded(client, practitioner, session, lots):
    client.force_login(practitioner)
    vita_c = lots["Vita C 20%"]
    unsaid = client.post(record_url(session), post(card(FACE, lots, **{f"lot_{vita_c.product_id}": ""}), areas=[FACE]))
    assert "Choose the lot of Vita C 20%" in " ".join(
        unsaid.context["forms"].area_forms[0].errors[f"lot_{vita_c.product_id}"]
    )
    data = post(card(FACE, lots, **{f"lot_{vita_c.product_id}": "none"}), areas=[FACE])
    assert client.post(record_url(session), data).status_code == 302
    assert {lot.lot_number for lot in session.injections.get().lots.all()} == {"HY-1", "RV-1"}


# --- Quantities per product -----------------------------------------------------------------


def test_quantities_per_product_are_kept_with_their_history(client, practitioner, session, lots):
    client.force_login(practitioner)
    hyalu, revita = lots["Hyalu Meso 1%"], lots["Revita NCTF"]
    face = card(FACE, lots, **{f"qty_{hyalu.product_id}": "1.2", f"qty_{revita.product_id}": "1.5"})
    assert client.post(record_url(session), post(face, areas=[FACE])).status_code == 302
    quantities = {q.product.name: q.quantity_ml for q in InjectionQuantity.objects.all()}
    assert quantities == {"Hyalu Meso 1%": Decimal("1.2"), "Revita NCTF": Decimal("1.5")}
    assert InjectionQuantity.history.filter(history_type="+").count() == 2
    page = client.get(record_url(session)).content.decode()
    assert "Hyalu Meso 1% lot HY-1 · 1.2 ml" in page

    amended = card(FACE, lots, **{f"qty_{hyalu.product_id}": "1.0"})
    client.post(reverse("session_amend", args=[session.pk]), post(amended, areas=[FACE], reason="Misread the syringe"))
    change = session.amendments.get().changes
    assert change == ["Face: Quantities: Hyalu Meso 1% 1.2 ml, Revita NCTF 1.5 ml → Hyalu Meso 1% 1 ml"]
    assert InjectionQuantity.history.filter(history_type="-").get().history_change_reason == "Misread the syringe"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"qty_VITA": "0.5", "lot_VITA": "none"}, "a quantity is written for a product with no lot recorded"),
        ({"qty_HYALU": "2", "qty_VITA": "1.5"}, "add up to 3.5 ml, more than the area's volume (3 ml)"),
    ],
    ids=["for a product not used", "more than the volume"],
)
def test_quantities_that_cannot_be_are_refused_beside_the_area(client, practitioner, session, lots, changes, message):
    client.force_login(practitioner)
    ids = {"HYALU": lots["Hyalu Meso 1%"].product_id, "VITA": lots["Vita C 20%"].product_id}
    changes = {k.replace("HYALU", str(ids["HYALU"])).replace("VITA", str(ids["VITA"])): v for k, v in changes.items()}
    response = client.post(record_url(session), post(card(FACE, lots, **changes), areas=[FACE]))
    assert message in " ".join(response.context["forms"].area_forms[0].non_field_errors())
    assert not session.injections.exists()


# --- The area's card, and what does not fit ---------------------------------------------------


def test_a_card_chosen_on_the_chart_comes_filled_from_the_protocol_with_the_lots_in_use(
    client, practitioner, session, lots
):
    client.force_login(practitioner)
    response = client.get(reverse("session_record_area", args=[session.pk, area("Décolletage").pk]))
    form = response.context["af"]
    assert (form.initial["depth"], form.initial["technique"], form.initial["needle_length_mm"]) == (
        "superficial_dermis",
        "nappage",
        Decimal("4.0"),
    )
    assert form.initial[f"lot_{lots['Revita NCTF'].product_id}"] == str(lots["Revita NCTF"].pk)
    assert f'name="a{area("Décolletage").pk}-volume_ml"' in response.content.decode()
    assert client.get(reverse("session_record_area", args=[session.pk, 99999])).status_code == 404


def test_an_epidermal_injection_with_a_long_needle_is_flagged_before_signing(client, practitioner, session, lots):
    client.force_login(practitioner)
    data = post(card(FACE, lots, depth="epidermal", needle_length_mm="13"), areas=[FACE])
    checks = client.post(draft_url(session), data).content.decode()
    assert "A 13 mm needle at the epidermal depth" in checks
    page = client.get(record_url(session)).content.decode()
    assert "A 13 mm needle at the epidermal depth: that depth takes 4 mm at most." in page
    # Flagged, not forbidden: the practitioner signs it knowingly.
    assert client.post(record_url(session), data).status_code == 302


# --- The dose ledger and its ceilings --------------------------------------------------------------


def test_the_ledger_counts_each_substance_over_the_session_and_twelve_months(session, lots):
    plan = session.plan
    earlier = make_session(plan=plan, starts_at=session.starts_at - dt.timedelta(days=60), status="arrived")
    older = make_session(plan=plan, starts_at=session.starts_at - dt.timedelta(days=400), status="arrived")
    for past, volume in ((earlier, "6"), (older, "6")):
        sign_record(past)
        injection = past.injections.get()
        injection.volume_ml = Decimal(volume)
        injection.save()
        injection.lots.set(lots.values())
    sign_record(session)
    today = session.injections.get()
    today.lots.set(lots.values())
    InjectionQuantity.objects.create(injection=today, product=lots["Vita C 20%"].product, quantity_ml=Decimal("0.5"))

    ledger = session_ledger(session)
    totals = {line.substance.name: (line.this_session, line.twelve_months) for line in ledger.lines}
    # This session, 2 ml: Vita C written down as 0.5 ml (100 mg); the rest, 1.5 ml, is Hyalu 2 : Revita 3.
    # Hyaluronic acid: Hyalu 0.6 ml × 10 mg + Revita 0.9 ml × 0 (not known for Revita: "at least").
    assert totals["Vitamin C"] == (Decimal("100"), Decimal("100") + Decimal("200"))  # 60 days ago: 1 ml × 200
    assert totals["Hyaluronic acid"][0] == Decimal("6")
    assert totals["Hyaluronic acid"][1] == Decimal("6") + Decimal("20")  # 60 days ago: Hyalu 2 ml × 10 mg
    assert [day for _, day in ledger.sessions] == [
        timezone.localtime(earlier.starts_at).date(),
        timezone.localtime(session.starts_at).date(),
    ]


def test_the_ledger_s_twelve_months_start_at_midnight_in_the_clinic_s_time_zone(session, lots):
    """The window runs from local midnight, 12 months back, to the end of the
    session's day: a session half an hour after that midnight counts, one
    half an hour before does not (in UTC the first is still the day before:
    SQLite compares times as UTC text, so a local time given as it is would
    move the edge by the clinic's offset)."""
    day = timezone.localtime(session.starts_at).date()
    first = months_before(day, LEDGER_MONTHS) + dt.timedelta(days=1)
    midnight = timezone.make_aware(dt.datetime.combine(first, dt.time.min))
    assert midnight.utcoffset()  # the clinic is not on UTC: the edge is a different UTC day
    inside = make_session(plan=session.plan, starts_at=midnight + dt.timedelta(minutes=30), status="arrived")
    outside = make_session(plan=session.plan, starts_at=midnight - dt.timedelta(minutes=30), status="arrived")
    for past in (inside, outside):
        sign_record(past)
        past.injections.get().lots.set(lots.values())
    sign_record(session)

    ledger = session_ledger(session)

    assert [sid for sid, _ in ledger.sessions] == [inside.pk, session.pk]


def test_the_ledger_costs_five_queries_whatever_the_history(session, lots, django_assert_num_queries):
    for days in range(1, 4):
        past = make_session(
            plan=session.plan, starts_at=session.starts_at - dt.timedelta(days=20 * days), status="arrived"
        )
        sign_record(past)
    # injections of 12 months, their lots' products, their quantities, recipes, what products hold.
    with django_assert_num_queries(5):
        session_ledger(session)


@pytest.fixture
def vitamin_c_ceiling(db):
    Substance.objects.filter(name="Vitamin C").update(ceiling_per_session=Decimal("150"))


def test_past_a_ceiling_the_practitioner_decides_and_the_decision_is_kept(
    client, practitioner, session, lots, vitamin_c_ceiling
):
    client.force_login(practitioner)
    # 6 ml of the mixture on the face: 1 ml of Vita C 20%, 200 mg of vitamin C.
    data = post(card(FACE, lots, volume_ml="6"), areas=[FACE])
    checks = client.post(draft_url(session), data).content.decode()
    assert "Vitamin C: 200 mg in this session, past the clinic&#x27;s ceiling of 150 mg." in checks

    refused = client.post(record_url(session), data)
    assert refused.status_code == 200
    assert "Say why you go ahead" in " ".join(refused.context["forms"].session_form.errors["ceiling_decision"])
    assert not session.injections.exists() and not CeilingDecision.objects.exists()

    decided = data | {"ceiling_decision": "Photo-damaged skin; agreed with Dr Roy, no more this month."}
    assert client.post(record_url(session), decided).status_code == 302
    decision = CeilingDecision.objects.get()
    assert (decision.substance.name, decision.period, decision.total, decision.ceiling, decision.decided_by) == (
        "Vitamin C",
        "session",
        Decimal("200"),
        Decimal("150"),
        practitioner,
    )
    page = client.get(record_url(session)).content.decode()
    assert "Signed past a dose ceiling" in page and "agreed with Dr Roy" in page


def test_under_the_ceiling_no_decision_is_asked(client, practitioner, session, lots, vitamin_c_ceiling):
    client.force_login(practitioner)
    assert client.post(record_url(session), post(card(FACE, lots, volume_ml="3"), areas=[FACE])).status_code == 302
    assert not CeilingDecision.objects.exists()


# --- What the record page shows ------------------------------------------------------------------


def test_the_record_page_shows_the_clients_alerts_and_the_signed_record_its_chart(client, practitioner, session, lots):
    session.plan.client.allergies.add(Substance.objects.get(name="Lidocaine"))
    client.force_login(practitioner)
    page = client.get(record_url(session)).content.decode()
    assert 'id="client-alerts"' in page and "Allergy: Lidocaine" in page
    client.post(record_url(session), post(card(FACE, lots), card(NECK, lots)))
    signed = client.get(record_url(session)).content.decode()
    assert "Allergy: Lidocaine" in signed
    assert signed.count('class="chart-zone is-on"') == 2
    assert 'aria-label="Areas treated: Face, Neck"' in signed


def test_amending_without_javascript_shows_an_added_area_before_saving(client, practitioner, session, lots):
    client.force_login(practitioner)
    client.post(record_url(session), post(card(FACE, lots), areas=[FACE]))
    amend = reverse("session_amend", args=[session.pk])
    shown = client.post(amend, post(card(FACE, lots, volume_ml="2.5"), areas=[FACE, NECK], action="areas"))
    forms = shown.context["forms"]
    assert [f.area.name for f in forms.area_forms] == [FACE, NECK]
    assert forms.area_forms[0].initial["volume_ml"] == "2.5"  # what was typed is still there
    assert not session.amendments.exists()
