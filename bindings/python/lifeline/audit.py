"""The audit trail (lifeline_audit_*): tamper-evident, PII-protected records.

Example::

    from lifeline import audit

    config = {"dir": "/var/lib/lifeline/audit",
              "keys": {"provider": "env", "data_key_id": "k1",
                       "pseudonym_key_id": "p1", "checkpoint_key_id": "c1"},
              "pii": {"phone": "encrypt", "email": "encrypt"}}
    with audit.AuditLog(config) as log:
        log.append({"source": "cascade", "time": now_ms, "incidentId": "INC-1",
                    "event": "DELIVERY_ATTEMPT", "status": "DELIVERED",
                    "pii": {"phone": "+15551234567"}})
        report = log.verify()          # {"ok": True, "kind": "ok", ...}
    audit.verify_dir(config)           # the same, with the log closed

``append`` returns only once the event is durable; a full disk raises
``LifelineIOError`` and the event was not recorded. Key callbacks take a key
id and return 32 bytes (or None when the key is unknown); credential
verifiers take (role, credential) and return a bool.
"""

import ctypes
import json

from . import _native, errors
from ._native import lib

KEY_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.c_char_p, ctypes.POINTER(ctypes.c_uint8), ctypes.c_void_p)
CREDENTIAL_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p)

#: lifeline_audit_finding values, by index.
FINDINGS = ("ok", "edited", "deleted", "reordered", "truncated", "bad_checkpoint",
            "corrupt_archive", "bad_purge_manifest")

_NOT_FOUND = errors.NotFoundError.status
_UNAVAILABLE = errors.UnavailableError.status
_INVALID = errors.InvalidArgumentError.status


def _config_text(config):
    if isinstance(config, (str, bytes)):
        return _native.text(config)
    return _native.text(json.dumps(config))


def _key_callback(fetch):
    """Wraps ``fetch(key_id) -> bytes | None`` as a lifeline_key_callback."""
    if fetch is None:
        return KEY_CALLBACK()  # NULL

    def call(key_id, out_key32, user_data):
        try:
            key = fetch(key_id.decode("utf-8"))
        except Exception:  # never let an exception unwind into C
            return _UNAVAILABLE
        if key is None:
            return _NOT_FOUND
        key = bytes(key)
        if len(key) != 32:
            return _INVALID
        ctypes.memmove(out_key32, key, 32)
        return errors.LIFELINE_OK

    return KEY_CALLBACK(call)


def _report(call):
    finding = ctypes.c_int()
    seq = ctypes.c_uint64()
    text = _native.read_string(
        lambda buf, cap: call(ctypes.byref(finding), ctypes.byref(seq), buf, cap), initial=1024)
    return json.loads(text)


