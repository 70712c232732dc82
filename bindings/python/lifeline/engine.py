"""The emergency IVR failover engine (lifeline_engine_*, lifeline_call_*,
lifeline_callback_*, lifeline_failover_*, lifeline_metrics_*).

Example::

    import lifeline
    config = {"platform": "webhook", "webhook": {"url": "https://mw.example/callbacks"},
              "outbox": {"path": "/var/lib/pbx/lifeline-outbox.sqlite"}}
    with lifeline.Engine(config) as engine:
        engine.failover_set(lifeline.RoutingMode.FAILOVER, "monitoring: API down")
        entry, call, action = engine.begin_call("c-1", ani="+12125550100",
                                                original_queue_id="q-support")
        if entry == lifeline.CallEntry.FAILOVER:
            with call:
                action = call.event(lifeline.CallEvent.PROMPT_FINISHED)
                ...
        print(engine.metrics()["callbacks_delivered"])
"""

import ctypes
import enum
import json

from . import _native, errors
from ._native import lib


class RoutingMode(enum.IntEnum):
    NORMAL = 0
    FAILOVER = 1


class CallEntry(enum.IntEnum):
    NORMAL = 0
    FAILOVER = 1
    REJECT_BUSY = 2


class CallEvent(enum.IntEnum):
    ANSWERED = 0
    PROMPT_FINISHED = 1
    DIGITS = 2
    TIMEOUT = 3
    HANGUP = 4


class ActionKind(enum.IntEnum):
    NONE = 0
    PLAY = 1
    COLLECT_DIGITS = 2
    HANGUP = 3


class Prompt(enum.IntEnum):
    EMERGENCY_MESSAGE = 0
    CALLBACK_OFFER = 1
    NUMBER_ENTRY = 2
    CONFIRMATION = 3
    FALLBACK = 4
    GOODBYE = 5


class HangupTone(enum.IntEnum):
    POLITE = 0
    BUSY = 1


class CallOutcome(enum.IntEnum):
    CALLBACK_RECORDED = 0
    DECLINED = 1
    TIMEOUT = 2
    HANGUP = 3
    REJECTED_BUSY = 4
    FALLBACK = 5


class _CAction(ctypes.Structure):
    _fields_ = [
        ("kind", ctypes.c_int),
        ("prompt", ctypes.c_int),
        ("media_id", ctypes.c_char * 128),
        ("timeout_ms", ctypes.c_int64),
        ("max_digits", ctypes.c_int32),
        ("inter_digit_timeout_ms", ctypes.c_int64),
        ("terminator", ctypes.c_char),
        ("tone", ctypes.c_int),
    ]


class Action:
    """What the telephony side must do next (lifeline_action)."""

    __slots__ = ("kind", "prompt", "media_id", "timeout_ms", "max_digits",
                 "inter_digit_timeout_ms", "terminator", "tone")

    def __init__(self, c_action):
        self.kind = ActionKind(c_action.kind)
        self.prompt = Prompt(c_action.prompt)
        self.media_id = c_action.media_id.decode("utf-8")
        self.timeout_ms = c_action.timeout_ms
        self.max_digits = c_action.max_digits
        self.inter_digit_timeout_ms = c_action.inter_digit_timeout_ms
        self.terminator = c_action.terminator.decode("ascii") if c_action.terminator != b"\0" else ""
        self.tone = HangupTone(c_action.tone)

    def __repr__(self):
        return "Action(%s, prompt=%s, media_id=%r)" % (self.kind.name, self.prompt.name, self.media_id)


_EVENT_CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_void_p)


def _config_text(config):
    if config is None:
        return "{}"
    if isinstance(config, (dict, list)):
        return json.dumps(config)
    return config


