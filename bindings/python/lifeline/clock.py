"""Clocks: where Lifeline components get "now" from (lifeline_clock_*)."""

import ctypes

from . import _native
from ._native import lib


class Clock(_native.Handle):
    """A clock handle. Use ``Clock.system()`` or ``Clock.manual(start_ms)``."""

    _free = staticmethod(lib.lifeline_clock_free)

    @classmethod
    def system(cls):
        out = ctypes.c_void_p()
        lib.lifeline_clock_new_system(ctypes.byref(out))
        return cls(out.value)

    @classmethod
    def manual(cls, start_unix_ms=0):
        out = ctypes.c_void_p()
        lib.lifeline_clock_new_manual(start_unix_ms, ctypes.byref(out))
        return cls(out.value)

    def now(self):
        """Milliseconds since the Unix epoch, UTC."""
        self._check_open()
        out = ctypes.c_int64()
        lib.lifeline_clock_now(self, ctypes.byref(out))
        return out.value

    def advance(self, delta_ms):
        """Manual clocks only: moves time forward by ``delta_ms`` (>= 0)."""
        self._check_open()
        lib.lifeline_clock_advance(self, delta_ms)

    def set(self, unix_ms):
        """Manual clocks only: sets the time; it never goes back."""
        self._check_open()
        lib.lifeline_clock_set(self, unix_ms)