class AuditLog(_native.Handle):
    """An open audit log (``lifeline_audit_t``); a context manager."""

    _free = staticmethod(lib.lifeline_audit_free)

    def __init__(self, config, key_callback=None, credential_verifier=None):
        """Opens (or creates) the log. ``config`` is a dict or a JSON string."""
        self._as_parameter_ = None
        self._key_cb = _key_callback(key_callback)  # kept alive while C holds it
        self._credential_cb = None
        out = ctypes.c_void_p()
        lib.lifeline_audit_open(_config_text(config), self._key_cb, None, ctypes.byref(out))
        super().__init__(out.value)
        if credential_verifier is not None:
            self.set_credential_verifier(credential_verifier)

    def set_credential_verifier(self, verify):
        """``verify(role, credential) -> bool``; None removes it."""
        self._check_open()
        if verify is None:
            callback = CREDENTIAL_CALLBACK()  # NULL
        else:
            def call(role, credential, user_data):
                try:
                    return 1 if verify(role.decode("utf-8"), credential.decode("utf-8")) else 0
                except Exception:
                    return 0
            callback = CREDENTIAL_CALLBACK(call)
        lib.lifeline_audit_set_credential_verifier(self, callback, None)
        self._credential_cb = callback

    def append(self, event):
        """Records one event (a dict); returns once it is durable."""
        self._check_open()
        lib.lifeline_audit_append(self, _native.text(json.dumps(event)))

    def append_batch(self, events):
        """Records a list of events with one fsync: all of them or none."""
        self._check_open()
        lib.lifeline_audit_append_batch(self, _native.text(json.dumps(list(events))))

    def flush(self):
        """Writes a checkpoint over the head if it moved."""
        self._check_open()
        lib.lifeline_audit_flush(self)

    def rotate_data_key(self, key_id):
        """Makes ``key_id`` the data key for new records."""
        self._check_open()
        lib.lifeline_audit_rotate_data_key(self, _native.text(key_id))

    def head(self):
        """(seq, hash) of the last durable record; (0, "000...0") when empty."""
        self._check_open()
        seq = ctypes.c_uint64()
        buf = ctypes.create_string_buffer(65)
        lib.lifeline_audit_head(self, ctypes.byref(seq), buf, 65)
        return seq.value, buf.value.decode()

    def verify(self):
        """Verifies archives, live store and checkpoints; returns the report dict."""
        self._check_open()
        return _report(lambda f, s, buf, cap: lib.lifeline_audit_verify(self, f, s, buf, cap))

    def archive(self, now_ms):
        """Moves records older than now - retention to archive segments."""
        self._check_open()
        count = ctypes.c_uint64()
        lib.lifeline_audit_archive(self, int(now_ms), ctypes.byref(count))
        return count.value

    def purge_archive(self, cutoff_ms, role, credential, now_ms):
        """Deletes the oldest archive segments whose records are all older
        than ``cutoff_ms``, keeping their chain boundaries in the purge
        manifest so that ``verify`` still proves what remains.

        Only ``role="bcp_admin"`` with a credential the verifier accepts may
        purge (``InvalidArgumentError`` otherwise, and the attempt is
        audited); ``cutoff_ms`` must not be later than ``now_ms`` minus the
        retention period. Returns ``{"segments": n, "records": m}``, both 0
        when nothing is left to purge."""
        self._check_open()
        segments = ctypes.c_uint64()
        records = ctypes.c_uint64()
        lib.lifeline_audit_purge_archive(self, int(cutoff_ms), _native.text(role),
                                         _native.text(credential), int(now_ms),
                                         ctypes.byref(segments), ctypes.byref(records))
        return {"segments": segments.value, "records": records.value}

    def export(self, path, incident_id=None, call_id=None, from_ms=None, to_ms=None,
               role=None, credential=None, now_ms=0):
        """Writes the matching records with a chain proof to ``path``.

        Returns how many records matched. Only "compliance_officer" and
        "bcp_admin" with an accepted credential get PII decrypted."""
        self._check_open()
        query = {}
        if incident_id is not None:
            query["incidentId"] = incident_id
        if call_id is not None:
            query["callId"] = call_id
        if from_ms is not None:
            query["from"] = int(from_ms)
        if to_ms is not None:
            query["to"] = int(to_ms)
        count = ctypes.c_uint64()
        lib.lifeline_audit_export(self, _native.text(json.dumps(query)), _native.text(role),
                                  _native.text(credential), int(now_ms),
                                  _native.text(str(path)), ctypes.byref(count))
        return count.value

    def close(self):
        """Writes a final checkpoint and frees the handle. Harmless twice."""
        pointer = self._as_parameter_
        if pointer is None:
            return
        try:
            lib.lifeline_audit_close(self)
        finally:
            self._as_parameter_ = None
            lib.lifeline_audit_free(pointer)


def verify_dir(config, key_callback=None):
    """Verifies a log that is not open (read-only); returns the report dict."""
    callback = _key_callback(key_callback)
    text = _config_text(config)
    return _report(lambda f, s, buf, cap: lib.lifeline_audit_verify_dir(
        text, callback, None, f, s, buf, cap))


def verify_export(path, config, key_callback=None):
    """Verifies an export file on its own; returns the report dict.

    Only the "keys" of ``config`` are used (for the checkpoint key)."""
    callback = _key_callback(key_callback)
    text = _config_text(config)
    return _report(lambda f, s, buf, cap: lib.lifeline_audit_verify_export(
        _native.text(str(path)), text, callback, None, f, s, buf, cap))
