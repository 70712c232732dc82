"""Exceptions raised by the Lifeline bindings.

Every C function returns a ``lifeline_status``; a non-zero status becomes one
of these exceptions, carrying ``lifeline_last_error()`` as its message. Each
subclass also derives from the closest built-in exception, so
``except ValueError`` catches a bad argument as a Python user expects.
"""

LIFELINE_OK = 0


class LifelineError(Exception):
    """Base class. ``status`` is the C status code, ``message`` the text."""

    status = -1

    def __init__(self, message="", status=None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class InvalidArgumentError(LifelineError, ValueError):
    status = 1


class BufferTooSmallError(LifelineError):
    status = 2


class NotFoundError(LifelineError, LookupError):
    status = 3


class NonexistentTimeError(LifelineError, ValueError):
    """A local time that falls in a DST gap, with the reject policy."""

    status = 4


class AmbiguousTimeError(LifelineError, ValueError):
    """A local time that falls in a DST overlap, with the reject policy."""

    status = 5


class FullError(LifelineError):
    status = 6


class RateLimitedError(LifelineError):
    status = 7


class UnavailableError(LifelineError):
    status = 8


class LifelineIOError(LifelineError, OSError):
    status = 9


class LifelineTimeoutError(LifelineError, TimeoutError):
    status = 10


class StateError(LifelineError):
    """The call is not valid in the object's current state."""

    status = 11


class DuplicateError(LifelineError):
    status = 12


class InternalError(LifelineError):
    status = 13


class UnauthenticatedError(LifelineError):
    """An inbound request's signature or token was refused."""

    status = 14


_BY_STATUS = {
    cls.status: cls
    for cls in (
        InvalidArgumentError, BufferTooSmallError, NotFoundError,
        NonexistentTimeError, AmbiguousTimeError, FullError, RateLimitedError,
        UnavailableError, LifelineIOError, LifelineTimeoutError, StateError,
        DuplicateError, InternalError, UnauthenticatedError,
    )
}


def error_for_status(status, message):
    """The exception instance for a non-zero status."""
    return _BY_STATUS.get(status, LifelineError)(message, status)
