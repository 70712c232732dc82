"""Loading liblifeline and declaring every C function, in one table.

Each row of ``_FUNCTIONS`` is (name, restype, argtypes). Functions returning
``lifeline_status`` get an errcheck that raises the matching exception from
``lifeline.errors`` with ``lifeline_last_error()`` as its message, so the
wrappers never inspect status codes themselves.
"""

import ctypes
import ctypes.util
import os
import sys

from . import errors

# The major version of the C ABI these bindings were written against.
ABI_MAJOR = 0
_LIBRARY_NAMES = ("liblifeline.so.1", "liblifeline.so")

c_int64_p = ctypes.POINTER(ctypes.c_int64)
c_int_p = ctypes.POINTER(ctypes.c_int)
c_size_t_p = ctypes.POINTER(ctypes.c_size_t)
status_t = ctypes.c_int
handle_p = ctypes.c_void_p
handle_pp = ctypes.POINTER(ctypes.c_void_p)


class _Status(int):
    """Marker restype: functions that return lifeline_status."""


def _load():
    tried = []
    explicit = os.environ.get("LIFELINE_LIBRARY")
    if explicit:
        try:
            return ctypes.CDLL(explicit)
        except OSError as exc:
            raise ImportError(
                "LIFELINE_LIBRARY=%s could not be loaded: %s" % (explicit, exc)) from exc
    here = os.path.dirname(os.path.abspath(__file__))
    for name in _LIBRARY_NAMES:
        path = os.path.join(here, name)
        tried.append(path)
        if os.path.exists(path):
            return ctypes.CDLL(path)
    found = ctypes.util.find_library("lifeline")
    for name in ((found,) if found else ()) + _LIBRARY_NAMES:
        tried.append(name)
        try:
            return ctypes.CDLL(name)
        except OSError:
            pass
    raise ImportError(
        "liblifeline was not found (tried %s). Build it (see README.md) and set "
        "LIFELINE_LIBRARY to the path of liblifeline.so." % ", ".join(tried))


lib = _load()


def _errcheck(result, func, args):
    if result != errors.LIFELINE_OK:
        message = lib.lifeline_last_error().decode("utf-8", "replace")
        raise errors.error_for_status(result, message)
    return result


