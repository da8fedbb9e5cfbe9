"""The signal across clients (issue 16): rates per lot, mixture, product,
practitioner and area with their 95% intervals, and the flag, on a constructed
clinic where one lot is followed by side effects five times as often as the
others (and, in a second clinic, as often): counted in SQL, a fixed number of
queries, on SQLite and PostgreSQL alike."""

import datetime as dt
import itertools

import pytest
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils import timezone

from sessions_app.badges import number
from sessions_app.models import (
    Injection,
    Mixture,
    Product,
    Role,
    Room,
    SessionStatus,
    SideEffect,
    SideEffectKind,
    SignalFlag,
    TreatmentArea,
    TreatmentSession,
)
from sessions_app.services.signal import Period, signal_flags_refresh, signal_for
from sessions_app.signal_stats import wilson_interval

from .factories import make_client, make_lot, make_plan, make_user

_hours = itertools.count()


def sessions_with(lot, mixture, n: int, k: int, practitioner) -> list[TreatmentSession]:
    """n completed sessions of one plan that used `lot` on the face, the first
    k of them followed by a side effect; each an hour after the last made here
    (no practitioner or room is double-booked)."""
    plan = make_plan(make_client(), practitioner=practitioner, mixture=mixture, sessions_planned=30)
    base = timezone.now().replace(microsecond=0) - dt.timedelta(days=120)
    room = Room.objects.get(name="Room 1")
    sessions = []
    for sequence in range(1, n + 1):
        start = base + dt.timedelta(hours=next(_hours))
        end = start + dt.timedelta(minutes=45)
        sessions.append(
            TreatmentSession(
                plan=plan,
                sequence=sequence,
                starts_at=start,
                ends_at=end,
                practitioner=practitioner,
                room=room,
                status=SessionStatus.COMPLETED,
                completed_at=end,
                signed_at=end,
                signed_by=practitioner,
            )
        )
    TreatmentSession.objects.bulk_create(sessions)
    face = TreatmentArea.objects.get(name="Face")
    injections = Injection.objects.bulk_create(
        Injection(session=s, area=face, volume_ml=2, depth="dej", technique="nappage", needle_length_mm=4, points=40)
        for s in sessions
    )
    Injection.lots.through.objects.bulk_create(
        Injection.lots.through(injection_id=i.pk, productlot_id=lot.pk) for i in injections
    )
    bruise = SideEffectKind.objects.get(name="Bruising")
    SideEffect.objects.bulk_create(
        SideEffect(
            client=plan.client,
            session=s,
            kind=bruise,
            severity="mild",
            onset=timezone.localtime(s.starts_at).date(),
            recorded_by=practitioner,
        )
        for s in sessions[:k]
    )
    return sessions


@pytest.fixture
def catalogue():
    facial = Mixture.objects.get(components__product__name="Hyalu Meso 1%", name="Facial rejuvenation")
    hair = Mixture.objects.get(components__product__name="Biotin 0.5%")
    hyalu, biotin = Product.objects.get(name="Hyalu Meso 1%"), Product.objects.get(name="Biotin 0.5%")
    return {
        "facial": facial,
        "hair": hair,
        "A": make_lot(hyalu, lot_number="A-RAISED"),
        "B": make_lot(hyalu, lot_number="B"),
        "C": make_lot(biotin, lot_number="C"),
        "D": make_lot(biotin, lot_number="D"),
    }


def clinic(catalogue, raised: int):
    """Lots B, C and D: 40 sessions each, 4 with a side effect (10%). Lot A:
    20 sessions, `raised` with a side effect."""
    first, second = make_user(Role.PRACTITIONER), make_user(Role.PRACTITIONER)
    sessions_with(catalogue["A"], catalogue["facial"], 20, raised, first)
    sessions_with(catalogue["B"], catalogue["facial"], 40, 4, first)
    sessions_with(catalogue["C"], catalogue["hair"], 40, 4, second)
    sessions_with(catalogue["D"], catalogue["hair"], 40, 4, second)
    return first, second


def rows(signal, slug):
    return {row.label: row for d in signal.dimensions if d.slug == slug for row in d.rows}


