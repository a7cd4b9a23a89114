"""swiftpoll: a readiness poller in the model of Rust's mio, over Linux epoll
(or poll(2): ``Poll(backend="poll")``).

Python binding (ctypes) of libswiftpoll::

    import socket, swiftpoll
    from swiftpoll import Interest

    a, b = socket.socketpair()
    with swiftpoll.Poll() as poll:
        events = swiftpoll.Events(128)
        poll.registry.register(a, 1, Interest.READABLE)
        b.send(b"x")
        poll.poll(events, timeout=1.0)
        for ev in events:
            print(ev.token, ev.readable)   # 1 True

Submodules: :mod:`swiftpoll.selectors` (``SwiftPollSelector``, a
``selectors.BaseSelector``) and :mod:`swiftpoll.asyncio` (an asyncio event loop
on it).
"""

from __future__ import annotations

from ._core import (
    EVENT_ERROR,
    EVENT_PRIORITY,
    EVENT_READ_CLOSED,
    EVENT_READABLE,
    EVENT_WRITABLE,
    EVENT_WRITE_CLOSED,
    Event,
    Events,
    Interest,
    Poll,
    Registry,
    Waker,
    available_backends,
)
from ._lib import ABI_VERSION, lib_path, library_version

__version__ = "0.2.0"

__all__ = [
    "ABI_VERSION",
    "EVENT_ERROR",
    "EVENT_PRIORITY",
    "EVENT_READ_CLOSED",
    "EVENT_READABLE",
    "EVENT_WRITABLE",
    "EVENT_WRITE_CLOSED",
    "Event",
    "Events",
    "Interest",
    "Poll",
    "Registry",
    "Waker",
    "available_backends",
    "lib_path",
    "library_version",
]