_FUNCTIONS = [
    # --- version, status, errors -----------------------------------------
    ("lifeline_version", ctypes.c_char_p, []),
    ("lifeline_version_number", ctypes.c_int, []),
    ("lifeline_status_str", ctypes.c_char_p, [ctypes.c_int]),
    ("lifeline_last_error", ctypes.c_char_p, []),
    # --- clock ---------------------------------------------------------------
    ("lifeline_clock_new_system", _Status, [handle_pp]),
    ("lifeline_clock_new_manual", _Status, [ctypes.c_int64, handle_pp]),
    ("lifeline_clock_now", _Status, [handle_p, c_int64_p]),
    ("lifeline_clock_advance", _Status, [handle_p, ctypes.c_int64]),
    ("lifeline_clock_set", _Status, [handle_p, ctypes.c_int64]),
    ("lifeline_clock_free", None, [handle_p]),
    # --- time normalisation ------------------------------------------------
    ("lifeline_rfc3339_parse", _Status, [ctypes.c_char_p, c_int64_p]),
    ("lifeline_rfc3339_format", _Status, [ctypes.c_int64, ctypes.c_char_p, ctypes.c_size_t]),
    ("lifeline_local_to_utc", _Status,
     [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int, c_int64_p, c_int_p]),
    ("lifeline_utc_to_local", _Status,
     [ctypes.c_int64, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t,
      ctypes.POINTER(ctypes.c_int32), ctypes.c_char_p, ctypes.c_size_t]),
    ("lifeline_business_hours_new", _Status, [ctypes.c_char_p, handle_pp]),
    ("lifeline_business_hours_is_open", _Status, [handle_p, ctypes.c_int64, c_int_p]),
    ("lifeline_business_hours_next_open", _Status, [handle_p, ctypes.c_int64, c_int64_p]),
    ("lifeline_business_hours_free", None, [handle_p]),

    # --- retry and backoff ---------------------------------------------------
    ("lifeline_retry_policy_init", _Status, [ctypes.c_void_p]),
    ("lifeline_backoff_new", _Status, [ctypes.c_void_p, ctypes.c_uint64, handle_pp]),
    ("lifeline_backoff_next", _Status, [handle_p, ctypes.c_int64, c_int64_p, c_int_p]),
    ("lifeline_backoff_attempts_made", _Status, [handle_p, ctypes.POINTER(ctypes.c_int32)]),
    ("lifeline_backoff_reset", _Status, [handle_p]),
    ("lifeline_backoff_free", None, [handle_p]),
    ("lifeline_retry_after_parse", _Status, [ctypes.c_char_p, ctypes.c_int64, c_int64_p]),
    ("lifeline_retry_is_retryable", _Status, [ctypes.c_int, ctypes.c_int, c_int_p]),
    ("lifeline_retry_budget_new", _Status, [ctypes.c_double, ctypes.c_double, handle_pp]),
    ("lifeline_retry_budget_record_success", _Status, [handle_p]),
    ("lifeline_retry_budget_record_failure", _Status, [handle_p]),
    ("lifeline_retry_budget_allow_retry", _Status, [handle_p, c_int_p]),
    ("lifeline_retry_budget_tokens", _Status, [handle_p, ctypes.POINTER(ctypes.c_double)]),
    ("lifeline_retry_budget_free", None, [handle_p]),

    # --- rate limiter ----------------------------------------------------------
    ("lifeline_rate_limiter_new", _Status, [ctypes.c_int64, ctypes.c_int64, handle_pp]),
    ("lifeline_rate_limiter_try_acquire", _Status, [handle_p, ctypes.c_int64, c_int_p, c_int64_p]),
    ("lifeline_rate_limiter_pause_until", _Status, [handle_p, ctypes.c_int64]),
    ("lifeline_rate_limiter_free", None, [handle_p]),
    ("lifeline_keyed_rate_limiter_new", _Status,
     [ctypes.c_int64, ctypes.c_int64, ctypes.c_size_t, handle_pp]),
    ("lifeline_keyed_rate_limiter_try_acquire", _Status,
     [handle_p, ctypes.c_char_p, ctypes.c_int64, c_int_p, c_int64_p]),
    ("lifeline_keyed_rate_limiter_pause_until", _Status,
     [handle_p, ctypes.c_char_p, ctypes.c_int64]),
    ("lifeline_keyed_rate_limiter_size", _Status, [handle_p, c_size_t_p]),
    ("lifeline_keyed_rate_limiter_free", None, [handle_p]),

    # --- dedup cache -------------------------------------------------------------
    ("lifeline_dedup_new", _Status, [ctypes.c_int64, ctypes.c_size_t, handle_pp]),
    ("lifeline_dedup_new_keyed", _Status,
     [ctypes.c_int64, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t, handle_pp]),
    ("lifeline_dedup_check", _Status,
     [handle_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int64, c_int_p]),
    ("lifeline_dedup_check_digest", _Status,
     [handle_p, ctypes.c_char_p, ctypes.c_int64, c_int_p]),
    ("lifeline_dedup_digest", _Status,
     [handle_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t]),
    ("lifeline_dedup_size", _Status, [handle_p, c_size_t_p]),
    ("lifeline_dedup_expire", _Status, [handle_p, ctypes.c_int64, c_size_t_p]),
    ("lifeline_dedup_free", None, [handle_p]),
    # --- notification cascades ------------------------------------------------
    ("lifeline_cascade_new", _Status, [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int64, handle_pp]),
    ("lifeline_cascade_free", None, [handle_p]),
    ("lifeline_cascade_trigger", _Status, [handle_p, ctypes.c_char_p, ctypes.c_int64, c_int_p]),
    ("lifeline_cascade_take_outbound", _Status,
     [handle_p, ctypes.c_int64, ctypes.c_char_p, ctypes.c_size_t, c_size_t_p]),
    ("lifeline_cascade_on_send_result", _Status,
     [handle_p, ctypes.c_uint64, ctypes.c_int, ctypes.c_char_p, ctypes.c_int64, ctypes.c_int64]),
    ("lifeline_cascade_on_receipt", _Status, [handle_p, ctypes.c_uint64, ctypes.c_int, ctypes.c_int64]),
    ("lifeline_cascade_on_provider_receipt", _Status,
     [handle_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int64]),
    ("lifeline_cascade_acknowledge", _Status,
     [handle_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int64]),
    ("lifeline_cascade_close", _Status, [handle_p, ctypes.c_char_p, ctypes.c_int64]),
    ("lifeline_cascade_on_timer", _Status, [handle_p, ctypes.c_int64]),
    ("lifeline_cascade_next_deadline", _Status, [handle_p, c_int64_p, c_int_p]),
    ("lifeline_cascade_state_json", _Status,
     [handle_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t, c_size_t_p]),
    ("lifeline_cascade_take_events", _Status,
     [handle_p, ctypes.c_char_p, ctypes.c_size_t, c_size_t_p]),
    # --- notification cascade runtime -----------------------------------------
    ("lifeline_cascade_runtime_open", _Status, [ctypes.c_char_p, handle_pp]),
    ("lifeline_cascade_runtime_open_with_clock", _Status, [ctypes.c_char_p, handle_p, handle_pp]),
    ("lifeline_cascade_runtime_close", None, [handle_p]),
    ("lifeline_cascade_runtime_settle", _Status, [handle_p, ctypes.c_int64]),
    ("lifeline_cascade_runtime_trigger", _Status,
     [handle_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t, c_size_t_p]),
    ("lifeline_cascade_runtime_trigger_http", _Status,
     [handle_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
      ctypes.c_char_p, ctypes.c_size_t, c_size_t_p]),
    ("lifeline_cascade_runtime_acknowledge", _Status, [handle_p, ctypes.c_char_p, ctypes.c_char_p]),
    ("lifeline_cascade_runtime_close_incident", _Status, [handle_p, ctypes.c_char_p]),
    ("lifeline_cascade_runtime_ingest_provider_callback", _Status,
     [handle_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
      ctypes.c_char_p, ctypes.c_size_t, c_size_t_p]),
    ("lifeline_cascade_runtime_ack_link", _Status,
     [handle_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t, c_size_t_p]),
    ("lifeline_cascade_runtime_state_json", _Status,
     [handle_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t, c_size_t_p]),
    ("lifeline_cascade_runtime_list_json", _Status, [handle_p, ctypes.c_char_p, ctypes.c_size_t, c_size_t_p]),
    ("lifeline_cascade_runtime_metrics_json", _Status,
     [handle_p, ctypes.c_char_p, ctypes.c_size_t, c_size_t_p]),
    ("lifeline_cascade_runtime_metrics_prometheus", _Status,
     [handle_p, ctypes.c_char_p, ctypes.c_size_t, c_size_t_p]),
    ("lifeline_cascade_runtime_set_audit", _Status, [handle_p, handle_p]),
    ("lifeline_cascade_runtime_take_events", _Status,
     [handle_p, ctypes.c_char_p, ctypes.c_size_t, c_size_t_p]),
    # --- IVR failover engine ---------------------------------------------------
    ("lifeline_engine_open", _Status, [ctypes.c_char_p, handle_pp]),
    ("lifeline_engine_open_with_clock", _Status, [ctypes.c_char_p, handle_p, handle_pp]),
    ("lifeline_engine_drain", _Status, [handle_p, ctypes.c_int64]),
    ("lifeline_engine_settle", _Status, [handle_p, ctypes.c_int64]),
    ("lifeline_engine_close", None, [handle_p]),
    ("lifeline_engine_set_audit", _Status, [handle_p, handle_p]),
    ("lifeline_engine_set_event_callback", _Status,
     [handle_p, ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_void_p), ctypes.c_void_p]),
    ("lifeline_failover_set", _Status, [handle_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int64]),
    ("lifeline_failover_observe", _Status, [handle_p, ctypes.c_int]),
    ("lifeline_failover_observe_failure", _Status, [handle_p]),
    ("lifeline_failover_mode", _Status, [handle_p, c_int_p]),
    ("lifeline_call_begin", _Status, [handle_p, ctypes.c_char_p, c_int_p, handle_pp, ctypes.c_void_p]),
    ("lifeline_call_event", _Status, [handle_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p]),
    ("lifeline_call_next_deadline", _Status, [handle_p, c_int64_p, c_int_p]),
    ("lifeline_call_on_timer", _Status, [handle_p, ctypes.c_void_p]),
    ("lifeline_call_outcome", _Status, [handle_p, c_int_p]),
    ("lifeline_call_request_id", _Status, [handle_p, ctypes.c_char_p, ctypes.c_size_t]),
    ("lifeline_call_end", None, [handle_p]),
    ("lifeline_call_outcome_str", ctypes.c_char_p, [ctypes.c_int]),
    ("lifeline_callback_submit", _Status, [handle_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t]),
    ("lifeline_callback_dead_letters", _Status, [handle_p, ctypes.c_char_p, ctypes.c_size_t, c_size_t_p]),
    ("lifeline_callback_redrive", _Status, [handle_p, ctypes.c_char_p]),
    ("lifeline_callback_status", _Status,
     [handle_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t, c_size_t_p]),
    ("lifeline_metrics_json", _Status, [handle_p, ctypes.c_char_p, ctypes.c_size_t, c_size_t_p]),
    ("lifeline_metrics_prometheus", _Status, [handle_p, ctypes.c_char_p, ctypes.c_size_t, c_size_t_p]),
    # @@SECTION:dedup@@
    # --- audit trail ---
    ("lifeline_audit_finding_str", ctypes.c_char_p, [ctypes.c_int]),
    ("lifeline_audit_open", _Status,
     [ctypes.c_char_p,
      ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p, ctypes.POINTER(ctypes.c_uint8), ctypes.c_void_p),
      ctypes.c_void_p, handle_pp]),
    ("lifeline_audit_set_credential_verifier", _Status,
     [handle_p, ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p),
      ctypes.c_void_p]),
    ("lifeline_audit_append", _Status, [handle_p, ctypes.c_char_p]),
    ("lifeline_audit_append_batch", _Status, [handle_p, ctypes.c_char_p]),
    ("lifeline_audit_flush", _Status, [handle_p]),
    ("lifeline_audit_rotate_data_key", _Status, [handle_p, ctypes.c_char_p]),
    ("lifeline_audit_head", _Status,
     [handle_p, ctypes.POINTER(ctypes.c_uint64), ctypes.c_char_p, ctypes.c_size_t]),
    ("lifeline_audit_verify", _Status,
     [handle_p, c_int_p, ctypes.POINTER(ctypes.c_uint64), ctypes.c_char_p, ctypes.c_size_t]),
    ("lifeline_audit_verify_dir", _Status,
     [ctypes.c_char_p,
      ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p, ctypes.POINTER(ctypes.c_uint8), ctypes.c_void_p),
      ctypes.c_void_p, c_int_p, ctypes.POINTER(ctypes.c_uint64), ctypes.c_char_p, ctypes.c_size_t]),
    ("lifeline_audit_verify_export", _Status,
     [ctypes.c_char_p, ctypes.c_char_p,
      ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p, ctypes.POINTER(ctypes.c_uint8), ctypes.c_void_p),
      ctypes.c_void_p, c_int_p, ctypes.POINTER(ctypes.c_uint64), ctypes.c_char_p, ctypes.c_size_t]),
    ("lifeline_audit_archive", _Status, [handle_p, ctypes.c_int64, ctypes.POINTER(ctypes.c_uint64)]),
    ("lifeline_audit_export", _Status,
     [handle_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int64, ctypes.c_char_p,
      ctypes.POINTER(ctypes.c_uint64)]),
    ("lifeline_audit_close", _Status, [handle_p]),
    ("lifeline_audit_free", None, [handle_p]),
    # --- cascade runtime: voice through the host's PBX --------------------------
    # The originator's first argument is a const lifeline_voice_call*; the
    # structure is declared (and the pointer cast) in cascade_runtime.py.
    ("lifeline_cascade_runtime_set_voice_originator", _Status,
     [handle_p, ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, c_int64_p, ctypes.c_void_p), ctypes.c_void_p]),
    ("lifeline_cascade_runtime_voice_result", _Status,
     [handle_p, ctypes.c_uint64, ctypes.c_int, ctypes.c_char_p]),
    ("lifeline_audit_purge_archive", _Status,
     [handle_p, ctypes.c_int64, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int64,
      ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(ctypes.c_uint64)]),
]


