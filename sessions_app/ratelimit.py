"""Counting requests to the pages open without signing in (the check-in
pages), in Django's cache: a fixed window per key, one atomic increment a
request. With CLINIC_CACHE_URL (Redis) every process of a server counts
together; without, each counts its own (check --deploy warns)."""

from __future__ import annotations

import logging
import time

from django.core.cache import cache

log = logging.getLogger(__name__)


def allow(key: str, *, limit: int, window_seconds: int, now: float | None = None) -> bool:
    """Count one more request for `key` in the current window of
    `window_seconds`; False once there have been more than `limit`. A cache
    that cannot be reached lets the request through (and logs it): a client
    answering how they are must not get an error because Redis is down."""
    window = int((time.time() if now is None else now) // window_seconds)
    name = f"ratelimit:{key}:{window}"
    try:
        cache.add(name, 0, timeout=window_seconds + 5)
        count = cache.incr(name)
    except ValueError:  # expired between add and incr
        cache.set(name, 1, timeout=window_seconds + 5)
        count = 1
    except Exception:
        log.exception("Rate limit not counted: the cache cannot be reached")
        return True
    return count <= limit
