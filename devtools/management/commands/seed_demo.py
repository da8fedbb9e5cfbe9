"""`manage.py seed_demo [--clients N] [--reset]`: demo staff accounts and a
clinic's worth of demo clients. The work is `devtools.demo.demo_seed`."""

import argparse
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from devtools.demo import DEFAULT_CLIENTS, DEMO_PASSWORD, DEMO_USERNAMES, demo_seed

# Beyond this the planner would run for a long time and the history would be
# implausibly dense; a benchmark needs far fewer.
MAX_CLIENTS = 200_000


def client_count(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, not {raw!r}") from None
    if not 1 <= value <= MAX_CLIENTS:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_CLIENTS}, not {value}")
    return value


class Command(BaseCommand):
    help = (
        "Create the demo staff accounts and, unless they are already there, demo clients with "
        "screenings, plans, sessions, injections, side effects and reminders."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--clients",
            type=client_count,
            default=DEFAULT_CLIENTS,
            help=f"How many demo clients to create (default {DEFAULT_CLIENTS}).",
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete the existing demo data (not real clients or staff) and create it afresh.",
        )

    def handle(self, *args, clients, reset, verbosity, **options):
        # call_command(clients=0) skips the parser's type check.
        try:
            clients = client_count(str(clients))
        except argparse.ArgumentTypeError as exc:
            raise CommandError(f"--clients {exc}") from None
        started = time.monotonic()
        try:
            result = demo_seed(clients=clients, reset=reset, progress=verbosity >= 1)
        except (ValueError, DatabaseError) as exc:
            raise CommandError(f"Demo data not created, the database is unchanged: {exc}") from exc
        accounts = ", ".join(DEMO_USERNAMES)
        if not result.created:
            self.stdout.write(
                f"Demo data is already there ({result.existing_clients} demo clients); staff accounts checked. "
                "Pass --reset to replace it."
            )
        else:
            summary = ", ".join(f"{count} {name}" for name, count in result.counts.items())
            self.stdout.write(
                self.style.SUCCESS(f"Demo data created in {time.monotonic() - started:.1f} s: {summary}.")
            )
        self.stdout.write(f"Sign in as {accounts} with the password {DEMO_PASSWORD!r}.")