def _declare():
    for name, restype, argtypes in _FUNCTIONS:
        try:
            func = getattr(lib, name)
        except AttributeError as exc:
            raise ImportError(
                "%s does not export %s: the library is older than these bindings"
                % (lib._name, name)) from exc
        func.argtypes = argtypes
        if restype is _Status:
            func.restype = status_t
            func.errcheck = _errcheck
        else:
            func.restype = restype


_declare()

_loaded_major = lib.lifeline_version_number() // 10000
if _loaded_major != ABI_MAJOR:
    raise ImportError(
        "liblifeline %s has ABI major %d; these bindings need %d. Install matching "
        "versions of the library and the bindings."
        % (lib.lifeline_version().decode(), _loaded_major, ABI_MAJOR))


def text(value):
    """Encodes a str argument as NUL-terminated UTF-8 (None stays None)."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return value
    return value.encode("utf-8")


def read_string(call, initial=256):
    """Calls ``call(buffer, capacity)`` and grows the buffer until it fits.

    ``call`` raises BufferTooSmallError when short; the result is a str."""
    capacity = initial
    while True:
        buffer = ctypes.create_string_buffer(capacity)
        try:
            call(buffer, capacity)
        except errors.BufferTooSmallError:
            capacity *= 4
            if capacity > (1 << 30):
                raise
            continue
        return buffer.value.decode("utf-8")


class Handle:
    """Base of every wrapped C handle: close(), context manager, finaliser."""

    _free = None  # the lifeline_X_free function, set by subclasses

    def __init__(self, pointer):
        self._as_parameter_ = pointer

    @property
    def closed(self):
        return self._as_parameter_ is None

    def close(self):
        pointer, self._as_parameter_ = self._as_parameter_, None
        if pointer is not None and self._free is not None:
            type(self)._free(pointer)

    def _check_open(self):
        if self._as_parameter_ is None:
            raise errors.StateError("%s is closed" % type(self).__name__)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: the library may be gone
            pass
