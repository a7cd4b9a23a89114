"""asyncio on :class:`~swiftpoll.selectors.SwiftPollSelector`.

::

    import swiftpoll.asyncio

    async def main():
        ...

    swiftpoll.asyncio.run(main())           # like asyncio.run, on our loop
    loop = swiftpoll.asyncio.new_event_loop()
    swiftpoll.asyncio.install()             # make it the default policy

The loop is a plain :class:`asyncio.SelectorEventLoop` whose selector is a
``SwiftPollSelector``: sockets, pipes, subprocesses, signals and timers
behave as on the default loop.
"""

from __future__ import annotations

import asyncio as _asyncio
import sys
from typing import Any, Coroutine, Optional, TypeVar

from .selectors import SwiftPollSelector

__all__ = ["new_event_loop", "run", "SwiftPollEventLoopPolicy", "EventLoopPolicy", "install"]

_T = TypeVar("_T")


def new_event_loop() -> _asyncio.AbstractEventLoop:
    """A new :class:`asyncio.SelectorEventLoop` over a :class:`SwiftPollSelector`."""
    return _asyncio.SelectorEventLoop(SwiftPollSelector())


class SwiftPollEventLoopPolicy(_asyncio.DefaultEventLoopPolicy):  # type: ignore[misc,valid-type]
    """The default policy, making its loops with :func:`new_event_loop`."""

    def new_event_loop(self) -> _asyncio.AbstractEventLoop:
        return new_event_loop()


EventLoopPolicy = SwiftPollEventLoopPolicy


def install() -> None:
    """Makes :class:`SwiftPollEventLoopPolicy` the current event loop policy."""
    _asyncio.set_event_loop_policy(SwiftPollEventLoopPolicy())


def run(main: Coroutine[Any, Any, _T], *, debug: Optional[bool] = None) -> _T:
    """Like :func:`asyncio.run`, on a new swiftpoll loop."""
    if sys.version_info >= (3, 12):
        return _asyncio.run(main, debug=debug, loop_factory=new_event_loop)
    if sys.version_info >= (3, 11):
        with _asyncio.Runner(debug=debug, loop_factory=new_event_loop) as runner:
            return runner.run(main)
    return _run_compat(main, debug)  # pragma: no cover - Python 3.9/3.10


def _run_compat(main: Coroutine[Any, Any, _T], debug: Optional[bool]) -> _T:  # pragma: no cover
    if _asyncio.events._get_running_loop() is not None:
        raise RuntimeError("run() cannot be called from a running event loop")
    if not _asyncio.iscoroutine(main):
        raise ValueError("a coroutine was expected, got {!r}".format(main))
    loop = new_event_loop()
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
