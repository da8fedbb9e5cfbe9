"""Page arithmetic for the lists that show a slice of something long (a busy
clinic's schedule, today's sessions on the dashboard): plain values in and
out, so a page costs the same whatever the size of the whole."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from sessions_app.views.params import parse_int


@dataclass(frozen=True)
class Slice:
    """Rows [start, stop) of `total`, page `number` of `pages`."""

    number: int
    pages: int
    start: int
    stop: int
    total: int

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def previous_number(self) -> int:
        return self.number - 1

    @property
    def next_number(self) -> int:
        return self.number + 1

    @property
    def first_shown(self) -> int:
        """1-based, for "sessions 41–80 of 730"."""
        return min(self.start + 1, self.total)


def page_slice(raw: str | None, *, total: int, size: int) -> Slice:
    """The page asked for by `raw` (the ?page= value): a number out of range
    or not a number at all gives the nearest page, never an error."""
    pages = max(1, math.ceil(total / size))
    number = parse_int(raw) or 1
    number = min(max(number, 1), pages)
    start = (number - 1) * size
    return Slice(number, pages, start, min(start + size, total), total)


def window_from(*, total: int, before: int, size: int) -> Slice:
    """`size` rows starting at row `before` (the first one not over yet), moved
    back so the window stays full near the end: late in the day the list still
    shows the day's last `size` rows."""
    start = max(0, min(before, total - size))
    return Slice(1, 1, start, min(start + size, total), total)


def group_pages(counts: Sequence[int], *, size: int) -> list[range]:
    """The pages each group of consecutive rows falls on, for groups of
    `counts` rows one after the other (a day of a week): range(1, 3) for a
    group on pages 1 and 2, an empty range for an empty group."""
    pages, before = [], 0
    for count in counts:
        pages.append(range(before // size + 1, (before + count - 1) // size + 2) if count else range(0))
        before += count
    return pages
