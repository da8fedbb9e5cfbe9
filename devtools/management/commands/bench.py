"""`manage.py bench`: seed demo clinics of 1,000 and 10,000 clients on
PostgreSQL (or time those an earlier `--keep` run kept: `--reuse`), time the
pages staff open all day, the sizes alternately in one process, then the
reminder jobs of each, and write the table. The work is in `devtools.bench`."""

import argparse
import functools
import gc
import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from django.test.utils import override_settings
from django.utils import timezone

from devtools.bench import databases, jobs, pages, report
from devtools.bench.databases import BenchDatabaseError
from devtools.management.commands.seed_demo import client_count

DEFAULT_SIZES = (1000, 10_000)


def sizes(raw: str) -> list[int]:
    values = [client_count(part.strip()) for part in raw.split(",") if part.strip()]
    if not values:
        raise argparse.ArgumentTypeError("name at least one number of clients, for example 1000,10000")
    return sorted(set(values))


def _at_least(minimum: int):
    def check(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, not {raw!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value}")
        return value

    return check


class Command(BaseCommand):
    help = (
        "Benchmark on PostgreSQL: seed demo clinics of each size into databases of the bench's own "
        f"({databases.PREFIX}*, on the server DATABASE_URL names), time the pages staff open all day and the "
        "reminder jobs, and write the table to bench-results/."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--sizes",
            type=sizes,
            default=list(DEFAULT_SIZES),
            help="Comma-separated numbers of demo clients (default 1000,10000).",
        )
        parser.add_argument("--runs", type=_at_least(1), default=50, help="Timed requests per page (default 50).")
        parser.add_argument(
            "--warmup", type=_at_least(0), default=5, help="Untimed requests per page first (default 5)."
        )
        parser.add_argument(
            "--output",
            type=Path,
            default=Path(settings.BASE_DIR) / "bench-results",
            help="Where the table is written (default bench-results/).",
        )
        parser.add_argument(
            "--keep",
            action="store_true",
            help="Keep the seeded databases afterwards (for a load run, or --reuse).",
        )
        parser.add_argument(
            "--reuse",
            action="store_true",
            help=f"Time the {databases.PREFIX}<size> databases an earlier --keep run seeded, instead of seeding "
            "again (refused unless each was seeded to the end and is at the code's migrations); they are kept.",
        )
        parser.add_argument(
            "--update-readme",
            action="store_true",
            help="Also put the table into README.md, between its bench markers.",
        )

    def handle(self, *args, sizes, runs, warmup, output, keep, reuse, update_readme, **options):
        try:
            server = databases.check_server()
        except BenchDatabaseError as exc:
            raise CommandError(str(exc)) from None
        if settings.DATABASES["default"]["NAME"].startswith(databases.PREFIX):
            raise CommandError(
                f"DATABASE_URL names {settings.DATABASES['default']['NAME']}, one of the databases the bench "
                "creates and drops: name another database on the same server."
            )
        readme = Path(settings.BASE_DIR) / "README.md"
        if update_readme and not report.has_markers(readme):
            raise CommandError(f"{readme} has no {report.README_START} … {report.README_END} markers.")
        names = {clients: databases.bench_database_name(clients) for clients in sizes}
        marks: dict[int, databases.Mark] = {}
        if reuse:
            try:
                marks = {clients: databases.reusable(clients) for clients in sizes}
            except BenchDatabaseError as exc:
                raise CommandError(str(exc)) from None
        # Only what this run created is dropped, and a name already taken is
        # refused before anything is seeded (databases._create checks again).
        ours = [] if reuse else [databases.TEMPLATE, *names.values()]
        ours += [databases.jobs_database_name(clients) for clients in sizes]
        taken = [name for name in ours if databases.database_exists(name)]
        if taken:
            raise CommandError(
                f"Already on the server: {', '.join(taken)} (kept by an earlier run with --keep, left by a run "
                f"that was stopped, or another bench is running). The bench drops only what it creates: time "
                f"kept sizes again with --reuse, or drop them with dropdb first."
            )
        result = report.Report(
            started=timezone.localtime(),
            server=server,
            cpus=os.cpu_count() or 0,
            loads=[("before", os.getloadavg())],
            warmup=warmup,
            runs=runs,
            sizes=[],
            reused=reuse,
            kept=keep or reuse,
        )
        self.stdout.write(f"Load average {report.load_text(result.loads[0][1])} on {result.cpus} CPUs.")
        created: list[str] = []
        finished = False
        opened = databases.Connections()
        try:
            if not reuse:
                self.stdout.write(f"Migrating {databases.TEMPLATE}…")
                databases.create_template()
                created.append(databases.TEMPLATE)
                for clients, name in names.items():
                    databases.create_database(name)
                    created.append(name)
                    opened.use(name)
                    marks[clients] = self._seed(clients, name)
            for clients, name in names.items():
                opened.use(name)
                self.stdout.write(f"{clients:,} clients: VACUUM ANALYZE…")
                databases.settle()
                result.sizes.append(report.SizeResult(clients, jobs.DataSize.measure(), pages.Subjects.pick()))
            gc.collect()  # the seeds' millions of short-lived objects, before timing
            self._time_pages(result, opened, warmup=warmup, runs=runs)
            for size in result.sizes:
                name = names[size.clients]
                if keep or reuse:
                    # The jobs write: on a copy, so that what is kept stays as seeded.
                    scratch = databases.jobs_database_name(size.clients)
                    self.stdout.write(f"{size.clients:,} clients: copying {name} to {scratch} for the jobs…")
                    opened.release(name)
                    databases.copy_database(name, scratch)
                    created.append(scratch)
                    name = scratch
                opened.use(name)
                self.stdout.write(f"{size.clients:,} clients: timing the reminder jobs…")
                size.jobs = self._time_jobs(size.clients, marks[size.clients], reused=reuse)
                result.loads.append((f"after the jobs of {size.clients:,} clients", os.getloadavg()))
                if name != names[size.clients]:
                    opened.release(name)
                    databases.drop_database(name)
                    created.remove(name)
            finished = True
        except BenchDatabaseError as exc:
            raise CommandError(str(exc)) from None
        except (pages.PageError, ValueError, DatabaseError) as exc:
            raise CommandError(f"Benchmark stopped: {exc}") from None
        finally:
            opened.close()
            for name in created:
                if name not in names.values() or not keep:
                    try:
                        databases.drop_database(name)
                    except BenchDatabaseError as exc:
                        self.stderr.write(f"Could not drop {name}: {exc}")
            kept = [name for name in created if name in names.values() and keep]
            if kept and not finished:
                self.stderr.write(
                    f"Stopped early; kept as asked (--keep): {', '.join(kept)}. A database whose seed did not "
                    "finish carries no mark, and --reuse refuses it: drop it with dropdb."
                )

        text = result.markdown()
        self.stdout.write("\n" + text)
        try:
            path = report.write(result, output)
        except OSError as exc:
            raise CommandError(f"The table could not be written to {output}: {exc}") from None
        self.stdout.write(f"Written to {path} (and latest.md beside it).")
        if keep or reuse:
            self.stdout.write(
                f"Kept the databases {', '.join(names.values())}: time them again with --reuse, "
                "drop them with dropdb when done."
            )
        if update_readme:
            report.update_readme(readme, text)
            self.stdout.write(f"Updated {readme}.")
        for miss in result.page_misses():
            self.stdout.write(self.style.WARNING(f"Target missed: {miss}"))

    def _seed(self, clients: int, name: str) -> databases.Mark:
        """Seeds the database in use, timed, and marks it as seeded to the end."""
        self.stdout.write(f"{clients:,} clients: seeding…")
        started = timezone.now()
        seed = jobs.time_seed(clients)
        self.stdout.write(f"  seeded in {seed.seconds:.1f} s ({seed.detail}).")
        mark = databases.Mark(clients, started, seed.seconds, jobs.DataSize.measure().sessions)
        databases.write_mark(name, mark)
        return mark

    def _time_pages(self, result: report.Report, opened: databases.Connections, *, warmup: int, runs: int) -> None:
        """Every size's pages, alternately; the load average as it begins and ends."""
        self.stdout.write(
            f"Timing {len(pages.PAGES)} pages of {len(result.sizes)} size(s) alternately "
            f"({warmup} warm-up and {runs} timed requests each)…"
        )
        result.loads.append(("as the pages' timing began", os.getloadavg()))
        targets = [
            pages.Size(size.subjects, functools.partial(opened.use, databases.bench_database_name(size.clients)))
            for size in result.sizes
        ]
        with _quiet_test_client():
            timings = pages.time_pages(targets, warmup=warmup, runs=runs)
        for size, timed in zip(result.sizes, timings, strict=True):
            size.pages = timed
        result.loads.append(("as it ended", os.getloadavg()))

    def _time_jobs(self, clients: int, mark: databases.Mark, *, reused: bool) -> list[jobs.JobTiming]:
        """The jobs on the database in use: its seed (timed when this run
        seeded it), reminder generation, and one send round timed twice on the
        same messages: into the in-memory outbox, then through SMTP to a local sink."""
        seed_detail = f"{mark.sessions:,} sessions"
        if reused:
            seed_detail += f"; kept, seeded {timezone.localtime(mark.seeded):%Y-%m-%d %H:%M}"
        return [
            jobs.JobTiming(f"seed_demo --clients {clients}", mark.seconds, seed_detail),
            jobs.time_generation_first(),
            jobs.time_check_in_generation(),
            jobs.time_generation_steady(),
            jobs.time_send_round(keep_due=True),
            jobs.time_send_round_smtp(),
        ]


@contextmanager
def _quiet_test_client() -> Iterator[None]:
    """Production-like settings for the test client: DEBUG off (no query
    log), the test client's host allowed, static files without a manifest
    (the bench needs no collectstatic), and WhiteNoise's warning about the
    missing collectstatic folder and django-axes' sign-in lines kept off the
    terminal."""
    static = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    with (
        warnings.catch_warnings(),
        override_settings(
            DEBUG=False, ALLOWED_HOSTS=["testserver"], STORAGES={**settings.STORAGES, "staticfiles": static}
        ),
    ):
        warnings.filterwarnings("ignore", message="No directory at")
        # django-axes logs every sign-in at INFO: hundreds of lines of the bench's own.
        axes = logging.getLogger("axes")
        level = axes.level
        axes.setLevel(logging.WARNING)
        try:
            yield
        finally:
            axes.setLevel(level)
