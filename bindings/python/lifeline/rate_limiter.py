"""Exact rate limiting (lifeline_rate_limiter_*, lifeline_keyed_rate_limiter_*).

Never more than ``requests`` grants in any window of ``period_ms``, across
bursts and window edges (docs/rate-limiting.md). A refusal is an answer, not
an exception: ``try_acquire`` returns ``(allowed, retry_in_ms)``.

Example::

    with RateLimiter(500, 60_000) as limiter:       # the callback API's limit
        allowed, retry_in = limiter.try_acquire(clock.now())
        if not allowed:
            schedule(clock.now() + retry_in)
        # the provider answered 429 with Retry-After: 30
        limiter.pause_until(clock.now() + 30_000)
"""

import ctypes

from . import _native
from ._native import lib


class RateLimiter(_native.Handle):
    """One exact limit (lifeline_rate_limiter_t). Thread-safe."""

    _free = staticmethod(lib.lifeline_rate_limiter_free)

    def __init__(self, requests, period_ms):
        super().__init__(None)  # closed until the C call succeeds
        out = ctypes.c_void_p()
        lib.lifeline_rate_limiter_new(requests, period_ms, ctypes.byref(out))
        self._as_parameter_ = out.value
        self.requests = requests
        self.period_ms = period_ms

    def try_acquire(self, now_ms):
        """``(True, 0)`` when granted at ``now_ms``; otherwise ``(False, ms)``
        with the exact wait until a request would be granted."""
        self._check_open()
        allowed = ctypes.c_int()
        retry_in = ctypes.c_int64()
        lib.lifeline_rate_limiter_try_acquire(self, now_ms, ctypes.byref(allowed),
                                              ctypes.byref(retry_in))
        return bool(allowed.value), retry_in.value

    def pause_until(self, until_ms):
        """Grants nothing before ``until_ms`` (a 429 with Retry-After)."""
        self._check_open()
        lib.lifeline_rate_limiter_pause_until(self, until_ms)


class KeyedRateLimiter(_native.Handle):
    """One exact limit per key, for at most ``max_keys`` keys
    (lifeline_keyed_rate_limiter_t). A new key in a table full of live
    limiters raises FullError. Thread-safe."""

    _free = staticmethod(lib.lifeline_keyed_rate_limiter_free)

    def __init__(self, requests, period_ms, max_keys=1024):
        super().__init__(None)  # closed until the C call succeeds
        out = ctypes.c_void_p()
        lib.lifeline_keyed_rate_limiter_new(requests, period_ms, max_keys, ctypes.byref(out))
        self._as_parameter_ = out.value
        self.requests = requests
        self.period_ms = period_ms
        self.max_keys = max_keys

    def try_acquire(self, key, now_ms):
        """As :meth:`RateLimiter.try_acquire`, for ``key`` (a non-empty str)."""
        self._check_open()
        allowed = ctypes.c_int()
        retry_in = ctypes.c_int64()
        lib.lifeline_keyed_rate_limiter_try_acquire(self, _native.text(key), now_ms,
                                                    ctypes.byref(allowed), ctypes.byref(retry_in))
        return bool(allowed.value), retry_in.value

    def pause_until(self, key, until_ms):
        self._check_open()
        lib.lifeline_keyed_rate_limiter_pause_until(self, _native.text(key), until_ms)

    def __len__(self):
        self._check_open()
        out = ctypes.c_size_t()
        lib.lifeline_keyed_rate_limiter_size(self, ctypes.byref(out))
        return out.value
