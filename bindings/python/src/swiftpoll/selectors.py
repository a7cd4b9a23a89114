"""``SwiftPollSelector``: a :class:`selectors.BaseSelector` on libswiftpoll.

A drop-in for :class:`selectors.EpollSelector` (and ``DefaultSelector``)::

    from swiftpoll.selectors import SwiftPollSelector
    sel = SwiftPollSelector()
    sel.register(sock, selectors.EVENT_READ, data)
    for key, mask in sel.select(timeout=1.0): ...

Registrations are level-triggered, as :mod:`selectors` and :mod:`asyncio`
expect; each fd is registered with itself as the token.  The behaviour
follows CPython's ``_PollLikeSelector``/``EpollSelector``, and CPython's own
``test.test_selectors`` suite passes on it.
"""

from __future__ import annotations

import selectors as _selectors
from typing import Any, Dict, List, Optional, Tuple

from . import _core
from ._core import Events, Poll

__all__ = ["SwiftPollSelector", "DefaultSelector"]

EVENT_READ = _selectors.EVENT_READ
EVENT_WRITE = _selectors.EVENT_WRITE

_L = _core._L
_LEVEL = 0x100
_unpack = _core._unpack
_wait_args_fn = _core._wait_args_fn
_INITIAL_CAPACITY = 64


def _selector_mask(flags: int) -> int:
    # As EpollSelector does with the raw bits: anything but "readable" also
    # wakes writers (errors, hang-ups), anything but "writable" wakes readers.
    events = 0
    if flags & ~_core.EVENT_READABLE:
        events |= EVENT_WRITE
    if flags & ~_core.EVENT_WRITABLE:
        events |= EVENT_READ
    return events


_MASKS = tuple(_selector_mask(f) for f in range(64))


def _interest(events: int) -> int:
    interest = _LEVEL
    if events & EVENT_READ:
        interest |= 0x01
    if events & EVENT_WRITE:
        interest |= 0x02
    return interest


class SwiftPollSelector(_selectors._BaseSelectorImpl):  # type: ignore[name-defined]
    """Selector over a swiftpoll :class:`~swiftpoll.Poll`, level-triggered.

    ``backend``: None (the default: epoll, or ``$SWIFTPOLL_BACKEND``),
    ``"epoll"`` or ``"poll"``; as for :class:`~swiftpoll.Poll`, an unknown
    name is a ValueError and one not available here OSError(ENOTSUP).
    """

    _fd_to_key: Dict[int, _selectors.SelectorKey]  # from _BaseSelectorImpl
    _fileobj_lookup: Any

    def __init__(self, backend: Optional[str] = None) -> None:
        super().__init__()
        self._poll = Poll(backend)
        self._users = self._poll._users  # the poll's use count (see swiftpoll._core)
        self._set_capacity(_INITIAL_CAPACITY)

    def _set_capacity(self, capacity: int) -> None:
        # select() must see every ready fd at once, as EpollSelector does
        # (maxevents = number of registrations): grow with the registrations.
        events = Events(capacity)
        b = self._poll._bind(events)  # wait args for (poll, events), made once
        users = self._users
        self._events = events
        # everything select() needs, in one attribute
        self._hot = (b, self._poll, users, users.append, users.pop, events._q, events._i)

    @property
    def fileno(self) -> Any:
        """``fileno()``: the epoll fd.  Over poll(2) there is none and, as on
        :class:`selectors.PollSelector`, no ``fileno`` attribute at all
        (``hasattr(sel, "fileno")`` is False)."""
        poll = self._poll
        if poll._fd < 0:
            raise AttributeError("a SwiftPollSelector over the %s backend has no fileno()"
                                 % poll._backend)
        return poll.fileno

    @property
    def backend(self) -> str:
        """The backend of the selector's poll: ``"epoll"`` or ``"poll"``."""
        return self._poll.backend

    def _ctl(self, fn: Any, fd: int, interest: int) -> None:
        poll = self._poll
        poll._enter()
        try:
            rc = fn(poll._rptr, fd, fd, interest)
        finally:
            poll._leave()
        if rc < 0:
            raise _core._oserror(rc)

    def register(self, fileobj: Any, events: int, data: Any = None) -> _selectors.SelectorKey:
        key = super().register(fileobj, events, data)
        try:
            self._ctl(_L.swiftpoll_registry_register, key.fd, _interest(events))
        except BaseException:
            super().unregister(fileobj)
            raise
        cap = self._events._capacity
        if len(self._fd_to_key) > cap:
            self._set_capacity(cap * 2)
        return key

    def unregister(self, fileobj: Any) -> _selectors.SelectorKey:
        key = super().unregister(fileobj)
        poll = self._poll
        try:
            poll._enter()
        except ValueError:  # closed selector: nothing registered any more
            return key
        try:
            # an error here means the fd was closed since it was registered
            _L.swiftpoll_registry_deregister(poll._rptr, key.fd)
        finally:
            poll._leave()
        return key

    def modify(self, fileobj: Any, events: int, data: Any = None) -> _selectors.SelectorKey:
        try:
            key = self._fd_to_key[self._fileobj_lookup(fileobj)]
        except KeyError:
            raise KeyError(f"{fileobj!r} is not registered") from None

        changed = False
        if events != key.events:
            if not events or events & ~(EVENT_READ | EVENT_WRITE):
                raise ValueError("Invalid events: {!r}".format(events))
            try:
                self._ctl(_L.swiftpoll_registry_reregister, key.fd, _interest(events))
            except BaseException:
                super().unregister(fileobj)
                raise
            changed = True
        if data != key.data:
            changed = True

        if changed:
            key = key._replace(events=events, data=data)
            self._fd_to_key[key.fd] = key
        return key

    def select(self, timeout: Optional[float] = None) -> List[Tuple[_selectors.SelectorKey, int]]:
        if timeout is None:
            ns = -1
        elif timeout <= 0:
            ns = 0
        else:
            fns = timeout * 1e9
            if fns < 9.2e18:
                ns = int(fns)
                if ns != fns:
                    ns += 1  # ceil, >= 1: never a busy loop
            else:
                ns = -1
        # Poll.poll inlined: this is the hot path of every asyncio iteration
        b, poll, users, enter, leave, q, i4 = self._hot
        enter(None)
        try:
            if poll._closed:
                raise ValueError("I/O operation on closed selector")
            if ns != b.ns:
                b.args.timeout_ns = b.ns = ns
            n = _wait_args_fn(b.ref)
            if n < 0:
                n = poll._retry(b, n, ns)  # EINTR: PEP 475 retry, others raise
        finally:
            leave()
            if poll._closed and not users:
                poll._destroy()
        if n == 1:
            key = self._fd_to_key.get(q[0])
            if key:
                return [(key, _MASKS[i4[2] & 63] & key.events)]
            return []
        ready = []
        if n:
            fd_to_key = self._fd_to_key
            masks = _MASKS
            # (a poll closed by another thread meanwhile reports its private
            # wake-up token, which is no key: ignored, as EpollSelector would)
            for fd, flags, _raw in _unpack(self._events._mv[: n * 16]):
                key = fd_to_key.get(fd)
                if key:
                    ready.append((key, masks[flags & 63] & key.events))
        return ready

    def close(self) -> None:
        self._poll.close()
        super().close()


DefaultSelector = SwiftPollSelector
