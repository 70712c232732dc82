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
"""

import ctypes
import json

from . import _native
from ._native import lib


def _json_text(value):
    if value is None:
        return None
    if isinstance(value, (str, bytes)):
        return _native.text(value)
    return _native.text(json.dumps(value))


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
        "detail", "staleContactData"), oldest first."""
        self._check_open()
        return json.loads(_native.read_string(
            lambda buf, cap: lib.lifeline_cascade_runtime_take_events(self, buf, cap, None),
            initial=65536))

    def _answer(self, call):
        # A call that acts and answers is made once with a buffer large
        # enough for most answers; when it is too small the action has
        # happened and is idempotent, so read_string's retry is safe.
        return json.loads(_native.read_string(call, initial=65536))