class Engine(_native.Handle):
    """An IVR failover engine (lifeline_engine_t). ``config`` is a dict or a
    JSON string (docs/config.md). ``clock`` is an optional lifeline.Clock."""

    _free = staticmethod(lib.lifeline_engine_close)

    def __init__(self, config=None, clock=None):
        super().__init__(None)  # closed until the C call succeeds
        out = ctypes.c_void_p()
        text = _native.text(_config_text(config))
        if clock is None:
            lib.lifeline_engine_open(text, ctypes.byref(out))
        else:
            lib.lifeline_engine_open_with_clock(text, clock, ctypes.byref(out))
        self._as_parameter_ = out.value
        self._clock = clock  # the engine holds its own reference; keep ours for symmetry
        self._event_callback = None

    # --- waiting ---------------------------------------------------------------
    def drain(self, timeout_ms=30000):
        """Waits until the outbox is empty (LifelineTimeoutError otherwise)."""
        self._check_open()
        lib.lifeline_engine_drain(self, timeout_ms)

    def settle(self, timeout_ms=30000):
        """Waits until everything due at the clock's current time is done."""
        self._check_open()
        lib.lifeline_engine_settle(self, timeout_ms)

    def set_event_callback(self, function):
        """``function(event: dict)`` for mode transitions; None clears it. It
        runs on the engine's threads and must not call back into the engine."""
        self._check_open()
        if function is None:
            lib.lifeline_engine_set_event_callback(self, _EVENT_CALLBACK(), None)
            self._event_callback = None
            return

        def trampoline(event_json, _user_data):
            try:
                function(json.loads(event_json.decode("utf-8")))
            except Exception:  # never let an exception unwind into C
                pass

        callback = _EVENT_CALLBACK(trampoline)
        lib.lifeline_engine_set_event_callback(self, callback, None)
        self._event_callback = callback  # kept alive as long as C holds it

    def set_audit(self, audit_log):
        """Records transitions, captures and delivery outcomes in an open
        lifeline.AuditLog (None detaches). The log must stay open while it
        is attached; the engine keeps a reference to it."""
        self._check_open()
        lib.lifeline_engine_set_audit(self, audit_log)
        self._audit = audit_log

    # --- failover switch -----------------------------------------------------
    def failover_set(self, mode, reason, expires_at_ms=0):
        self._check_open()
        lib.lifeline_failover_set(self, int(mode), _native.text(reason), expires_at_ms)

    def failover_observe(self, mode):
        self._check_open()
        lib.lifeline_failover_observe(self, int(mode))

    def failover_observe_failure(self):
        self._check_open()
        lib.lifeline_failover_observe_failure(self)

    @property
    def failover_mode(self):
        self._check_open()
        out = ctypes.c_int()
        lib.lifeline_failover_mode(self, ctypes.byref(out))
        return RoutingMode(out.value)

    # --- calls -----------------------------------------------------------------
    def begin_call(self, call_id, ani="", original_queue_id="", flow_name="", context=None):
        """The call-entry decision: ``(CallEntry, Call or None, Action)``."""
        self._check_open()
        call_json = json.dumps({"callId": call_id, "ani": ani, "originalQueueId": original_queue_id,
                                "flowName": flow_name, "contextData": context or {}})
        entry = ctypes.c_int()
        out = ctypes.c_void_p()
        action = _CAction()
        lib.lifeline_call_begin(self, _native.text(call_json), ctypes.byref(entry),
                                ctypes.byref(out), ctypes.byref(action))
        call = Call(out.value, self) if out.value else None
        return CallEntry(entry.value), call, Action(action)

    # --- callbacks -------------------------------------------------------------
    def submit_callback(self, request):
        """Commits a callback request (a dict with the seed's names) and
        returns its request id. A duplicate raises DuplicateError whose
        ``request_id`` is the earlier request's id."""
        self._check_open()
        buffer = ctypes.create_string_buffer(33)
        try:
            lib.lifeline_callback_submit(self, _native.text(_config_text(request)), buffer, 33)
        except errors.DuplicateError as exc:
            exc.request_id = buffer.value.decode("ascii")
            raise
        return buffer.value.decode("ascii")

    def dead_letters(self):
        self._check_open()
        return json.loads(self._read(lib.lifeline_callback_dead_letters))

    def redrive(self, request_id=None):
        self._check_open()
        lib.lifeline_callback_redrive(self, _native.text(request_id))

    def callback_status(self, request_id):
        self._check_open()
        text = _native.read_string(
            lambda buf, cap: lib.lifeline_callback_status(self, _native.text(request_id), buf, cap, None))
        return json.loads(text)

    # --- metrics ---------------------------------------------------------------
    def metrics(self):
        self._check_open()
        return json.loads(self._read(lib.lifeline_metrics_json))

    def metrics_prometheus(self):
        self._check_open()
        return self._read(lib.lifeline_metrics_prometheus)

    def _read(self, function):
        return _native.read_string(lambda buf, cap: function(self, buf, cap, None), initial=4096)


class Call(_native.Handle):
    """One caller in the emergency flow (lifeline_call_t). ``close()`` (or the
    context manager) ends the call on every path and frees its channel."""

    _free = staticmethod(lib.lifeline_call_end)

    def __init__(self, pointer, engine):
        super().__init__(pointer)
        self._engine = engine  # the engine must outlive its calls

    def event(self, kind, digits=None):
        """Reports a telephony event; returns the next Action."""
        self._check_open()
        action = _CAction()
        lib.lifeline_call_event(self, int(kind), _native.text(digits), ctypes.byref(action))
        return Action(action)

    def next_deadline(self):
        """When on_timer() has something to do (ms since the epoch on the
        engine's clock), or None: the flow's backstop for PBX timeouts that
        never arrive."""
        self._check_open()
        at = ctypes.c_int64()
        has = ctypes.c_int()
        lib.lifeline_call_next_deadline(self, ctypes.byref(at), ctypes.byref(has))
        return at.value if has.value else None

    def on_timer(self):
        """Applies the flow's deadline at the engine's time; returns the next
        Action (Action kind NONE when nothing was due)."""
        self._check_open()
        action = _CAction()
        lib.lifeline_call_on_timer(self, ctypes.byref(action))
        return Action(action)

    @property
    def outcome(self):
        """The CallOutcome, or None while the call runs."""
        self._check_open()
        out = ctypes.c_int()
        lib.lifeline_call_outcome(self, ctypes.byref(out))
        return None if out.value < 0 else CallOutcome(out.value)

    @property
    def request_id(self):
        """The recorded callback's request id, or None."""
        self._check_open()
        buffer = ctypes.create_string_buffer(33)
        try:
            lib.lifeline_call_request_id(self, buffer, 33)
        except errors.NotFoundError:
            return None
        return buffer.value.decode("ascii")

    def end(self):
        self.close()
