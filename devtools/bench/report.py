"""The benchmark's table: Markdown, so the same text prints in a terminal,
lands in bench-results/ and is quoted by the README."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from .jobs import DataSize, JobTiming
from .pages import PageTiming, Subjects

# The targets, for the largest data set; a page may have its own
# p95 target (pages.Page.p95_target_ms: the reports, 150 ms).
PAGE_P95_MS = 50
# The largest set's p95 over the smaller's, from the alternated timings.
P95_RATIO_MAX = 1.3
# A page's p50 over its role's floor page's (an empty page, same middleware,
# sign-in and base template), at the largest set.
FLOOR_MULTIPLE_MAX = 3.0
GENERATION_MAX_S = 2.0
# Issue 19: a send round of 6,500 messages within a minute, one worker (read
# as a rate: the round sends what the data set has due); seeding 100,000
# clients within five minutes.
SEND_PER_MINUTE_MIN = 6500
SEED_MAX_S = 300.0

Load = tuple[float, float, float]

README_START = "<!-- bench:start -->"
README_END = "<!-- bench:end -->"


@dataclass
class SizeResult:
    clients: int
    data: DataSize
    subjects: Subjects
    pages: list[PageTiming] = field(default_factory=list)
    jobs: list[JobTiming] = field(default_factory=list)


@dataclass
class Report:
    started: dt.datetime
    server: str
    cpus: int
    # The load average at each step: ("before", ...), ("as the pages' timing began", ...), ...
    loads: list[tuple[str, Load]]
    warmup: int
    runs: int
    sizes: list[SizeResult]
    # Databases kept by an earlier run (--reuse), not seeded by this one.
    reused: bool = False
    # Databases kept after the run (--keep or --reuse): the jobs ran on copies.
    kept: bool = False

    def page_misses(self) -> list[str]:
        """What the largest data set misses of the page targets, page by page."""
        misses = []
        for row in self._page_rows():
            if row[-1] != "met":
                misses.append(f"{row[0]} ({row[1]}): {row[-1]}")
        return misses

    def floor_multiples(self) -> list[float | None]:
        """Each page's p50 over its role's floor page's p50, at the largest
        set (None for the floor pages, and where no floor was timed)."""
        large = self.sizes[-1]
        floors = {t.page.username: t.p50_ms for t in large.pages if t.page.floor}
        return [
            None if t.page.floor or not floors.get(t.page.username) else t.p50_ms / floors[t.page.username]
            for t in large.pages
        ]

    def _page_rows(self) -> list[list[str]]:
        small, large = self.sizes[0], self.sizes[-1]
        rows = []
        for i, (timing, multiple) in enumerate(zip(large.pages, self.floor_multiples(), strict=True)):
            page = timing.page
            name = page.name
            if page.p95_target_ms != PAGE_P95_MS:
                name += f" (p95 < {page.p95_target_ms:g} ms{'' if page.flat else ', no ratio target'})"
            cells = [name, page.role]
            for size in self.sizes:
                t = size.pages[i]
                cells += [f"{t.p50_ms:.1f} / {t.p95_ms:.1f}", str(t.queries)]
            first = small.pages[i]
            ratio = timing.p95_ms / first.p95_ms if first.p95_ms else 0
            misses = []
            target = page.p95_target_ms
            if timing.p95_ms >= target:
                misses.append(f"p95 ≥ {target:g} ms")
            if len(self.sizes) > 1:
                cells.append(f"{ratio:.2f}")
                if ratio > P95_RATIO_MAX and page.flat:
                    misses.append(f"ratio > {P95_RATIO_MAX:g}")
                if len({size.pages[i].queries for size in self.sizes}) > 1:
                    misses.append("queries grow")
            cells.append("floor" if page.floor else "–" if multiple is None else f"{multiple:.1f}×")
            # The reports aggregate a period's sessions: held to their own p95, not to the floor.
            if multiple is not None and page.flat and multiple > FLOOR_MULTIPLE_MAX:
                misses.append(f"p50 > {FLOOR_MULTIPLE_MAX:g}× floor")
            cells.append(", ".join(misses) or "met")
            rows.append(cells)
        return rows

    def markdown(self) -> str:
        load = ", ".join(f"{load_text(values)} {label}" for label, values in self.loads)
        seeded = "kept by an earlier run (--reuse)" if self.reused else "seeded"
        small, large = self.sizes[0].clients, self.sizes[-1].clients
        alternated = (
            f" The sizes' databases are kept side by side and timed alternately in one process, each page "
            f"of every size in turn (the size asked first rotating run by run), so the ratio is "
            f"{large:,} over {small:,} clients under the same load."
            if len(self.sizes) > 1
            else ""
        )
        jobs_copy = ", each on a copy of its kept database" if self.kept else ""
        lines = [
            f"Measured {self.started:%Y-%m-%d %H:%M %Z} on {self.cpus} CPUs (load average {load}), "
            f"{self.server.split(' on ')[0]}, each data set {seeded} then VACUUM ANALYZE. Pages through "
            f"Django's test client with DEBUG off, signed in "
            f"as the role that uses them: p50 / p95 in ms of {self.runs} requests each after "
            f"{self.warmup} warm-up request{'' if self.warmup == 1 else 's'}; queries per request.{alternated} "
            f"The floor is an empty page through the same middleware, sign-in and base template; × floor is "
            f"a page's p50 over its role's floor's, at {large:,} clients. The reminder jobs are timed after "
            f"the pages, one size after the other{jobs_copy}.",
            "",
        ]
        for size in self.sizes:
            d, s = size.data, size.subjects
            lines.append(
                f"- {size.clients:,} clients: {d.sessions:,} sessions, {d.injections:,} injections, "
                f"{d.reminders:,} reminders; the longest history has {s.client_sessions} sessions, "
                f"the most used lot went into {s.lot_injections:,} injections; the busiest practitioner has "
                f"{s.busiest_week_sessions} sessions next week."
            )
        head = ["page", "as"]
        for size in self.sizes:
            head += [f"{size.clients:,} clients p50 / p95", "queries"]
        if len(self.sizes) > 1:
            head.append("p95 ratio")
        head.append("× floor")
        head.append(
            f"targets (p95 < {PAGE_P95_MS} ms unless said, ratio ≤ {P95_RATIO_MAX:g}, same queries, "
            f"p50 ≤ {FLOOR_MULTIPLE_MAX:g}× floor)"
        )
        lines += ["", *_table(head, self._page_rows()), ""]
        job_head = ["job", *(f"{size.clients:,} clients" for size in self.sizes), "target"]
        job_rows = []
        for i, job in enumerate(self.sizes[-1].jobs):
            cells = [job.name.replace(f"--clients {self.sizes[-1].clients}", "--clients N")]
            cells += [f"{size.jobs[i].seconds:.2f} s ({size.jobs[i].detail})" for size in self.sizes]
            target = ""
            limit = _job_limit(job.name)
            if job.messages and job.seconds:
                rate = job.messages / job.seconds * 60
                verdict = "met" if rate >= SEND_PER_MINUTE_MIN else "missed"
                target = f"≥ {SEND_PER_MINUTE_MIN:,} messages a minute: {verdict} ({rate:,.0f} a minute)"
            elif limit is not None:
                target = f"< {limit:g} s: " + ("met" if job.seconds < limit else "missed")
            job_rows.append([*cells, target])
        lines += _table(job_head, job_rows)
        return "\n".join(lines) + "\n"


def _job_limit(name: str) -> float | None:
    """The issue's time limit for a job, in seconds, if it sets one."""
    # The round every few minutes, and the check-ins inside it; the first round
    # (an upgrade's, creating every reminder at once) has no target.
    if name.startswith(("reminder generation, next rounds", "check-in generation")):
        return GENERATION_MAX_S
    if name.startswith("seed_demo"):
        return SEED_MAX_S
    return None


def load_text(values: Load | None) -> str:
    return " ".join(f"{v:.2f}" for v in values) if values else "?"


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(head) + " |",
        "|" + "|".join(" --- " for _ in head) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def write(report: Report, directory: Path) -> Path:
    """bench-results/bench-<time>.md, and latest.md beside it."""
    directory.mkdir(parents=True, exist_ok=True)
    text = report.markdown()
    path = directory / f"bench-{report.started:%Y%m%d-%H%M%S}.md"
    path.write_text(text)
    (directory / "latest.md").write_text(text)
    return path


_MARKED = re.compile(re.escape(README_START) + r".*?" + re.escape(README_END), re.DOTALL)


def has_markers(readme: Path) -> bool:
    return readme.exists() and bool(_MARKED.search(readme.read_text()))


def update_readme(readme: Path, text: str) -> None:
    """Replace what stands between the README's bench markers."""
    readme.write_text(_MARKED.sub(lambda _: f"{README_START}\n{text}{README_END}", readme.read_text()))
