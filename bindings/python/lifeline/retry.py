"""Retry and backoff (lifeline_backoff_*, lifeline_retry_*).

Four pieces decide when a failed request is tried again (docs/retry.md):

* :class:`RetryPolicy` and :class:`Backoff`: the delay before each retry of
  one request or channel, with jitter from a seeded random source;
* :func:`parse_retry_after`: the server's Retry-After header as a delay;
* :func:`is_retryable`: which outcomes deserve a retry;
* :class:`RetryBudget`: gRPC-style retry throttling shared by all requests to
  one provider, so a surge of failures cannot multiply the load.

Example::

    policy = RetryPolicy(jitter=Jitter.FULL)     # 15 s, x2, 120 s, 4 attempts
    with Backoff(policy, seed=1234) as backoff:
        delay = backoff.next_delay(retry_after_ms=parse_retry_after("30", now))
        if delay is None:
            print("give up:", backoff.give_up_reason.name)
"""

import ctypes
import dataclasses
import enum

from . import _native
from ._native import lib


class Jitter(enum.IntEnum):
    """How delays are randomised (lifeline_jitter)."""

    NONE = 0
    FULL = 1
    EQUAL = 2
    DECORRELATED = 3


class GiveUp(enum.IntEnum):
    """Why :meth:`Backoff.next_delay` gave up (lifeline_give_up)."""

    NONE = 0
    ATTEMPTS_EXHAUSTED = 1
    RETRY_AFTER_TOO_LONG = 2


class TransportError(enum.IntEnum):
    """Why an HTTP exchange produced no response (lifeline_transport_error)."""

    NONE = 0
    TIMEOUT = 1
    CONNECTION = 2
    TLS = 3
    OTHER = 4


class _CRetryPolicy(ctypes.Structure):
    """lifeline_retry_policy, field for field."""

    _fields_ = [
        ("version", ctypes.c_uint32),
        ("initial_ms", ctypes.c_int64),
        ("multiplier", ctypes.c_double),
        ("max_ms", ctypes.c_int64),
        ("max_attempts", ctypes.c_int32),
        ("jitter", ctypes.c_int32),
        ("retry_after_cap_ms", ctypes.c_int64),
    ]


def _c_defaults():
    policy = _CRetryPolicy()
    lib.lifeline_retry_policy_init(ctypes.byref(policy))
    return policy


_DEFAULTS = _c_defaults()


@dataclasses.dataclass
class RetryPolicy:
    """How a failing operation is retried. The defaults come from the C
    library (lifeline_retry_policy_init): the seed's 15 s initial delay,
    doubling, at most 120 s, 4 attempts in all (3 retries), no jitter, and
    Retry-After honoured up to 300 s. Validation happens in C when a
    :class:`Backoff` is made, with a message naming the field."""

    initial_ms: int = _DEFAULTS.initial_ms
    multiplier: float = _DEFAULTS.multiplier
    max_ms: int = _DEFAULTS.max_ms
    max_attempts: int = _DEFAULTS.max_attempts
    jitter: Jitter = Jitter(_DEFAULTS.jitter)
    retry_after_cap_ms: int = _DEFAULTS.retry_after_cap_ms

    def _to_c(self):
        return _CRetryPolicy(
            _DEFAULTS.version, int(self.initial_ms), float(self.multiplier), int(self.max_ms),
            int(self.max_attempts), int(self.jitter), int(self.retry_after_cap_ms))


class Backoff(_native.Handle):
    """The retry state of one request or channel (lifeline_backoff_t).

    Equal seeds and equal calls give equal delays on every platform. Not
    synchronised: use one per request, or guard it."""

    _free = staticmethod(lib.lifeline_backoff_free)

    def __init__(self, policy=None, seed=0):
        policy = policy if policy is not None else RetryPolicy()
        c_policy = policy._to_c()
        super().__init__(None)  # closed until the C call succeeds
        out = ctypes.c_void_p()
        lib.lifeline_backoff_new(ctypes.byref(c_policy), seed, ctypes.byref(out))
        self._as_parameter_ = out.value
        self.policy = policy
        self.give_up_reason = GiveUp.NONE

    def next_delay(self, retry_after_ms=None):
        """After a retryable failure: the delay in ms before the next attempt,
        never shorter than ``retry_after_ms``; or None to give up, with the
        reason in :attr:`give_up_reason`."""
        self._check_open()
        delay = ctypes.c_int64()
        give_up = ctypes.c_int()
        asked = -1 if retry_after_ms is None else max(0, int(retry_after_ms))
        lib.lifeline_backoff_next(self, asked, ctypes.byref(delay), ctypes.byref(give_up))
        self.give_up_reason = GiveUp(give_up.value)
        return None if give_up.value else delay.value

    @property
    def attempts_made(self):
        """Attempts so far, the first included (1 after creation or reset)."""
        self._check_open()
        out = ctypes.c_int32()
        lib.lifeline_backoff_attempts_made(self, ctypes.byref(out))
        return out.value

    def reset(self):
        """Starts over after a success. The random stream is not rewound."""
        self._check_open()
        lib.lifeline_backoff_reset(self)
        self.give_up_reason = GiveUp.NONE


def parse_retry_after(value, now_ms):
    """The delay in ms that a Retry-After value asks for, counted from
    ``now_ms``: delay-seconds or an HTTP-date (IMF-fixdate, RFC 850 or
    asctime). A past date gives 0. Raises InvalidArgumentError otherwise."""
    out = ctypes.c_int64()
    lib.lifeline_retry_after_parse(_native.text(value), now_ms, ctypes.byref(out))
    return out.value


def is_retryable(http_status=0, transport_error=TransportError.NONE):
    """True for 408, 425, 429 and 5xx responses, and for timeouts and
    connection failures; False otherwise (other 4xx, success, TLS, other
    transport errors). ``http_status`` must be 100-599 when no transport
    error is given."""
    out = ctypes.c_int()
    lib.lifeline_retry_is_retryable(int(http_status), int(transport_error), ctypes.byref(out))
    return bool(out.value)


class RetryBudget(_native.Handle):
    """gRPC retry throttling, shared by every request to one provider
    (lifeline_retry_budget_t). Thread-safe."""

    _free = staticmethod(lib.lifeline_retry_budget_free)

    def __init__(self, max_tokens=10.0, token_ratio=0.1):
        super().__init__(None)  # closed until the C call succeeds
        out = ctypes.c_void_p()
        lib.lifeline_retry_budget_new(float(max_tokens), float(token_ratio), ctypes.byref(out))
        self._as_parameter_ = out.value

    def record_success(self):
        self._check_open()
        lib.lifeline_retry_budget_record_success(self)

    def record_failure(self):
        """Only for failures that :func:`is_retryable` calls retryable."""
        self._check_open()
        lib.lifeline_retry_budget_record_failure(self)

    def allow_retry(self):
        """True while the token count is above max_tokens / 2."""
        self._check_open()
        out = ctypes.c_int()
        lib.lifeline_retry_budget_allow_retry(self, ctypes.byref(out))
        return bool(out.value)

    @property
    def tokens(self):
        self._check_open()
        out = ctypes.c_double()
        lib.lifeline_retry_budget_tokens(self, ctypes.byref(out))
        return out.value
