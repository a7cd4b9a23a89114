"""Poll, Registry, Events, Event, Interest and Waker over libswiftpoll.

Thread safety and lifetime
--------------------------
Every object that owns a C handle (:class:`Poll`, a cloned :class:`Registry`,
:class:`Waker`) guards it with a lock-free use count: each call into the
library registers itself in ``_users`` (``list.append`` / ``list.pop`` are
atomic under the GIL) *before* checking ``_closed``, and ``close()`` sets
``_closed`` *before* looking at ``_users``.  So the handle is freed exactly
once, by whoever leaves last, and never while another thread is inside the
library with it.  Closing a :class:`Poll` while another thread waits on it
registers a private eventfd that is already readable, so the waiting thread
returns at once, frees the poll and raises :class:`ValueError`.
"""

from __future__ import annotations

import ctypes
import enum
import errno as _errno
import math
import os
import struct
import time
from functools import partial
from typing import Any, Iterator, List, NamedTuple, Optional, Tuple, Union

from . import _lib

__all__ = ["Interest", "Event", "Events", "Poll", "Registry", "Waker", "FileLike",
           "available_backends"]

_L = _lib.lib
_wait_args_fn = _lib.wait_args_fn
_byref = ctypes.byref
_c_char_from_buffer = ctypes.c_char.from_buffer
_monotonic = time.monotonic
_EINTR = _errno.EINTR
_ENOTSUP = _errno.ENOTSUP
_TOKEN_MAX = (1 << 64) - 1
_INT_MAX = (1 << 31) - 1
_NS_MAX = (1 << 63) - 1
_NS_MAX_F = 9.2e18  # below 2**63 - 1, as a float (cheap to compare)
_EVENT_SIZE = 16
_EVENT_STRUCT = struct.Struct("=QII")
_unpack = _EVENT_STRUCT.iter_unpack
_unpack_one = _EVENT_STRUCT.unpack_from

FileLike = Union[int, Any]  # an int fd or an object with fileno()


def _oserror(rc: int) -> OSError:
    """OSError for a negative errno; the constructor picks the subclass
    (FileExistsError, FileNotFoundError, PermissionError ...)."""
    e = -rc
    return OSError(e, os.strerror(e))


def _check_signals() -> None:
    """Entering a Python function lets the interpreter run pending signal
    handlers (and raise their exceptions) before we wait again."""


class Interest(enum.IntFlag):
    """What to watch for, plus the trigger mode (at most one of LEVEL, ONESHOT).

    At least one of READABLE, WRITABLE, PRIORITY is required.  EDGE (0) is the
    default trigger mode, as in mio; LEVEL is what :mod:`selectors` expects.
    """

    READABLE = 0x01
    WRITABLE = 0x02
    PRIORITY = 0x04
    EDGE = 0x000
    LEVEL = 0x100
    ONESHOT = 0x200


_INTEREST_BITS = 0x07
_MODE_BITS = 0x300
_ALL_BITS = _INTEREST_BITS | _MODE_BITS

# event flag bits (SWIFTPOLL_EVENT_*)
EVENT_READABLE = 0x01
EVENT_WRITABLE = 0x02
EVENT_ERROR = 0x04
EVENT_READ_CLOSED = 0x08
EVENT_WRITE_CLOSED = 0x10
EVENT_PRIORITY = 0x20
_FLAG_NAMES = (
    (EVENT_READABLE, "readable"),
    (EVENT_WRITABLE, "writable"),
    (EVENT_ERROR, "error"),
    (EVENT_READ_CLOSED, "read_closed"),
    (EVENT_WRITE_CLOSED, "write_closed"),
    (EVENT_PRIORITY, "priority"),
)


