"""The notification cascade runtime (lifeline_cascade_runtime_*): the cascade
engine with its store, channel adapters, inbound requests and one background
thread. See docs/cascade.md ("Runtime").

Example::

    import lifeline
    config = {"directory": {...}, "store": {"path": "/var/lib/lifeline/cascade.sqlite"},
              "channels": {"twilio": {"account_sid": "AC...", "auth_token": "...",
                                      "from": "+15550000000"}},
              "inbound": {"bearer_token": "..."}}
    with lifeline.CascadeRuntime(config) as runtime:
        state = runtime.trigger({"incidentId": "INC-1", "severity": "P1",
                                 "stakeholderGroupId": "ops", "messageTemplate": "DC down",
                                 "timestamp": "2026-05-20T14:32:00Z"})
        # in the web server's Twilio route:
        runtime.ingest_provider_callback("twilio", "POST", url, headers, body)

Voice through the host's PBX (``"channels": {"voice": {"via": "pbx"}}``)::

    from lifeline.cascade_runtime import OriginateAnswer, VoiceResult

    def originate(call):                 # a VoiceCall, on the runtime's thread
        if pbx.trunks_free() == 0:
            return (OriginateAnswer.TRUNKS_BUSY, 5000)
        pbx.dial(call.destination, call.caller_id, tag=call.message_id)  # must not block
        return OriginateAnswer.ORIGINATED

    runtime.set_voice_originator(originate)
    # later, when the PBX says how the call ended:
    runtime.voice_result(message_id, VoiceResult.ANSWERED, "1")
"""

import ctypes
import enum
import json
import weakref

from . import _native, errors
from ._native import lib


def _json_text(value):
    if value is None:
        return None
    if isinstance(value, (str, bytes)):
        return _native.text(value)
    return _native.text(json.dumps(value))


class VoiceResult(enum.IntEnum):
    """How a PBX call ended (lifeline_voice_result_kind)."""
    ANSWERED = 0     # digits: what was pressed; "1" acknowledges
    BUSY = 1
    NO_ANSWER = 2
    UNROUTABLE = 3
    FAILED = 4


class OriginateAnswer(enum.IntEnum):
    """What a voice originator answers at once. The values are the C status
    codes the lifeline_voice_originator returns."""
    ORIGINATED = errors.LIFELINE_OK                # the PBX is placing the call
    TRUNKS_BUSY = errors.RateLimitedError.status   # refused for now: retried later
    UNROUTABLE = errors.NotFoundError.status       # no route / invalid number
    FAILED = errors.UnavailableError.status        # any other refusal


