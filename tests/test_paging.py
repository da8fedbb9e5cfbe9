"""Page arithmetic for the long lists (views/paging.py): plain values, no database."""

import pytest

from sessions_app.views.paging import group_pages, page_slice, window_from


@pytest.mark.parametrize(
    ("raw", "number", "start", "stop"),
    [
        (None, 1, 0, 10),
        ("2", 2, 10, 20),
        ("3", 3, 20, 25),  # the last page holds what is left
        ("99", 3, 20, 25),  # past the end: the last page
        ("0", 1, 0, 10),
        ("-1", 1, 0, 10),  # not digits: the first page
        ("abc", 1, 0, 10),
        ("²", 1, 0, 10),  # str.isdigit() says yes, int() says no
        ("٣", 1, 0, 10),  # an Arabic-Indic three: not a page number in an address
        ("9" * 5000, 1, 0, 10),  # more digits than int() converts
        ("99999999999999999999", 1, 0, 10),  # beyond a bigint
    ],
)
def test_a_page_asked_for_is_the_nearest_that_exists(raw, number, start, stop):
    page = page_slice(raw, total=25, size=10)
    assert (page.number, page.pages, page.start, page.stop) == (number, 3, start, stop)
    assert page.has_previous == (number > 1)
    assert page.has_next == (number < 3)
    assert page.first_shown == start + 1


def test_nothing_to_show_is_one_empty_page():
    page = page_slice("4", total=0, size=10)
    assert (page.number, page.pages, page.start, page.stop, page.first_shown) == (1, 1, 0, 0, 0)
    assert not page.has_previous and not page.has_next


@pytest.mark.parametrize(
    ("before", "start", "stop"),
    [
        (0, 0, 3),  # the morning: the day's first ones
        (2, 2, 5),  # from the first not over yet
        (6, 4, 7),  # late: the window stays full with the day's last ones
        (7, 4, 7),  # all over
    ],
)
def test_the_window_starts_at_the_first_row_not_over_and_stays_full(before, start, stop):
    window = window_from(total=7, before=before, size=3)
    assert (window.start, window.stop, window.total) == (start, stop, 7)


def test_a_short_list_is_shown_whole_whatever_the_time():
    assert (window_from(total=2, before=2, size=3).start, window_from(total=2, before=2, size=3).stop) == (0, 2)


def test_each_group_knows_the_pages_it_falls_on():
    # Monday 4, Tuesday none, Wednesday 2, Thursday 5, three a page.
    assert group_pages([4, 0, 2, 5], size=3) == [range(1, 3), range(0), range(2, 3), range(3, 5)]
    assert group_pages([3, 3], size=3) == [range(1, 2), range(2, 3)]
