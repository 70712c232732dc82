"""Lifeline: contact-center business continuity, through ctypes.

The names follow the C ABI: ``lifeline_clock_now(c, &t)`` in C is
``clock.now()`` here, and ``LIFELINE_E_NOT_FOUND`` is ``NotFoundError``.
"""

from ._native import lib as _lib
from .errors import *  # noqa: F401,F403
from .clock import Clock  # noqa: F401
from .time import (  # noqa: F401
    GapPolicy, OverlapPolicy, LocalKind, parse_rfc3339, format_rfc3339,
    local_to_utc, utc_to_local, BusinessHours)

from .retry import (  # noqa: F401
    Backoff, GiveUp, Jitter, RetryBudget, RetryPolicy, TransportError, is_retryable,
    parse_retry_after)
from .rate_limiter import KeyedRateLimiter, RateLimiter  # noqa: F401

from .dedup import DedupCache  # noqa: F401

from .cascade import AttemptStatus, Cascade, SendResult  # noqa: F401
from .cascade_runtime import CascadeRuntime, OriginateAnswer, VoiceCall, VoiceResult  # noqa: F401
from .engine import (  # noqa: F401
    Action, ActionKind, Call, CallEntry, CallEvent, CallOutcome, Engine, HangupTone, Prompt,
    RoutingMode)
from .audit import AuditLog  # noqa: F401
from . import audit  # noqa: F401
# @@SECTION:imports-more@@


def version():
    """The version string of the loaded C library."""
    return _lib.lifeline_version().decode()


def status_str(status):
    """The static English name of a status code."""
    return _lib.lifeline_status_str(int(status)).decode()


__version__ = "0.1.0"
