"""Notification cascades (lifeline_cascade_*): notify a stakeholder group
channel after channel until they acknowledge.

The engine does no I/O and reads no clock: every call takes ``now_ms``; the
messages to send come out of :meth:`Cascade.take_outbound` and the host
reports send results and receipts back. See docs/cascade.md.

Example::

    with Cascade(directory_json, now_ms=t0) as engine:
        engine.trigger({"incidentId": "INC-1", "severity": "P1", ...}, now_ms=t0)
        for message in engine.take_outbound(t0):
            engine.on_send_result(message["messageId"], SendResult.ACCEPTED, t0,
                                  provider_ref="SM123")
"""

import ctypes
import enum
import json

from . import _native
from ._native import lib


class SendResult(enum.IntEnum):
    """lifeline_send_result."""

    ACCEPTED = 0
    DELIVERED = 1
    FAILED = 2
    UNREACHABLE = 3
    THROTTLED = 4


class AttemptStatus(enum.IntEnum):
    """lifeline_attempt_status."""

    QUEUED = 0
    PENDING = 1
    DELIVERED = 2
    ACKNOWLEDGED = 3
    FAILED = 4
    TIMEOUT = 5
    UNREACHABLE = 6
    CANCELLED = 7


def _json_text(value):
    if value is None or isinstance(value, (str, bytes)):
        return _native.text(value)
    return _native.text(json.dumps(value))


class Cascade(_native.Handle):
    """A cascade engine over a stakeholder directory.

    ``directory`` and ``config`` are JSON strings or JSON-serialisable dicts;
    ``config=None`` takes the documented defaults."""

    _free = staticmethod(lib.lifeline_cascade_free)

    def __init__(self, directory, config=None, now_ms=0):
        out = ctypes.c_void_p()
        lib.lifeline_cascade_new(_json_text(directory), _json_text(config), now_ms,
                                 ctypes.byref(out))
        super().__init__(out.value)

    def trigger(self, trigger, now_ms):
        """Starts a cascade; returns True when an existing one was returned
        instead (same incidentId while open or within the window)."""
        self._check_open()
        duplicate = ctypes.c_int()
        lib.lifeline_cascade_trigger(self, _json_text(trigger), now_ms, ctypes.byref(duplicate))
        return bool(duplicate.value)

    def take_outbound(self, now_ms):
        """The messages to send now: a list of dicts (messageId, incidentId,
        memberId, channel, endpoint, address, text, severity, escalation)."""
        self._check_open()
        return json.loads(_native.read_string(
            lambda buf, cap: lib.lifeline_cascade_take_outbound(self, now_ms, buf, cap, None),
            initial=4096))

    def on_send_result(self, message_id, result, now_ms, provider_ref=None, retry_after_ms=0):
        self._check_open()
        lib.lifeline_cascade_on_send_result(self, message_id, int(result),
                                            _native.text(provider_ref), retry_after_ms, now_ms)

    def on_receipt(self, message_id, status, now_ms):
        self._check_open()
        lib.lifeline_cascade_on_receipt(self, message_id, int(status), now_ms)

    def on_provider_receipt(self, provider_ref, status, now_ms):
        self._check_open()
        lib.lifeline_cascade_on_provider_receipt(self, _native.text(provider_ref), int(status),
                                                 now_ms)

    def acknowledge(self, incident_id, member_id, now_ms):
        self._check_open()
        lib.lifeline_cascade_acknowledge(self, _native.text(incident_id),
                                         _native.text(member_id), now_ms)

    def close_incident(self, incident_id, now_ms):
        self._check_open()
        lib.lifeline_cascade_close(self, _native.text(incident_id), now_ms)

    def on_timer(self, now_ms):
        self._check_open()
        lib.lifeline_cascade_on_timer(self, now_ms)

    def next_deadline(self):
        """UTC ms of the next instant with work, or None when idle."""
        self._check_open()
        at = ctypes.c_int64()
        has = ctypes.c_int()
        lib.lifeline_cascade_next_deadline(self, ctypes.byref(at), ctypes.byref(has))
        return at.value if has.value else None

    def state(self, incident_id):
        """The incident's cascade state as a dict."""
        self._check_open()
        return json.loads(_native.read_string(
            lambda buf, cap: lib.lifeline_cascade_state_json(
                self, _native.text(incident_id), buf, cap, None), initial=4096))

    def take_events(self):
        """The events since the last call, as a list of dicts."""
        self._check_open()
        return json.loads(_native.read_string(
            lambda buf, cap: lib.lifeline_cascade_take_events(self, buf, cap, None),
            initial=16384))
