"""The send loop a batch at a time: one claim moves a batch to "sending", its
emails share one connection to a real SMTP server (aiosmtpd on loopback),
one message refused or cut off never loses or repeats the others, a stop or a
batch past its time gives the rest back as it was, a batch left "sending" by a
dead worker comes back after the timeout (within a long round too), and on
PostgreSQL two workers claiming at once take different rows."""

import datetime as dt
import threading
from unittest import mock

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection, transaction

from sessions_app.models import Reminder, ReminderStatus
from sessions_app.reminders.generate import reminders_generate
from sessions_app.reminders.worker import ReminderWorker

from .factories import T0, Clock, at, make_client, make_plan, make_rule, make_session
from .sinks import SmtpSink

pytestmark = pytest.mark.django_db


def due_emails(n: int) -> list[Reminder]:
    """n email reminders due at T0, in their due order (one an hour apart)."""
    make_rule("upcoming_session", amount=24, unit="hours")
    for i in range(n):
        client = make_client(consent_email=True, email=f"client{i:02d}@example.org")
        make_session(make_plan(client), starts_at=at(10 + i))
    reminders_generate(now=T0)
    reminders = list(Reminder.objects.order_by("due_at", "pk"))
    assert len(reminders) == n and all(r.due_at <= T0 for r in reminders)
    return reminders


def statuses() -> dict[int, tuple]:
    return {pk: (status, attempts) for pk, status, attempts in Reminder.objects.values_list("pk", "status", "attempts")}


def test_a_round_sends_each_batch_over_one_smtp_connection(sink):
    reminders = due_emails(7)
    done = ReminderWorker(clock=Clock(T0), batch_size=3).run_round()
    assert done.sent == 7
    assert sorted(m["To"] for m in sink.messages) == sorted(r.client.email for r in reminders)
    assert sink.connections == 3, "batches of 3, 3 and 1: a connection each"


def test_a_claim_takes_a_batch_in_due_order_and_marks_it_as_this_claims():
    reminders = due_emails(5)
    worker = ReminderWorker(clock=Clock(T0), batch_size=3)
    claim = worker.claim_batch()
    assert claim.ids == [r.pk for r in reminders[:3]]
    assert claim.at == T0
    taken = Reminder.objects.filter(pk__in=claim.ids)
    assert set(taken.values_list("status", "claimed_at", "attempts")) == {(ReminderStatus.SENDING, T0, 1)}
    assert worker.claim_batch().ids == [r.pk for r in reminders[3:]]
    assert worker.claim_batch() is None


def test_a_batch_costs_a_fixed_number_of_queries_and_one_update_per_message(django_assert_num_queries, on_postgres):
    due_emails(6)
    worker = ReminderWorker(clock=Clock(T0), batch_size=6)
    with django_assert_num_queries(4):
        # SAVEPOINT (the claim's transaction, inside the test's), the SELECT of
        # the candidates, the UPDATE to "sending", RELEASE SAVEPOINT.
        claim = worker.claim_batch()
    # The reminders with what their messages name, the upcoming-session
    # kind's obsolete check, the archived clients', the rules switched off;
    # then one UPDATE recording each result (on PostgreSQL, between a SET of
    # synchronous_commit and its RESET).
    with django_assert_num_queries(4 + 6 + (2 if on_postgres else 0)):
        assert worker.send_batch(claim) == ["sent"] * 6
    assert len(mail.outbox) == 6


def test_one_refused_address_fails_alone_and_the_batch_goes_on(sink):
    reminders = due_emails(4)
    refused = reminders[1]
    sink.refuse_to = {refused.client.email}
    done = ReminderWorker(clock=Clock(T0), batch_size=4).run_round()
    assert (done.sent, done.failed) == (3, 1)
    assert sorted(m["To"] for m in sink.messages) == sorted(r.client.email for r in reminders if r != refused)
    refused.refresh_from_db()
    assert refused.status == ReminderStatus.FAILED
    assert refused.last_error == "The mail server refused the address: 550 5.1.1 Mailbox unavailable."


