"""The dedup cache: "have we seen this request in the last TTL?" (lifeline_dedup_*).

A key first seen at ``t0`` is a duplicate for every check with
``now_ms < t0 + ttl_ms`` and has expired at ``now_ms >= t0 + ttl_ms``; a
duplicate does not extend the window. At most ``capacity`` entries are live;
when all are, a new key raises :class:`FullError` and is not remembered (no
live entry is ever evicted). Keys are kept only as keyed HighwayHash-128
digests, never in clear.

    cache = DedupCache(ttl_ms=60_000, capacity=100_000)
    if not cache.check(request_id, clock.now()):
        submit(request)
"""

import ctypes

from . import _native
from ._native import lib
from .errors import FullError  # noqa: F401  (raised by check(); re-exported)

HASH_KEY_SIZE = 32
DIGEST_SIZE = 16

#: The fixed, public default hash key (not secret).
DEFAULT_HASH_KEY = b"Lifeline dedup default key v1.0!"


def _key_bytes(key):
    if isinstance(key, str):
        return key.encode("utf-8")
    if isinstance(key, (bytes, bytearray, memoryview)):
        return bytes(key)
    raise TypeError("key must be bytes or str, not %s" % type(key).__name__)


class DedupCache(_native.Handle):
    """A bounded, thread-safe TTL set of keyed digests.

    ``ttl_ms`` (> 0) is how long a key stays a duplicate, ``capacity`` (> 0)
    the most live entries (memory for them is reserved now), and ``key`` the
    32-byte hash key: ``None`` for the public default key, or the secret that
    every node which must agree on digests shares.
    """

    _free = staticmethod(lib.lifeline_dedup_free)

    def __init__(self, ttl_ms=60000, capacity=100000, key=None):
        out = ctypes.c_void_p()
        if key is None:
            lib.lifeline_dedup_new(ttl_ms, capacity, ctypes.byref(out))
        else:
            if not isinstance(key, (bytes, bytearray, memoryview)):
                raise TypeError("key must be %d bytes, not %s" % (HASH_KEY_SIZE, type(key).__name__))
            raw = bytes(key)
            lib.lifeline_dedup_new_keyed(ttl_ms, capacity, raw, len(raw), ctypes.byref(out))
        super().__init__(out.value)
        self.ttl_ms = ttl_ms
        self.capacity = capacity

    def check(self, key, now_ms):
        """True when ``key`` (bytes, or str as UTF-8) is a duplicate at ``now_ms``.

        False means first seen: the key is now remembered for ``ttl_ms``.
        Raises FullError when the key is new but the cache is full, and
        InvalidArgumentError for an empty key."""
        self._check_open()
        raw = _key_bytes(key)
        duplicate = ctypes.c_int()
        lib.lifeline_dedup_check(self, raw, len(raw), now_ms, ctypes.byref(duplicate))
        return duplicate.value == 1

    def check_digest(self, digest, now_ms):
        """As :meth:`check`, for a 16-byte digest from :meth:`digest`."""
        self._check_open()
        raw = bytes(digest)
        if len(raw) != DIGEST_SIZE:
            raise ValueError("digest must be %d bytes, got %d" % (DIGEST_SIZE, len(raw)))
        duplicate = ctypes.c_int()
        lib.lifeline_dedup_check_digest(self, raw, now_ms, ctypes.byref(duplicate))
        return duplicate.value == 1

    def digest(self, key):
        """The 16-byte digest this cache keeps for ``key`` (e.g. a request id)."""
        self._check_open()
        raw = _key_bytes(key)
        out = ctypes.create_string_buffer(DIGEST_SIZE)
        lib.lifeline_dedup_digest(self, raw, len(raw), out, DIGEST_SIZE)
        return out.raw

    def expire(self, now_ms):
        """Drops every entry expired at ``now_ms``; returns the number held."""
        self._check_open()
        out = ctypes.c_size_t()
        lib.lifeline_dedup_expire(self, now_ms, ctypes.byref(out))
        return out.value

    def __len__(self):
        """Entries held (live at the latest time seen; see :meth:`expire`)."""
        self._check_open()
        out = ctypes.c_size_t()
        lib.lifeline_dedup_size(self, ctypes.byref(out))
        return out.value