@pytest.mark.django_db
def test_a_lot_at_five_times_the_baseline_is_flagged_with_its_rate_and_interval(catalogue):
    first, second = clinic(catalogue, raised=10)  # 50%, five times the others' 10%
    signal = signal_for(Period.default())
    assert (signal.sessions, signal.with_side_effect) == (140, 22)

    lots = rows(signal, "lot")
    raised = lots["Hyalu Meso 1% lot A-RAISED"].rate
    assert (raised.sessions, raised.with_side_effect, raised.rate) == (20, 10, 0.5)
    assert (raised.low, raised.high) == wilson_interval(10, 20)
    assert raised.baseline == pytest.approx(12 / 120)  # the rest of the clinic
    assert raised.ratio == pytest.approx(5.0)
    assert raised.flagged and raised.p_value < 0.01
    for name in ("Hyalu Meso 1% lot B", "Biotin 0.5% lot C", "Biotin 0.5% lot D"):
        assert lots[name].rate.rate == pytest.approx(0.1) and not lots[name].rate.flagged
    # The flagged lot comes first.
    lot_dimension = next(d for d in signal.dimensions if d.slug == "lot")
    assert lot_dimension.rows[0].label == "Hyalu Meso 1% lot A-RAISED"

    mixtures = rows(signal, "mixture")
    assert (mixtures["Facial rejuvenation"].rate.sessions, mixtures["Facial rejuvenation"].rate.with_side_effect) == (
        60,
        14,
    )
    assert mixtures["Facial rejuvenation"].rate.flagged  # 23% against the rest's 10%
    assert not mixtures[catalogue["hair"].name].rate.flagged

    # Practitioners, products and areas have their rates, not flags.
    people = rows(signal, "practitioner")
    assert people[str(first)].rate.with_side_effect == 14 and people[str(second)].rate.sessions == 80
    assert not any(row.rate.flagged for row in people.values())
    assert rows(signal, "product")["Hyalu Meso 1%"].rate.sessions == 60
    face = rows(signal, "area")["Face"].rate
    assert (face.sessions, face.with_side_effect, face.flagged) == (140, 22, False)
    assert {(d.slug, row.label) for d, row in signal.flagged} == {
        ("lot", "Hyalu Meso 1% lot A-RAISED"),
        ("mixture", "Facial rejuvenation"),
    }


@pytest.mark.django_db
def test_no_flag_where_the_rates_are_equal(catalogue):
    clinic(catalogue, raised=2)  # 10%, as every other lot
    signal = signal_for(Period.default())
    assert signal.flagged == []
    assert rows(signal, "lot")["Hyalu Meso 1% lot A-RAISED"].rate.rate == pytest.approx(0.1)


@pytest.mark.django_db
def test_a_session_counts_once_however_many_side_effects_or_lots(catalogue):
    practitioner = make_user(Role.PRACTITIONER)
    [session] = sessions_with(catalogue["A"], catalogue["facial"], 1, 1, practitioner)
    SideEffect.objects.create(
        client=session.plan.client,
        session=session,
        kind=SideEffectKind.objects.get(name="Swelling"),
        severity="mild",
        onset=timezone.localdate(),
        recorded_by=practitioner,
    )
    Injection.lots.through.objects.create(injection=session.injections.get(), productlot=catalogue["B"])
    signal = signal_for(Period.default())
    assert (signal.sessions, signal.with_side_effect) == (1, 1)
    assert rows(signal, "product")["Hyalu Meso 1%"].rate.sessions == 1


@pytest.mark.django_db
def test_the_period_chooses_the_sessions(catalogue):
    clinic(catalogue, raised=10)
    today = timezone.localdate()
    assert signal_for(Period(today - dt.timedelta(days=30), today)).sessions == 0
    assert signal_for(Period(today - dt.timedelta(days=200), today)).sessions == 140


@pytest.mark.django_db
def test_the_period_starts_at_midnight_in_the_clinic_s_time_zone(catalogue):
    """A session half an hour after the period's first local midnight counts;
    one half an hour before does not. In UTC both are on the day before: on
    SQLite, which compares times as UTC text, a local time given as it is
    would move the edge by the clinic's offset."""
    practitioner = make_user(Role.PRACTITIONER)
    sessions = sessions_with(catalogue["B"], catalogue["facial"], 2, 0, practitioner)
    first = timezone.localdate() - dt.timedelta(days=10)
    midnight = timezone.make_aware(dt.datetime.combine(first, dt.time.min))
    assert midnight.utcoffset()  # the clinic is not on UTC
    before, after = midnight - dt.timedelta(minutes=30), midnight + dt.timedelta(minutes=30)
    for session, start in zip(sessions, (before, after), strict=True):
        TreatmentSession.objects.filter(pk=session.pk).update(starts_at=start, ends_at=start + dt.timedelta(minutes=20))

    assert signal_for(Period(first, timezone.localdate()), fresh=True).sessions == 1


