"""`manage.py send_reminders [--loop]`: create the reminders the rules call
for and send those due. The work is `sessions_app.reminders.worker`.

Once (the default) suits cron; --loop runs rounds every --interval seconds
until SIGTERM or SIGINT, which end it after the reminder in hand. Safe to run
twice at once: each reminder is claimed by one worker only.
"""

import argparse
import signal
import threading

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, close_old_connections

from clinic.startup import require_production_settings
from sessions_app.reminders.worker import ReminderWorker


def positive(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number of seconds, not {raw!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


class Command(BaseCommand):
    help = "Create due reminders from the rules and send them by email and SMS (once, or --loop)."

    def add_arguments(self, parser):
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--once", action="store_true", help="One round, then exit (the default).")
        mode.add_argument("--loop", action="store_true", help="Run rounds until SIGTERM or SIGINT.")
        parser.add_argument(
            "--interval",
            type=positive,
            default=None,
            help=f"Seconds between rounds with --loop (default CLINIC_REMINDER_LOOP_SECONDS, "
            f"now {settings.CLINIC_REMINDER_LOOP_SECONDS}).",
        )

    def handle(self, *args, loop, interval, verbosity, **options):
        try:
            require_production_settings("Sending reminders")
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from None
        worker = ReminderWorker()
        if not loop:
            try:
                done = worker.run_round()
            except DatabaseError as exc:
                raise CommandError(f"Reminders not sent, the database failed: {exc}") from exc
            self.stdout.write(f"Reminders: {done}.")
            return

        wake = threading.Event()

        def stop(signum, frame):
            self.stdout.write(f"{signal.Signals(signum).name}: stopping after the reminder in hand.")
            worker.stop()
            wake.set()

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        pause = interval or settings.CLINIC_REMINDER_LOOP_SECONDS
        self.stdout.write(f"Sending reminders every {pause} s; SIGTERM or Ctrl-C stops.")
        try:
            while not worker.stopping:
                close_old_connections()  # a database restarted meanwhile is reconnected
                try:
                    done = worker.run_round()
                except Exception as exc:  # the loop outlives a database hiccup
                    self.stderr.write(f"Round failed, trying again in {pause} s: {type(exc).__name__}: {exc}")
                else:
                    if verbosity >= 2 or done.sent or done.failed or done.generated:
                        self.stdout.write(f"Reminders: {done}.")
                wake.wait(pause)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.stdout.write("Stopped.")