class _CVoiceCall(ctypes.Structure):
    """lifeline_voice_call, version 1."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("message_id", ctypes.c_uint64),
        ("incident_id", ctypes.c_char_p),
        ("member_id", ctypes.c_char_p),
        ("destination", ctypes.c_char_p),
        ("caller_id", ctypes.c_char_p),
        ("prompt_text", ctypes.c_char_p),
        ("media_id", ctypes.c_char_p),
        ("gather_prompt_text", ctypes.c_char_p),
        ("ack_digit", ctypes.c_char),
        ("max_digits", ctypes.c_int32),
        ("digit_timeout_ms", ctypes.c_int64),
        ("ring_timeout_ms", ctypes.c_int64),
        ("severity", ctypes.c_int32),
        ("escalation", ctypes.c_int32),
    ]


_VOICE_ORIGINATOR = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(ctypes.c_int64), ctypes.c_void_p)


class VoiceCall:
    """One call the PBX is asked to place (a copy of lifeline_voice_call:
    it stays valid after the originator returns). ``destination`` is PII."""

    __slots__ = ("message_id", "incident_id", "member_id", "destination", "caller_id",
                 "prompt_text", "media_id", "gather_prompt_text", "ack_digit", "max_digits",
                 "digit_timeout_ms", "ring_timeout_ms", "severity", "escalation")

    def __init__(self, c_call):
        def text(value):
            return value.decode("utf-8") if value is not None else ""
        self.message_id = c_call.message_id
        self.incident_id = text(c_call.incident_id)
        self.member_id = text(c_call.member_id)
        self.destination = text(c_call.destination)
        self.caller_id = text(c_call.caller_id)
        self.prompt_text = text(c_call.prompt_text)
        self.media_id = text(c_call.media_id)
        self.gather_prompt_text = text(c_call.gather_prompt_text)
        self.ack_digit = c_call.ack_digit.decode("ascii")
        self.max_digits = c_call.max_digits
        self.digit_timeout_ms = c_call.digit_timeout_ms
        self.ring_timeout_ms = c_call.ring_timeout_ms
        self.severity = c_call.severity
        self.escalation = bool(c_call.escalation)

    def __repr__(self):  # no destination: it is PII
        return "VoiceCall(message_id=%d, incident_id=%r, member_id=%r, escalation=%r)" % (
            self.message_id, self.incident_id, self.member_id, self.escalation)


def _originate_status(answer, out_retry_after_ms):
    """The C status for what a Python originator returned."""
    retry_after_ms = 0
    if isinstance(answer, tuple) and len(answer) == 2:
        answer, retry_after_ms = answer
    if answer is None:
        return errors.LIFELINE_OK
    answer = OriginateAnswer(answer)  # ValueError for anything else
    if answer is OriginateAnswer.TRUNKS_BUSY:
        out_retry_after_ms[0] = max(0, int(retry_after_ms))
    return int(answer)


def _body_text(body):
    if isinstance(body, (dict, list)):
        return _native.text(json.dumps(body))
    return _native.text(body if body is not None else "")


class CascadeRuntime(_native.Handle):
    """A cascade runtime (lifeline_cascade_runtime_t). ``config`` is a dict or
    a JSON string; ``clock`` an optional lifeline.Clock (manual clocks replay a
    scenario exactly). Errors raise the exceptions of lifeline.errors, e.g.
    UnauthenticatedError for a refused signature or token."""

    _free = staticmethod(lib.lifeline_cascade_runtime_close)

    def __init__(self, config, clock=None):
        super().__init__(None)  # closed until the C call succeeds
        out = ctypes.c_void_p()
        text = _json_text(config)
        if clock is None:
            lib.lifeline_cascade_runtime_open(text, ctypes.byref(out))
        else:
            lib.lifeline_cascade_runtime_open_with_clock(text, clock, ctypes.byref(out))
        self._as_parameter_ = out.value
        self._clock = clock
        self._voice_originator = None  # the CFUNCTYPE C holds, kept alive here
        #: The last exception a voice originator raised (it became FAILED).
        self.last_originator_error = None

    def settle(self, timeout_ms=30000):
        """Waits until everything due at the clock's current time is done."""
        self._check_open()
        lib.lifeline_cascade_runtime_settle(self, timeout_ms)

    def trigger(self, trigger):
        """Starts a cascade (or returns the existing one); returns its state
        dict with a leading ``duplicate`` flag."""
        self._check_open()
        text = _json_text(trigger)
        return self._answer(lambda buf, cap: lib.lifeline_cascade_runtime_trigger(
            self, text, buf, cap, None))

    def trigger_http(self, method, url, headers, body):
        """An authenticated trigger as it arrived over HTTP; ``headers`` is a
        dict. Raises UnauthenticatedError when the token or signature is
        refused."""
        self._check_open()
        args = (_native.text(method), _native.text(url), _json_text(headers or {}), _body_text(body))
        return self._answer(lambda buf, cap: lib.lifeline_cascade_runtime_trigger_http(
            self, *args, buf, cap, None))

    def acknowledge(self, incident_id, member_id):
        self._check_open()
        lib.lifeline_cascade_runtime_acknowledge(self, _native.text(incident_id),
                                                 _native.text(member_id))

    def close_incident(self, incident_id):
        self._check_open()
        lib.lifeline_cascade_runtime_close_incident(self, _native.text(incident_id))

    def ingest_provider_callback(self, provider, method, url, headers, body):
        """A Twilio or SendGrid request to the host; returns a dict
        {kind, acknowledged, applied, ignored}. ``headers`` is a dict of the
        request's headers; pass ``body`` as the raw bytes (or str) exactly as
        received: Twilio's and SendGrid's signatures cover them (a dict or
        list is re-serialised with json.dumps, which only suits unsigned
        SendGrid batches). Raises UnauthenticatedError for a missing or wrong
        X-Twilio-Signature, or, when channels.sendgrid.webhook_public_key is
        configured, a missing, stale or wrong SendGrid Event Webhook
        signature."""
        self._check_open()
        args = (_native.text(provider), _native.text(method), _native.text(url),
                _json_text(headers or {}), _body_text(body))
        return self._answer(lambda buf, cap: lib.lifeline_cascade_runtime_ingest_provider_callback(
            self, *args, buf, cap, None))

    def ack_link(self, token):
        """Redeems an email link's token; returns {incidentId, memberId}.
        Single use, also across a reopen of the same store file: the second
        redemption raises DuplicateError."""
        self._check_open()
        text = _native.text(token)
        return self._answer(lambda buf, cap: lib.lifeline_cascade_runtime_ack_link(
            self, text, buf, cap, None))

    def state(self, incident_id):
        """One incident's state as a dict (NotFoundError when unknown)."""
        self._check_open()
        text = _native.text(incident_id)
        return self._answer(lambda buf, cap: lib.lifeline_cascade_runtime_state_json(
            self, text, buf, cap, None))

    def list(self):
        """Every incident the runtime knows, as a list of dicts."""
        self._check_open()
        return self._answer(lambda buf, cap: lib.lifeline_cascade_runtime_list_json(
            self, buf, cap, None))

    def metrics(self):
        self._check_open()
        return self._answer(lambda buf, cap: lib.lifeline_cascade_runtime_metrics_json(
            self, buf, cap, None))

    def metrics_prometheus(self):
        self._check_open()
        return _native.read_string(lambda buf, cap: lib.lifeline_cascade_runtime_metrics_prometheus(
            self, buf, cap, None), initial=8192)

    def set_audit(self, audit_log):
        """Records every cascade event in an open lifeline.AuditLog (None
        detaches). No message is sent before its events are recorded; while
        the log refuses appends, messages are held (metrics "audit_backlog"
        and "held_messages"). The runtime keeps a reference to the log."""
        self._check_open()
        lib.lifeline_cascade_runtime_set_audit(self, audit_log)
        self._audit = audit_log

    def take_events(self):
        """The events since the last call, as a list of dicts ("type", "at",
        "incidentId", "groupId", "memberId", "channel", "attemptId",
        "detail", "staleContactData", "recovered"), oldest first."""
        self._check_open()
        return json.loads(_native.read_string(
            lambda buf, cap: lib.lifeline_cascade_runtime_take_events(self, buf, cap, None),
            initial=65536))

    def set_voice_originator(self, originate):
        """Places the cascade's voice calls through the host's PBX (needs
        ``"channels": {"voice": {"via": "pbx"}}``; StateError otherwise).

        ``originate(call)`` gets a VoiceCall on the runtime's own thread and
        must not block. It returns None or ``OriginateAnswer.ORIGINATED``
        (report the outcome later with ``voice_result``),
        ``OriginateAnswer.TRUNKS_BUSY`` or ``(OriginateAnswer.TRUNKS_BUSY,
        retry_after_ms)`` (offered again after the pause), ``UNROUTABLE`` or
        ``FAILED``. An exception, or any other value, counts as FAILED and is
        kept in ``last_originator_error``; it never reaches C. It may call
        ``voice_result`` (not ``settle`` or ``close``). None removes the
        originator: voice calls then fail until one is set."""
        self._check_open()
        if originate is None:
            lib.lifeline_cascade_runtime_set_voice_originator(self, _VOICE_ORIGINATOR(), None)
            self._voice_originator = None  # C no longer calls it
            return

        runtime = weakref.ref(self)  # no cycle through the callback

        def trampoline(c_call, out_retry_after_ms, _user_data):
            try:
                call = VoiceCall(ctypes.cast(c_call, ctypes.POINTER(_CVoiceCall)).contents)
                return _originate_status(originate(call), out_retry_after_ms)
            except BaseException as exc:  # never let an exception unwind into C
                owner = runtime()
                if owner is not None:
                    owner.last_originator_error = exc
                return errors.InternalError.status

        callback = _VOICE_ORIGINATOR(trampoline)
        lib.lifeline_cascade_runtime_set_voice_originator(self, callback, None)
        self._voice_originator = callback  # kept alive as long as C holds it

    def voice_result(self, message_id, result, digits=None):
        """How the PBX call for ``message_id`` ended: a VoiceResult and, for
        ANSWERED, the digits pressed ("1" acknowledges). NotFoundError for an
        unknown message id, InvalidArgumentError for bad digits."""
        self._check_open()
        lib.lifeline_cascade_runtime_voice_result(self, message_id, int(result), _native.text(digits))

    def _answer(self, call):
        # A call that acts and answers is made once with a buffer large
        # enough for most answers; when it is too small the action has
        # happened and is idempotent, so read_string's retry is safe.
        return json.loads(_native.read_string(call, initial=65536))