@pytest.mark.django_db
def test_the_page_explains_the_test_and_its_queries_do_not_grow(client, catalogue, django_assert_num_queries):
    # A practitioner reads every practitioner's rate here (the README's roles say so).
    client.force_login(make_user(Role.PRACTITIONER))
    practitioner = make_user(Role.PRACTITIONER)
    sessions_with(catalogue["A"], catalogue["facial"], 5, 1, practitioner)
    # session, user, permissions (2), the counts the reminder round keeps (none
    # here), the one counting statement.
    with django_assert_num_queries(5):
        client.get(reverse("side_effect_signal"))
    clinic(catalogue, raised=10)
    with django_assert_num_queries(5):
        page = client.get(reverse("side_effect_signal"))
    text = page.content.decode()
    assert f'id="practitioner-{practitioner.pk}"' in text
    assert "one-sided exact binomial test" in text and "1 in 100" in text and "95% interval" in text
    assert 'id="signal-flags"' in text and ">Hyalu Meso 1% lot A-RAISED</a>" in text
    # A period that cannot be read: said at the top, the default shown.
    bad = client.get(reverse("side_effect_signal"), {"start": "2026-13-01", "end": "x"})
    assert bad.status_code == 200 and 'id="error-summary"' in bad.content.decode()
    reversed_period = client.get(reverse("side_effect_signal"), {"start": "2026-06-01", "end": "2026-01-01"})
    assert "The end comes on or after the start." in reversed_period.content.decode()


@pytest.mark.django_db
def test_each_row_shows_its_counts_rate_interval_and_test_as_the_template_filters_write_them(client, catalogue):
    client.force_login(make_user(Role.PRACTITIONER))
    catalogue["A"].lot_number = "<script>alert(1)</script>"
    catalogue["A"].save()
    clinic(catalogue, raised=10)
    text = client.get(reverse("side_effect_signal")).content.decode()
    assert "<script>alert(1)" not in text
    raised = rows(signal_for(Period.default()), "lot")["Hyalu Meso 1% lot <script>alert(1)</script>"]
    rate = raised.rate
    row = text[text.index(f'<tr id="lot-{raised.key}" class="table-danger">') :]
    row = row[: row.index("</tr>")]
    assert '<span class="badge text-bg-danger me-1">flag</span>Hyalu Meso 1% lot &lt;script&gt;' in row
    assert '<td class="text-end">20</td>\n<td class="text-end">10</td>' in row
    interval = f"({floatformat(rate.low_percent, 1)}–{floatformat(rate.high_percent, 1)}%)"
    assert f'<td>50.0% <span class="small text-body-secondary text-nowrap">{interval}</span></td>' in row
    p = "&lt; 0.0001" if rate.p_value < 0.0001 else floatformat(rate.p_value, 4)
    assert f'<td class="small">5.0×, p = {p}</td>' in row
    # A practitioner's row: rates, no test.
    plain = text[text.index('<tr id="practitioner-') :]
    assert "p = " not in plain[: plain.index("</tr>")]


@pytest.mark.parametrize("value", [0, -0.0, 0.05, 0.15, 0.25, 2.675, 1.005, 99.95, 0.00005, 12.34567, 1 / 3, 100])
@pytest.mark.parametrize("places", [1, 4])
def test_a_number_is_written_as_floatformat_writes_it(value, places):
    assert number(value, places) == floatformat(value, places)


@pytest.mark.django_db
def test_a_new_flag_shows_on_today_for_practitioners_and_managers(client, catalogue):
    clinic(catalogue, raised=10)
    assert signal_flags_refresh() == 2
    assert signal_flags_refresh() == 0  # raised once; kept up to date
    flag = SignalFlag.objects.get(dimension="lot")
    assert (flag.object_id, flag.sessions, flag.with_side_effect) == (catalogue["A"].pk, 20, 10)
    for role in (Role.PRACTITIONER, Role.MANAGER):
        client.force_login(make_user(role))
        today = client.get(reverse("dashboard"))
        assert flag in today.context["signal_flags"]
        text = today.content.decode()
        assert "New side-effect signals" in text
        assert f"{reverse('side_effect_signal')}#lot-{catalogue['A'].pk}" in text
    client.force_login(make_user(Role.RECEPTION))
    assert "signal_flags" not in client.get(reverse("dashboard")).context
    # No longer flagged: cleared, and gone from Today.
    SideEffect.objects.filter(session__injections__lots=catalogue["A"]).delete()
    signal_flags_refresh()
    flag.refresh_from_db()
    assert flag.cleared_at is not None
    client.force_login(make_user(Role.PRACTITIONER))
    assert client.get(reverse("dashboard")).context["signal_flags"] == []


