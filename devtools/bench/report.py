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
P95_RATIO_MAX = 1.5
GENERATION_MAX_S = 2.0

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
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float] | None
    warmup: int
    runs: int
    sizes: list[SizeResult]

    def page_misses(self) -> list[str]:
        """What the largest data set misses of the page targets, page by page."""
        misses = []
        for row in self._page_rows():
            if row[-1] != "met":
                misses.append(f"{row[0]} ({row[1]}): {row[-1]}")
        return misses

    def _page_rows(self) -> list[list[str]]:
        small, large = self.sizes[0], self.sizes[-1]
        rows = []
        for i, timing in enumerate(large.pages):
            name = timing.page.name
            if timing.page.p95_target_ms != PAGE_P95_MS:
                name += f" (p95 < {timing.page.p95_target_ms:g} ms{'' if timing.page.flat else ', no ratio target'})"
            cells = [name, timing.page.role]
            for size in self.sizes:
                t = size.pages[i]
                cells += [f"{t.p50_ms:.1f} / {t.p95_ms:.1f}", str(t.queries)]
            first = small.pages[i]
            ratio = timing.p95_ms / first.p95_ms if first.p95_ms else 0
            misses = []
            target = timing.page.p95_target_ms
            if timing.p95_ms >= target:
                misses.append(f"p95 ≥ {target:g} ms")
            if len(self.sizes) > 1:
                cells.append(f"{ratio:.2f}")
                if ratio > P95_RATIO_MAX and timing.page.flat:
                    misses.append(f"ratio > {P95_RATIO_MAX}")
                if len({size.pages[i].queries for size in self.sizes}) > 1:
                    misses.append("queries grow")
            cells.append(", ".join(misses) or "met")
            rows.append(cells)
        return rows

    def markdown(self) -> str:
        load = load_text(self.load_before) + (f" before, {load_text(self.load_after)} after" if self.load_after else "")
        lines = [
            f"Measured {self.started:%Y-%m-%d %H:%M %Z} on {self.cpus} CPUs (load average {load}), "
            f"{self.server.split(' on ')[0]}, each data set seeded then VACUUM ANALYZE. Pages through "
            f"Django's test client with DEBUG off, signed in "
            f"as the role that uses them: p50 / p95 in ms of {self.runs} requests each after "
            f"{self.warmup} warm-up requests; queries per request.",
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
        head.append(f"targets (p95 < {PAGE_P95_MS} ms unless said, ratio ≤ {P95_RATIO_MAX}, same queries)")
        lines += ["", *_table(head, self._page_rows()), ""]
        job_head = ["job", *(f"{size.clients:,} clients" for size in self.sizes), "target"]
        job_rows = []
        for i, job in enumerate(self.sizes[-1].jobs):
            cells = [job.name.replace(f"--clients {self.sizes[-1].clients}", "--clients N")]
            cells += [f"{size.jobs[i].seconds:.2f} s ({size.jobs[i].detail})" for size in self.sizes]
            target = ""
            if job.name.startswith(("reminder generation", "check-in generation")):
                target = f"< {GENERATION_MAX_S:g} s: " + ("met" if job.seconds < GENERATION_MAX_S else "missed")
            job_rows.append([*cells, target])
        lines += _table(job_head, job_rows)
        return "\n".join(lines) + "\n"


def load_text(values: tuple[float, float, float] | None) -> str:
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
