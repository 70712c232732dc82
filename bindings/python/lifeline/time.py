"""Time normalisation: RFC 3339, local wall time <-> UTC, business hours.

Times are ``int`` milliseconds since the Unix epoch, UTC, as in the C ABI::

    >>> import lifeline
    >>> lifeline.parse_rfc3339("2026-03-08T02:30:00-05:00")
    1772955000000
    >>> lifeline.format_rfc3339(1772955000000)
    '2026-03-08T07:30:00.000Z'
    >>> lifeline.local_to_utc("2026-03-08T02:30", "America/New_York",
    ...                       gap=lifeline.GapPolicy.SHIFT_FORWARD)
    (1772955000000, <LocalKind.SHIFTED: 1>)

Errors raise the exceptions of ``lifeline.errors``: ``InvalidArgumentError``
(a ``ValueError``) for bad text, ``NotFoundError`` (a ``LookupError``) for an
unknown zone, ``NonexistentTimeError`` / ``AmbiguousTimeError`` when a reject
policy meets a DST gap or overlap. See docs/time.md.
"""

import ctypes
import enum
import json

from . import _native
from ._native import lib

RFC3339_BUFFER_SIZE = 25
LOCAL_TIME_BUFFER_SIZE = 20
TZ_ABBREV_BUFFER_SIZE = 16


class GapPolicy(enum.IntEnum):
    """A local time the clocks skip (spring forward); LIFELINE_GAP_*."""

    REJECT = 0
    SHIFT_FORWARD = 1  # the offset before the transition: 02:30 -> 03:30 EDT
    NEXT_VALID = 2  # the transition instant: 03:00 EDT


class OverlapPolicy(enum.IntEnum):
    """A local time the clocks show twice (fall back); LIFELINE_OVERLAP_*."""

    REJECT = 0
    EARLIEST = 1
    LATEST = 2


class LocalKind(enum.IntEnum):
    """Which case local_to_utc met; LIFELINE_LOCAL_*."""

    UNIQUE = 0
    SHIFTED = 1  # a gap was resolved
    AMBIGUOUS = 2  # an overlap was resolved


def parse_rfc3339(text):
    """Parses a strict RFC 3339 timestamp into UTC milliseconds.

    The offset is mandatory; fractions are truncated to the millisecond. A
    refusal raises InvalidArgumentError naming the 0-based position."""
    out = ctypes.c_int64()
    lib.lifeline_rfc3339_parse(_native.text(text), ctypes.byref(out))
    return out.value


def format_rfc3339(unix_ms):
    """``YYYY-MM-DDTHH:MM:SS.sssZ`` for UTC milliseconds (years 0001-9999)."""
    buffer = ctypes.create_string_buffer(RFC3339_BUFFER_SIZE)
    lib.lifeline_rfc3339_format(int(unix_ms), buffer, RFC3339_BUFFER_SIZE)
    return buffer.value.decode("ascii")


def local_to_utc(local, tz, gap=GapPolicy.REJECT, overlap=OverlapPolicy.REJECT):
    """Converts ``"YYYY-MM-DDTHH:MM[:SS]"`` on the wall clock of zone ``tz``.

    Returns ``(unix_ms, LocalKind)``. ``gap`` and ``overlap`` decide DST gaps
    and overlaps; with the REJECT defaults they raise NonexistentTimeError
    and AmbiguousTimeError."""
    out = ctypes.c_int64()
    kind = ctypes.c_int()
    lib.lifeline_local_to_utc(_native.text(local), _native.text(tz), int(gap), int(overlap),
                              ctypes.byref(out), ctypes.byref(kind))
    return out.value, LocalKind(kind.value)


def utc_to_local(unix_ms, tz):
    """The wall clock of zone ``tz`` at ``unix_ms``.

    Returns ``(local, offset_seconds, abbreviation)``, e.g.
    ``("2026-03-08T03:00:00", -14400, "EDT")``; milliseconds are dropped."""
    local = ctypes.create_string_buffer(LOCAL_TIME_BUFFER_SIZE)
    abbrev = ctypes.create_string_buffer(TZ_ABBREV_BUFFER_SIZE)
    offset = ctypes.c_int32()
    lib.lifeline_utc_to_local(int(unix_ms), _native.text(tz), local, LOCAL_TIME_BUFFER_SIZE,
                              ctypes.byref(offset), abbrev, TZ_ABBREV_BUFFER_SIZE)
    return local.value.decode("ascii"), offset.value, abbrev.value.decode("utf-8")


class BusinessHours(_native.Handle):
    """A weekly schedule in a zone plus holidays (lifeline_business_hours_*).

    ``spec`` is a dict or a JSON string::

        {"timeZone": "America/New_York",
         "weekly": {"mon": [["08:00", "20:00"]], "tue": [["08:00", "20:00"]]},
         "holidays": ["2026-12-25"]}

    Open means the zone's wall clock shows a non-holiday date and a time
    inside one of that weekday's [open, close) intervals."""

    _free = staticmethod(lib.lifeline_business_hours_free)

    def __init__(self, spec):
        if not isinstance(spec, (str, bytes)):
            spec = json.dumps(spec)
        out = ctypes.c_void_p()
        lib.lifeline_business_hours_new(_native.text(spec), ctypes.byref(out))
        super().__init__(out.value)

    def is_open(self, unix_ms):
        """True when ``unix_ms`` lies inside an opening."""
        self._check_open()
        out = ctypes.c_int()
        lib.lifeline_business_hours_is_open(self, int(unix_ms), ctypes.byref(out))
        return bool(out.value)

    def next_open(self, unix_ms):
        """The next allowed callback time: the first instant at or after
        ``unix_ms`` inside an opening. NotFoundError if never open."""
        self._check_open()
        out = ctypes.c_int64()
        lib.lifeline_business_hours_next_open(self, int(unix_ms), ctypes.byref(out))
        return out.value