@pytest.mark.django_db
def test_the_worker_round_refreshes_the_flags(catalogue, settings):
    from sessions_app.reminders.worker import ReminderWorker

    settings.CLINIC_REMINDER_QUIET_HOURS = None
    clinic(catalogue, raised=10)
    assert ReminderWorker().run_round().new_signal_flags == 2
    assert SignalFlag.objects.filter(cleared_at=None).count() == 2


@pytest.mark.django_db
def test_reception_cannot_open_the_signal(client):
    client.force_login(make_user(Role.RECEPTION))
    assert client.get(reverse("side_effect_signal")).status_code == 403


@pytest.mark.django_db
def test_the_page_shows_the_rounds_counts_until_asked_to_count_now(client, catalogue, django_assert_num_queries):
    clinic(catalogue, raised=10)
    signal_flags_refresh()
    # A side effect recorded since the round: not in its counts yet.
    practitioner = make_user(Role.PRACTITIONER)
    sessions_with(catalogue["C"], catalogue["hair"], 1, 1, practitioner)
    client.force_login(practitioner)
    # session, user, permissions (2), the kept counts, groups: nothing counted again.
    with django_assert_num_queries(4):
        kept = client.get(reverse("side_effect_signal"))
    assert kept.context["signal"].sessions == 140
    assert 'id="counted-at"' in kept.content.decode()
    fresh = client.get(reverse("side_effect_signal"), {"fresh": "1"})
    assert (fresh.context["signal"].sessions, fresh.context["signal"].with_side_effect) == (141, 23)
    assert fresh.context["signal"].counted_at is None
    # The next round counts it.
    signal_flags_refresh()
    assert client.get(reverse("side_effect_signal")).context["signal"].sessions == 141
    # Another period is counted when asked.
    today = timezone.localdate()
    other = client.get(reverse("side_effect_signal"), {"start": today - dt.timedelta(days=200), "end": today})
    assert other.context["signal"].counted_at is None and other.context["signal"].sessions == 141


@pytest.mark.django_db
def test_each_table_opens_on_its_highest_rates_and_every_flag_and_shows_all_on_asking(client, catalogue, monkeypatch):
    from sessions_app.views import side_effects

    monkeypatch.setattr(side_effects, "SIGNAL_ROWS", 2)
    client.force_login(make_user(Role.MANAGER))
    clinic(catalogue, raised=10)
    staff = [make_user(Role.PRACTITIONER) for _ in range(3)]
    for k, who in enumerate(staff):  # 0, 1 and 2 of 10 sessions followed by a side effect
        sessions_with(make_lot(catalogue["C"].product, lot_number=f"E{k}"), catalogue["hair"], 10, k, who)
    page = client.get(reverse("side_effect_signal"))
    tables = {dimension.slug: (rows, hidden) for dimension, rows, hidden, _ in page.context["tables"]}
    practitioners, hidden = tables["practitioner"]
    assert len(practitioners) == 2 and hidden == 3  # five practitioners, the two highest rates shown
    assert practitioners[0].rate.rate >= practitioners[1].rate.rate
    lots, _ = tables["lot"]
    assert lots[0].label.endswith("A-RAISED") and lots[0].rate.flagged
    text = page.content.decode()
    assert "Show all 5 rows" in text
    whole = client.get(reverse("side_effect_signal"), {"all": "practitioner"})
    tables = {dimension.slug: (rows, hidden) for dimension, rows, hidden, _ in whole.context["tables"]}
    assert (len(tables["practitioner"][0]), tables["practitioner"][1]) == (5, 0)
    assert len(tables["lot"][0]) == 2  # the other tables still open on their first rows
    # After "Count now", "Show all" reads the round's counts again, as the page does.
    counted = client.get(reverse("side_effect_signal"), {"fresh": "1"})
    links = {dimension.slug: link for dimension, _, _, link in counted.context["tables"]}
    assert "fresh" not in links["practitioner"] and "all=practitioner" in links["practitioner"]


def test_a_table_keeps_every_flagged_row_beyond_its_first_rows():
    from sessions_app.services.signal import Dimension, Row
    from sessions_app.signal_stats import rate_against_rest

    raised = [Row(i, f"L{i}", rate_against_rest(15, 50, 75 + 15 * i, 1050 + 50 * i)) for i in range(3)]
    calm = [Row(9, "calm", rate_against_rest(3, 50, 63, 1050))]
    assert all(row.rate.flagged for row in raised)
    assert Dimension("lot", "Lot", True, raised + calm).first(1) == raised