def _to_fd(fileobj: FileLike) -> int:
    """An fd from an int or an object with fileno(), as selectors does."""
    if isinstance(fileobj, int):
        fd = int(fileobj)
    else:
        try:
            fileno = fileobj.fileno
        except AttributeError:
            raise TypeError("expected an int fd or an object with fileno(), got %r" % (fileobj,)) from None
        fd = fileno()
        if not isinstance(fd, int):
            raise TypeError("fileno() returned a non-integer: %r" % (fd,))
        fd = int(fd)
    if fd < 0:
        raise ValueError("invalid file descriptor: %d" % fd)
    if fd > _INT_MAX:
        raise ValueError("file descriptor out of range: %d" % fd)
    return fd


def _to_token(token: int) -> int:
    if not isinstance(token, int):
        raise TypeError("token must be an int, got %s" % type(token).__name__)
    token = int(token)
    if token < 0 or token > _TOKEN_MAX:
        raise ValueError("token must be in 0 .. 2**64-1, got %d" % token)
    return token


def _to_interest(interest: Union[Interest, int]) -> int:
    if not isinstance(interest, int):
        raise TypeError("interest must be an Interest (or int), got %s" % type(interest).__name__)
    i = int(interest)
    if i < 0 or i & ~_ALL_BITS:
        raise ValueError("unknown interest bits: %#x" % i)
    if not i & _INTEREST_BITS:
        raise ValueError("interest needs READABLE, WRITABLE or PRIORITY")
    if i & _MODE_BITS == _MODE_BITS:
        raise ValueError("LEVEL and ONESHOT are mutually exclusive")
    return i


def _timeout_ns(timeout: Optional[float]) -> int:
    """Seconds (None: block) to the C timeout in ns, rounded up so that a
    positive timeout never becomes a busy loop."""
    if timeout is None:
        return -1
    tp = type(timeout)
    if tp is float or tp is int:  # the fast path: no isinstance, no math.ceil
        if timeout > 0:
            ns = timeout * 1e9
            if ns < _NS_MAX_F:
                i = int(ns)
                return i if i == ns else i + 1  # ceil, and >= 1
            return -1  # longer than 292 years: forever
        if timeout == 0:
            return 0
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        try:
            timeout = float(timeout.__float__())  # numbers.Real, Decimal, Fraction ...
        except AttributeError:
            raise TypeError("timeout must be a number of seconds or None, got %s" % type(timeout).__name__) from None
    if timeout != timeout:
        raise ValueError("timeout is NaN")
    if timeout < 0:
        raise ValueError("timeout must be >= 0 or None, got %r" % (timeout,))
    if timeout == 0:
        return 0
    ns = timeout * 1e9
    if ns >= _NS_MAX_F:
        return -1
    return max(1, math.ceil(ns))


def _backend_value(backend: Optional[str]) -> int:
    """SWIFTPOLL_BACKEND_* for a backend name (None: the default)."""
    if backend is None:
        return 0
    if not isinstance(backend, str):
        raise TypeError("backend must be a str or None, got %s" % type(backend).__name__)
    try:
        return _lib.BACKENDS[backend]
    except KeyError:
        raise ValueError("unknown backend %r (expected None, %s)"
                         % (backend, ", ".join(repr(n) for n in _lib.BACKENDS))) from None


def available_backends() -> Tuple[str, ...]:
    """The backends a :class:`Poll` can use here, e.g. ``("epoll", "poll")``
    on Linux (each is tried: a poll is made and closed)."""
    out = []
    for name in _lib.BACKENDS:
        if name == "default":
            continue
        try:
            Poll(name).close()
        except OSError as e:
            if e.errno == _ENOTSUP:
                continue
            raise
        out.append(name)
    return tuple(out)