def test_a_server_hanging_up_mid_batch_fails_that_message_and_the_next_go_on_a_new_connection(sink):
    reminders = due_emails(4)
    cut_off = reminders[1]
    sink.hang_up_on = {cut_off.client.email}
    clock = Clock(T0)
    worker = ReminderWorker(clock=clock, batch_size=4)
    done = worker.run_round()
    assert (done.sent, done.failed) == (3, 1)
    assert sink.connections == 2
    cut_off.refresh_from_db()
    assert cut_off.status == ReminderStatus.FAILED
    assert cut_off.last_error == "The mail server refused the message: 421 4.3.2 Service shutting down."
    # Later it goes, once; nothing else is sent again.
    sink.hang_up_on = set()
    clock.moment = cut_off.next_attempt_at
    assert worker.run_round().sent == 1
    assert sorted(m["To"] for m in sink.messages) == sorted(r.client.email for r in reminders)


def test_with_the_server_down_every_email_of_the_batch_fails_readably_and_goes_later(settings):
    down = SmtpSink()  # its port, nobody listening yet
    settings.MAILERS = down.mailers()
    reminders = due_emails(3)
    clock = Clock(T0)
    worker = ReminderWorker(clock=clock, batch_size=3)
    assert worker.run_round().failed == 3
    for reminder in Reminder.objects.all():
        assert (reminder.status, reminder.attempts) == (ReminderStatus.FAILED, 1)
        assert reminder.last_error == "The mail server could not be reached: Connection refused."
    sink = down.start()
    try:
        clock.moment = T0 + dt.timedelta(seconds=settings.CLINIC_REMINDER_BACKOFF_SECONDS)
        assert worker.run_round().sent == 3
    finally:
        sink.stop()
    assert sorted(m["To"] for m in sink.messages) == sorted(r.client.email for r in reminders)
    assert sink.connections == 1


def test_a_stop_mid_batch_gives_the_rest_back_as_it_was():
    reminders = due_emails(4)
    worker = ReminderWorker(clock=Clock(T0), batch_size=4)
    # The third one failed before: its retry time has come, and stays its own.
    retry_at = T0 - dt.timedelta(minutes=1)
    Reminder.objects.filter(pk=reminders[2].pk).update(
        status=ReminderStatus.FAILED, attempts=1, next_attempt_at=retry_at, last_error="Server down."
    )
    sent = []

    def send_then_stop(message):
        sent.append(message.to[0])
        worker.stop()  # SIGTERM while the first message is with the server

    with mock.patch("sessions_app.reminders.delivery.Outbox.send", side_effect=send_then_stop):
        done = worker.run_round()
    assert (done.sent, sent) == (1, [reminders[0].client.email])
    first, second, third, fourth = (Reminder.objects.get(pk=r.pk) for r in reminders)
    assert (first.status, first.attempts) == (ReminderStatus.SENT, 1)
    assert (second.status, second.attempts, second.claimed_at) == (ReminderStatus.PENDING, 0, None)
    assert (third.status, third.attempts, third.next_attempt_at) == (ReminderStatus.FAILED, 1, retry_at)
    assert (fourth.status, fourth.attempts) == (ReminderStatus.PENDING, 0)
    # The next worker sends the three, once.
    assert ReminderWorker(clock=Clock(T0)).run_round().sent == 3
    assert sorted(m.to[0] for m in mail.outbox) == sorted(r.client.email for r in reminders[1:])


def test_a_batch_past_half_the_sending_timeout_gives_the_rest_back():
    """A slow server must not keep a batch "sending" until another worker
    takes the rest back as stuck and sends it too."""
    reminders = due_emails(3)
    clock = Clock(T0)
    worker = ReminderWorker(clock=clock, batch_size=3)
    slow = dt.timedelta(seconds=settings.CLINIC_REMINDER_SENDING_TIMEOUT_SECONDS / 2)

    def slow_send(message):
        clock.moment += slow

    claim = worker.claim_batch()
    with mock.patch("sessions_app.reminders.delivery.Outbox.send", side_effect=slow_send):
        assert worker.send_batch(claim) == ["sent"]
    assert statuses() == {
        reminders[0].pk: (ReminderStatus.SENT, 1),
        reminders[1].pk: (ReminderStatus.PENDING, 0),
        reminders[2].pk: (ReminderStatus.PENDING, 0),
    }


