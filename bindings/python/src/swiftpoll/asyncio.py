"""asyncio on :class:`~swiftpoll.selectors.SwiftPollSelector`.

::

    import asyncio, swiftpoll.asyncio

    async def main():
        ...

    # Python 3.12+: asyncio's own way to choose a loop (preferred)
    asyncio.run(main(), loop_factory=swiftpoll.asyncio.new_event_loop)
    # any Python >= 3.9: the same, through asyncio.Runner on 3.11, by hand on 3.9/3.10
    swiftpoll.asyncio.run(main())
    loop = swiftpoll.asyncio.new_event_loop(backend="poll")   # over poll(2)
    swiftpoll.asyncio.install()   # the event loop policy (deprecated by Python 3.14)

The loop is a plain :class:`asyncio.SelectorEventLoop` whose selector is a
``SwiftPollSelector``: sockets, pipes, subprocesses, signals and timers
behave as on the default loop.
"""

from __future__ import annotations

import asyncio as _asyncio
import functools
import sys
import warnings
from typing import Any, Callable, Coroutine, Optional, TypeVar

from .selectors import SwiftPollSelector

__all__ = ["new_event_loop", "run", "SwiftPollEventLoopPolicy", "EventLoopPolicy", "install"]

_T = TypeVar("_T")

# CPython deprecates the event loop policies from 3.14 on (removal planned
# for 3.16); 3.9 to 3.13 have them without a warning.
_POLICIES_DEPRECATED = sys.version_info >= (3, 14)
with warnings.catch_warnings():  # 3.14+: asyncio.DefaultEventLoopPolicy itself warns
    warnings.simplefilter("ignore", DeprecationWarning)
    _DefaultPolicy: Any = getattr(_asyncio, "DefaultEventLoopPolicy", None)


def new_event_loop(backend: Optional[str] = None) -> _asyncio.AbstractEventLoop:
    """A new :class:`asyncio.SelectorEventLoop` over a :class:`SwiftPollSelector`
    (over ``backend``: None for the default, ``"epoll"``, ``"poll"``).

    It is a loop factory: ``asyncio.run(main(), loop_factory=new_event_loop)``
    on Python 3.12+, ``asyncio.Runner(loop_factory=new_event_loop)`` on 3.11+.
    """
    return _asyncio.SelectorEventLoop(SwiftPollSelector(backend=backend))


def _factory(backend: Optional[str]) -> Callable[[], _asyncio.AbstractEventLoop]:
    if backend is None:
        return new_event_loop
    return functools.partial(new_event_loop, backend)


if _DefaultPolicy is not None:

    class SwiftPollEventLoopPolicy(_DefaultPolicy):  # type: ignore[misc,valid-type]
        """The default policy, making its loops with :func:`new_event_loop`."""

        def __init__(self, backend: Optional[str] = None) -> None:
            super().__init__()
            self._swiftpoll_backend = backend

        def new_event_loop(self) -> _asyncio.AbstractEventLoop:
            return new_event_loop(self._swiftpoll_backend)

    EventLoopPolicy = SwiftPollEventLoopPolicy


def install(backend: Optional[str] = None) -> None:
    """Makes :class:`SwiftPollEventLoopPolicy` the current event loop policy,
    so that ``asyncio.run`` and ``asyncio.new_event_loop`` make swiftpoll loops.

    Python 3.14 deprecates event loop policies: there this warns
    (:class:`DeprecationWarning`) and still works; prefer
    ``asyncio.run(main(), loop_factory=swiftpoll.asyncio.new_event_loop)``.
    A Python without policies raises :class:`RuntimeError`.
    """
    if _DefaultPolicy is None:
        raise RuntimeError("this Python has no asyncio event loop policies: use "
                           "asyncio.run(main(), loop_factory=swiftpoll.asyncio.new_event_loop)")
    if _POLICIES_DEPRECATED:
        warnings.warn("swiftpoll.asyncio.install() sets an asyncio event loop policy, and "
                      "Python 3.14 deprecates them: use asyncio.run(main(), "
                      "loop_factory=swiftpoll.asyncio.new_event_loop)",
                      DeprecationWarning, stacklevel=2)
    with warnings.catch_warnings():  # ours above says it, where the caller is
        warnings.simplefilter("ignore", DeprecationWarning)
        _asyncio.set_event_loop_policy(SwiftPollEventLoopPolicy(backend))


def run(main: Coroutine[Any, Any, _T], *, debug: Optional[bool] = None,
        backend: Optional[str] = None) -> _T:
    """Like :func:`asyncio.run`, on a new swiftpoll loop: ``asyncio.run`` with
    ``loop_factory`` on Python 3.12+, :class:`asyncio.Runner` on 3.11, the same
    steps by hand on 3.9 and 3.10."""
    if _asyncio.events._get_running_loop() is not None:
        # before a loop is made (3.11's Runner would make one, then fail in close())
        raise RuntimeError("swiftpoll.asyncio.run() cannot be called from a running event loop")
    factory = _factory(backend)
    if sys.version_info >= (3, 12):
        return _asyncio.run(main, debug=debug, loop_factory=factory)
    if sys.version_info >= (3, 11):
        with _asyncio.Runner(debug=debug, loop_factory=factory) as runner:
            return runner.run(main)
    return _run_compat(main, debug, factory)


def _run_compat(main: Coroutine[Any, Any, _T], debug: Optional[bool],
                factory: Callable[[], _asyncio.AbstractEventLoop]) -> _T:
    # asyncio.run of 3.9/3.10 with a loop factory
    if not _asyncio.iscoroutine(main):
        raise ValueError("a coroutine was expected, got {!r}".format(main))
    loop = factory()
    try:
        _asyncio.set_event_loop(loop)
        if debug is not None:
            loop.set_debug(debug)
        return loop.run_until_complete(main)
    finally:
        try:
            tasks = _asyncio.all_tasks(loop)
            for t in tasks:
                t.cancel()
            if tasks:
                loop.run_until_complete(_asyncio.gather(*tasks, return_exceptions=True))
            for t in tasks:
                if not t.cancelled() and t.exception() is not None:
                    loop.call_exception_handler(
                        {"message": "unhandled exception during swiftpoll.asyncio.run() shutdown",
                         "exception": t.exception(), "task": t})
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            _asyncio.set_event_loop(None)
            loop.close()