class _Guarded:
    """Use count + close protocol around one C handle (see module docstring)."""

    __slots__ = ("_holder", "_users", "_closed", "_ptr", "__weakref__")

    _kind = "object"

    def _init_handle(self, ptr: int) -> None:
        self._ptr = ptr
        self._holder = [ptr]  # popped (atomically) by whoever frees it
        self._users: List[None] = []
        self._closed = False

    def _enter(self) -> int:
        self._users.append(None)
        if self._closed:
            self._leave()
            raise ValueError("I/O operation on closed %s" % self._kind)
        return self._ptr

    def _leave(self) -> None:
        self._users.pop()
        if self._closed and not self._users:
            self._destroy()

    def _destroy(self) -> None:
        try:
            ptr = self._holder.pop()
        except (IndexError, AttributeError):
            return
        self._free(ptr)

    def _free(self, ptr: int) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def closed(self) -> bool:
        """True once close() was called."""
        try:
            return self._closed
        except AttributeError:  # __init__ failed before the handle existed
            return True

    def close(self) -> None:
        """Frees the handle (at once, or when the last call in another thread
        returns).  Closing twice is allowed and does nothing."""
        try:
            users = self._users
        except AttributeError:
            return
        users.append(None)
        try:
            if self._closed:
                return
            self._closed = True
            if len(users) > 1:
                self._interrupt()
        finally:
            self._leave()

    def _interrupt(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass


class Event(NamedTuple):
    """One readiness event: the registration's token and the readiness flags.

    ``flags`` holds the ``SWIFTPOLL_EVENT_*`` bits (mio's ``Event::is_*``
    formulas); ``raw`` the backend's own bits (on epoll: the ``EPOLL*`` bits
    the kernel returned).  An Event is a tuple ``(token, flags, raw)``.
    """

    token: int
    flags: int
    raw: int

    @property
    def readable(self) -> bool:
        """Readable (EPOLLIN or EPOLLPRI)."""
        return bool(self[1] & EVENT_READABLE)

    @property
    def writable(self) -> bool:
        """Writable (EPOLLOUT)."""
        return bool(self[1] & EVENT_WRITABLE)

    @property
    def error(self) -> bool:
        """An error is pending (EPOLLERR)."""
        return bool(self[1] & EVENT_ERROR)

    @property
    def read_closed(self) -> bool:
        """The read half is closed (hang-up, or the peer shut down writing)."""
        return bool(self[1] & EVENT_READ_CLOSED)

    @property
    def write_closed(self) -> bool:
        """The write half is closed (hang-up or error)."""
        return bool(self[1] & EVENT_WRITE_CLOSED)

    @property
    def priority(self) -> bool:
        """Priority / out-of-band data (EPOLLPRI)."""
        return bool(self[1] & EVENT_PRIORITY)

    def __repr__(self) -> str:
        names = [n for bit, n in _FLAG_NAMES if self[1] & bit]
        return "Event(token=%d, %s, raw=%#x)" % (self[0], "|".join(names) or "none", self[2])


_make_event = partial(tuple.__new__, Event)


class _EventCache(dict):
    """(token, flags, raw) -> Event.  Events are immutable tuples, and a
    program sees few distinct (token, readiness) combinations (tokens are fd
    numbers or slab indexes), so reusing them makes decoding a C-level dict
    lookup instead of a subclass instance per event.  Bounded: cleared when
    full, so a program with ever-new tokens only pays the miss."""

    __slots__ = ()

    def __missing__(self, key: tuple) -> Event:
        if len(self) >= _EVENT_CACHE_MAX:
            self.clear()
        ev = self[key] = _make_event(key)
        return ev


_EVENT_CACHE_MAX = 16384
_event_for = _EventCache().__getitem__


class Events:
    """A buffer for up to ``capacity`` events, filled by :meth:`Poll.poll`.

    Iterating gives the :class:`Event` objects of the last poll; ``len()`` is
    their number.  The contents are replaced by the next poll.
    """

    __slots__ = ("_capacity", "_buf", "_cbuf", "_addr", "_mv", "_q", "_i", "_n", "__weakref__")

    def __init__(self, capacity: int) -> None:
        if not isinstance(capacity, int) or isinstance(capacity, bool):
            raise TypeError("capacity must be an int, got %s" % type(capacity).__name__)
        if capacity <= 0:
            raise ValueError("capacity must be positive, got %d" % capacity)
        if capacity > _INT_MAX // 12:
            raise ValueError("capacity too large: %d" % capacity)
        self._capacity = capacity
        self._buf = bytearray(capacity * _EVENT_SIZE)
        # The buffer's address through a c_char over its first byte: no ctypes
        # type is made per size (an array type is a cyclic object: garbage for
        # the collector each time), and the export pins the bytearray's memory.
        self._cbuf = _c_char_from_buffer(self._buf)
        self._addr = ctypes.addressof(self._cbuf)
        self._mv = memoryview(self._buf)
        self._q = self._mv.cast("Q")  # tokens at even indices
        self._i = self._mv.cast("I")  # flags at 2, 6, 10 ...; raw at 3, 7, 11 ...
        self._n = 0

    @property
    def capacity(self) -> int:
        """The most events one poll writes."""
        return self._capacity

    def __len__(self) -> int:
        return self._n

    def is_empty(self) -> bool:
        """True if the last poll returned no events."""
        return self._n == 0

    def clear(self) -> None:
        """Forgets the events of the last poll."""
        self._n = 0

    def __iter__(self) -> Iterator[Event]:
        n = self._n
        if n == 1:  # the common case of a busy loop: skip the slice and iterator
            return iter((_event_for(_unpack_one(self._buf)),))
        return map(_event_for, _unpack(self._mv[: n * _EVENT_SIZE]))

    def __getitem__(self, i: int) -> Event:
        n = self._n
        if isinstance(i, slice):
            return list(self)[i]  # type: ignore[return-value]
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("event index out of range")
        return _event_for(_unpack_one(self._buf, i * _EVENT_SIZE))

    def pairs(self) -> "Iterator[Tuple[int, int]]":
        """The last poll's events as ``(token, flags)`` tuples: the fastest
        way to read them (no Event objects; ``flags`` holds the EVENT_* bits)."""
        n = self._n
        if n == 1:
            t = _unpack_one(self._buf)
            return iter(((t[0], t[1]),))
        return zip(self._q[0 : 2 * n : 2].tolist(), self._i[2 : 4 * n : 4].tolist())

    def raw_tuples(self) -> "Iterator[tuple]":
        """The last poll's events as plain ``(token, flags, raw)`` tuples
        (the fastest way to read them)."""
        return _unpack(self._mv[: self._n * _EVENT_SIZE])

    def __repr__(self) -> str:
        return "Events(capacity=%d, len=%d)" % (self._capacity, self._n)


_UNBOUND = object()  # matches no Events (not even None)


class _Bound:
    """The wait arguments for one (poll, events) pair, and a pre-made byref."""

    __slots__ = ("events", "args", "ref", "ns")

    args: Any  # _lib.WaitArgs (None only in the unbound placeholder, never waited on)

    def __init__(self, events: Any, args: Optional[_lib.WaitArgs]) -> None:
        self.events = events
        self.args = args
        self.ref = _byref(args) if args is not None else None
        self.ns = -1


class Poll(_Guarded):
    """A poll: an epoll instance.  Register fds through :attr:`registry`,
    then :meth:`poll` for events.  A context manager; :meth:`close` frees it.
    """

    __slots__ = ("_fd", "_rptr", "_bound", "_wake_fd", "_backend")

    _kind = "Poll"

    def __init__(self, backend: Optional[str] = None) -> None:
        value = _backend_value(backend)
        out = ctypes.c_void_p()
        if value == 0 or not _lib.HAS_BACKENDS:
            if value not in (0, 1):  # a library older than 0.2: epoll alone
                raise OSError(_ENOTSUP, "%s: the %s backend is not in this library (%s, version %s)"
                              % (os.strerror(_ENOTSUP), backend, _lib.lib_path, _lib.library_version()))
            rc = _L.swiftpoll_poll_new(_byref(out))
            env = os.environ.get("SWIFTPOLL_BACKEND")
            if rc == -_errno.EINVAL and env is not None and _lib.HAS_BACKENDS:
                raise OSError(_errno.EINVAL, "%s: SWIFTPOLL_BACKEND=%r names an unknown backend or "
                              "one not usable here" % (os.strerror(_errno.EINVAL), env))
        else:
            rc = _L.swiftpoll_poll_new_backend(_byref(out), value)
            if rc == -_ENOTSUP:
                raise OSError(_ENOTSUP, "%s: the %s backend is not available here"
                              % (os.strerror(_ENOTSUP), backend))
        if rc < 0:
            raise _oserror(rc)
        self._init_handle(out.value or 0)
        self._fd = _L.swiftpoll_poll_fd(out.value)  # -ENOTSUP on poll(2): it has none
        # the poll's own registry: borrowed, valid exactly as long as the poll
        self._rptr = _L.swiftpoll_poll_registry(out.value)
        self._bound = _Bound(_UNBOUND, None)
        self._wake_fd = -1
        if _lib.HAS_BACKENDS:
            name = _L.swiftpoll_backend_name(_L.swiftpoll_poll_backend(out.value))
            self._backend = name.decode("ascii") if name else "unknown"
        else:
            self._backend = "epoll"

    @property
    def backend(self) -> str:
        """The backend this poll runs over: ``"epoll"``, ``"poll"`` or ``"kqueue"``."""
        return self._backend

    def _free(self, ptr: int) -> None:
        _L.swiftpoll_poll_free(ptr)
        fd, self._wake_fd = self._wake_fd, -1
        if fd >= 0:
            os.close(fd)

    def _interrupt(self) -> None:
        # Another thread may be blocked in wait: make the epoll instance
        # readable with a private, already-readable eventfd (a registration
        # made during a wait is seen by that wait).  Freed with the poll.
        try:
            if hasattr(os, "eventfd"):
                fd = os.eventfd(1, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
            else:  # Python 3.9: a pipe with a byte in it
                r, w = os.pipe()
                os.write(w, b"x")
                os.close(w)
                fd = r
        except OSError:
            return
        self._wake_fd = fd
        _L.swiftpoll_registry_register(self._rptr, fd, _TOKEN_MAX, 0x101)

    def fileno(self) -> int:
        """The epoll (or kqueue) fd, owned by the poll: do not close it.
        OSError(ENOTSUP) on the poll(2) backend, which has none."""
        if self._closed:
            raise ValueError("I/O operation on closed Poll")
        fd = self._fd
        if fd < 0:
            raise OSError(-fd, "%s: the %s backend has no file descriptor"
                          % (os.strerror(-fd), self._backend))
        return fd

    @property
    def registry(self) -> "Registry":
        """The poll's own registry (valid until the poll is closed)."""
        if self._closed:
            raise ValueError("I/O operation on closed Poll")
        return Registry._borrowed(self)

    def poll(self, events: Events, timeout: Optional[float] = None) -> int:
        """Waits for events and stores them in ``events``; returns their number.

        ``timeout`` is in seconds (float): None blocks until an event comes,
        0 returns at once, a positive value waits at least that long (rounded
        up, never down to a busy loop).  A wait interrupted by a signal is
        retried with the remaining time after the handlers ran (PEP 475); an
        exception raised by a handler propagates.  The GIL is released while
        waiting.  Raises ValueError if the poll is (or gets) closed, and
        OSError(EBUSY) if another thread is waiting on this poll.
        """
        # the hot path: keep it flat (SwiftPollSelector.select inlines the same steps)
        b = self._bound
        if b.events is not events:
            b = self._bind(events)
        ns = -1 if timeout is None else _timeout_ns(timeout)
        events._n = 0
        users = self._users
        users.append(None)
        try:
            if self._closed:
                raise ValueError("I/O operation on closed Poll")
            if ns != b.ns:
                b.args.timeout_ns = b.ns = ns
            n = _wait_args_fn(b.ref)
            if n < 0:
                n = self._retry(b, n, ns)
            if self._closed:
                raise ValueError("Poll was closed while waiting")
            events._n = n
            return n
        finally:
            users.pop()
            if self._closed and not users:
                self._destroy()

    def _retry(self, b: "_Bound", rc: int, ns: int) -> int:
        deadline = _monotonic() + ns * 1e-9 if ns > 0 else 0.0
        while rc == -_EINTR:
            _check_signals()  # run the handlers now; their exceptions propagate
            if self._closed:
                raise ValueError("Poll was closed while waiting")
            if ns > 0:
                left = deadline - _monotonic()
                ns = max(0, math.ceil(left * 1e9))
                b.args.timeout_ns = b.ns = ns
            rc = _wait_args_fn(b.ref)
        if rc < 0:
            raise _oserror(rc)
        return rc

    def _bind(self, events: Events) -> "_Bound":
        # A new struct per (poll, events) pair, never one changed in place:
        # another thread may be inside the library with the previous one.
        if not isinstance(events, Events):
            raise TypeError("events must be an Events, got %s" % type(events).__name__)
        b = _Bound(events, _lib.WaitArgs(self._ptr, events._addr, events._capacity, -1))
        self._bound = b  # one attribute: other threads see old or new, whole
        return b

    def __repr__(self) -> str:
        if self._closed:
            return "<swiftpoll.Poll closed>"
        if self._fd < 0:
            return "<swiftpoll.Poll backend=%s>" % self._backend
        return "<swiftpoll.Poll backend=%s fd=%d>" % (self._backend, self._fd)


class Registry(_Guarded):
    """Adds, changes and removes registrations of a poll.

    Get one from :attr:`Poll.registry` (it borrows the poll: valid until the
    poll is closed) or :meth:`try_clone` (independent: it keeps the epoll
    instance alive after the poll is closed; close it when done).
    """

    __slots__ = ("_owner", "_poll")

    _owner: Any  # the Poll (borrowed registry) or the Registry itself (clone)
    _poll: Optional[Poll]

    _kind = "Registry"

    def __init__(self) -> None:
        raise TypeError("get a Registry from Poll.registry or Registry.try_clone()")

    @classmethod
    def _borrowed(cls, poll: Poll) -> "Registry":
        self = object.__new__(cls)
        self._owner = poll  # the poll's guard protects the borrowed handle
        self._poll = poll
        return self

    @classmethod
    def _owned(cls, ptr: int) -> "Registry":
        self = object.__new__(cls)
        self._init_handle(ptr)
        self._owner = self
        self._poll = None
        return self

    def _free(self, ptr: int) -> None:
        _L.swiftpoll_registry_free(ptr)

    @property
    def closed(self) -> bool:  # type: ignore[override]
        """True once this registry (or, for Poll.registry, its poll) is closed."""
        owner = self._owner
        return owner._closed if owner is not self else _Guarded.closed.fget(self)  # type: ignore[attr-defined]

    def close(self) -> None:
        """Frees a cloned registry.  On the poll's own registry: nothing
        (it lives as long as the poll)."""
        if self._owner is self:
            _Guarded.close(self)

    def __del__(self) -> None:
        try:
            if self._owner is self:
                _Guarded.close(self)
        except Exception:  # pragma: no cover
            pass

    def _handle(self) -> int:
        owner = self._owner
        ptr = owner._enter()
        if owner is self:
            return ptr
        return owner._rptr  # the poll's own registry

    def register(self, fileobj: FileLike, token: int, interest: Union[Interest, int]) -> None:
        """Watches ``fileobj`` (an fd or an object with ``fileno()``) for
        ``interest``; its events carry ``token``.

        Raises FileExistsError if already registered, PermissionError for a
        regular file, OSError(EBADF) for a closed fd, ValueError/TypeError for
        bad arguments, ValueError if the registry is closed.
        """
        fd = _to_fd(fileobj)
        token = _to_token(token)
        interest = _to_interest(interest)
        owner = self._owner
        r = self._handle()
        try:
            rc = _L.swiftpoll_registry_register(r, fd, token, interest)
        finally:
            owner._leave()
        if rc < 0:
            raise _oserror(rc)

    def reregister(self, fileobj: FileLike, token: int, interest: Union[Interest, int]) -> None:
        """Replaces the token and interest of a registration (and re-arms a
        ONESHOT one).  FileNotFoundError if ``fileobj`` is not registered."""
        fd = _to_fd(fileobj)
        token = _to_token(token)
        interest = _to_interest(interest)
        owner = self._owner
        r = self._handle()
        try:
            rc = _L.swiftpoll_registry_reregister(r, fd, token, interest)
        finally:
            owner._leave()
        if rc < 0:
            raise _oserror(rc)

    def deregister(self, fileobj: FileLike) -> None:
        """Stops watching ``fileobj``; no later poll reports it.
        FileNotFoundError if it is not registered."""
        fd = _to_fd(fileobj)
        owner = self._owner
        r = self._handle()
        try:
            rc = _L.swiftpoll_registry_deregister(r, fd)
        finally:
            owner._leave()
        if rc < 0:
            raise _oserror(rc)

    def try_clone(self) -> "Registry":
        """An independent registry of the same poll (a duplicated epoll fd);
        it stays usable after the poll is closed.  Close it when done."""
        out = ctypes.c_void_p()
        owner = self._owner
        r = self._handle()
        try:
            rc = _L.swiftpoll_registry_try_clone(r, _byref(out))
        finally:
            owner._leave()
        if rc < 0:
            raise _oserror(rc)
        return Registry._owned(out.value or 0)

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        kind = "borrowed" if self._owner is not self else "cloned"
        return "<swiftpoll.Registry %s %s>" % (kind, state)


class Waker(_Guarded):
    """Makes a :meth:`Poll.poll` return an event with ``token`` (readable),
    from any thread or a signal handler.  One live waker per poll
    (FileExistsError otherwise).  Stays valid after the poll is closed (its
    wakes then go nowhere).  A context manager; close it when done.
    """

    __slots__ = ("token",)

    _kind = "Waker"

    def __init__(self, registry: Union[Registry, Poll], token: int) -> None:
        if isinstance(registry, Poll):
            registry = registry.registry
        if not isinstance(registry, Registry):
            raise TypeError("registry must be a Registry (or Poll), got %s" % type(registry).__name__)
        token = _to_token(token)
        out = ctypes.c_void_p()
        owner = registry._owner
        r = registry._handle()
        try:
            rc = _L.swiftpoll_waker_new(r, token, _byref(out))
        finally:
            owner._leave()
        if rc < 0:
            raise _oserror(rc)
        self.token = token
        self._init_handle(out.value or 0)

    def _free(self, ptr: int) -> None:
        _L.swiftpoll_waker_free(ptr)

    def wake(self) -> None:
        """Wakes the poll (wakes before a poll coalesce into one event).
        ValueError if the waker is closed."""
        users = self._users
        users.append(None)
        try:
            if self._closed:
                raise ValueError("I/O operation on closed Waker")
            rc = _L.swiftpoll_waker_wake(self._ptr)
        finally:
            users.pop()
            if self._closed and not users:
                self._destroy()
        if rc < 0:
            raise _oserror(rc)

    def __repr__(self) -> str:
        return "<swiftpoll.Waker token=%d%s>" % (getattr(self, "token", -1), " closed" if self.closed else "")