def test_a_dead_workers_batch_comes_back_after_the_timeout_and_goes_once():
    reminders = due_emails(3)
    ReminderWorker(clock=Clock(T0), batch_size=3).claim_batch()  # the worker died here, before sending
    clock = Clock(T0 + dt.timedelta(seconds=settings.CLINIC_REMINDER_SENDING_TIMEOUT_SECONDS - 1))
    worker = ReminderWorker(clock=clock)
    assert worker.run_round().sent == 0, "still within the sending timeout"
    clock.moment += dt.timedelta(seconds=2)
    done = worker.run_round()
    assert (done.back_from_stuck, done.sent) == (3, 3)
    assert statuses() == {r.pk: (ReminderStatus.SENT, 2) for r in reminders}
    assert len(mail.outbox) == 3


def test_a_stuck_batch_comes_back_within_its_timeout_even_during_a_long_round():
    """One worker died holding two reminders; another is in a long round
    when their timeout passes: it takes them back and sends them in that
    round, without waiting for the next."""
    reminders = due_emails(6)
    dead = ReminderWorker(clock=Clock(T0), batch_size=2)
    held = dead.claim_batch()
    timeout = dt.timedelta(seconds=settings.CLINIC_REMINDER_SENDING_TIMEOUT_SECONDS)
    clock = Clock(T0 + timeout - dt.timedelta(seconds=10))
    worker = ReminderWorker(clock=clock, batch_size=2)

    def five_seconds_each(message):
        mail.outbox.append(message)
        clock.moment += dt.timedelta(seconds=5)

    with mock.patch("sessions_app.reminders.delivery.Outbox.send", side_effect=five_seconds_each):
        done = worker.run_round()
    assert (done.back_from_stuck, done.sent) == (2, 6)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(r.client.email for r in reminders)
    assert Reminder.objects.filter(pk__in=held.ids, status=ReminderStatus.SENT, attempts=2).count() == 2


def test_a_batch_taken_back_as_stuck_is_not_sent_by_the_worker_that_lost_it():
    [reminder] = due_emails(1)
    slow = ReminderWorker(clock=Clock(T0))
    claim = slow.claim_batch()
    later = Clock(T0 + dt.timedelta(seconds=settings.CLINIC_REMINDER_SENDING_TIMEOUT_SECONDS + 1))
    other = ReminderWorker(clock=later)
    other.recover_stuck()
    assert other.claim_next() == reminder.pk  # taken back, claimed again
    assert slow.send_batch(claim) == []
    assert not mail.outbox
    assert other.process(reminder.pk) == "sent"
    assert len(mail.outbox) == 1


def test_a_result_that_comes_after_the_claim_was_taken_back_overwrites_nothing():
    [reminder] = due_emails(1)
    worker = ReminderWorker(clock=Clock(T0))
    claim = worker.claim_batch()
    again = T0 + dt.timedelta(seconds=settings.CLINIC_REMINDER_SENDING_TIMEOUT_SECONDS + 1)

    def taken_back_while_sending(message):
        Reminder.objects.filter(pk=reminder.pk).update(claimed_at=again)  # another worker's claim now

    with mock.patch("sessions_app.reminders.delivery.Outbox.send", side_effect=taken_back_while_sending):
        assert worker.send_batch(claim) == ["sent"]
    reminder.refresh_from_db()
    assert (reminder.status, reminder.claimed_at, reminder.message) == (ReminderStatus.SENDING, again, "")


# --- PostgreSQL: two claims at once ---------------------------------------------------------------


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_a_claim_skips_the_rows_another_worker_is_claiming(reference_data):
    reminders = due_emails(6)
    locked, release = threading.Event(), threading.Event()
    other: list[int] = []

    def another_worker():
        # A second worker in the middle of its claim: its rows locked, not yet updated.
        try:
            with transaction.atomic():
                rows = ReminderWorker(clock=Clock(T0)).candidates(T0)
                other.extend(rows.values_list("pk", flat=True)[:2])
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=another_worker)
    thread.start()
    try:
        assert locked.wait(10)
        claim = ReminderWorker(clock=Clock(T0), batch_size=10).claim_batch()  # must not wait for it
    finally:
        release.set()
        thread.join()
    assert other == [r.pk for r in reminders[:2]]
    assert claim.ids == [r.pk for r in reminders[2:]]
