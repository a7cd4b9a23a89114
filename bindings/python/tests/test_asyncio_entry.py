"""The ways to run asyncio on swiftpoll, each on the running interpreter:
asyncio.run(loop_factory=) (3.12+), asyncio.Runner(loop_factory=) (3.11+),
swiftpoll.asyncio.run (every version: asyncio.run with loop_factory on 3.12+,
asyncio.Runner on 3.11, by hand on 3.9/3.10), and install(), the event loop
policy (no warning where CPython has policies without deprecating them,
a DeprecationWarning from 3.14 on)."""

import asyncio
import sys
import warnings

import pytest

import swiftpoll.asyncio as spa
from swiftpoll.selectors import SwiftPollSelector

from conftest import BACKEND

PY = sys.version_info[:2]


async def _main(result="ok"):
    loop = asyncio.get_running_loop()
    await asyncio.sleep(0)
    return result, type(loop._selector), loop._selector.backend, loop


def _check(got, result="ok", backend=BACKEND):
    value, selector, backend_seen, loop = got
    assert (value, selector, backend_seen) == (result, SwiftPollSelector, backend)
    assert loop.is_closed()


@pytest.mark.skipif(PY < (3, 12), reason="asyncio.run(loop_factory=) is Python 3.12+")
def test_asyncio_run_with_loop_factory():
    """The preferred spelling on 3.12+."""
    _check(asyncio.run(_main(), loop_factory=spa.new_event_loop))


@pytest.mark.skipif(PY < (3, 11), reason="asyncio.Runner is Python 3.11+")
def test_asyncio_runner_with_loop_factory():
    with asyncio.Runner(loop_factory=spa.new_event_loop) as runner:
        got = runner.run(_main("one"))
        assert runner.run(_main("two"))[3] is got[3]  # one loop for the runner's life
    _check(got, "one")


def test_swiftpoll_run_on_every_version(monkeypatch):
    """swiftpoll.asyncio.run goes through what this Python offers."""
    calls = []
    if PY >= (3, 12):
        real = asyncio.run
        monkeypatch.setattr(asyncio, "run", lambda *a, **k: calls.append(k) or real(*a, **k))
    elif PY >= (3, 11):
        real_runner = asyncio.Runner

        class Spy(real_runner):
            def __init__(self, **k):
                calls.append(k)
                super().__init__(**k)

        monkeypatch.setattr(asyncio, "Runner", Spy)
    got = spa.run(_main(), debug=True)
    _check(got)
    if PY >= (3, 11):
        assert len(calls) == 1 and calls[0]["loop_factory"] is spa.new_event_loop
        assert calls[0]["debug"] is True
    else:
        assert not hasattr(asyncio, "Runner")  # 3.9/3.10: the same steps by hand


def test_swiftpoll_run_over_a_backend():
    _check(spa.run(_main(), backend="poll"), backend="poll")
    _check(spa.run(_main(), backend="epoll"), backend="epoll")


def test_swiftpoll_run_errors_as_asyncio_run():
    async def inner():
        coro = _main()
        try:
            spa.run(coro)
        finally:
            coro.close()

    with pytest.raises(RuntimeError, match="cannot be called from a running event loop"):
        spa.run(inner())
    with pytest.raises((ValueError, TypeError)):
        spa.run(42)  # not a coroutine
    with pytest.raises(ValueError, match="unknown backend"):
        coro = _main()
        try:
            spa.run(coro, backend="nope")
        finally:
            coro.close()


def test_swiftpoll_run_cancels_leftover_tasks_and_closes():
    seen = {}

    async def main():
        async def forever():
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                seen["cancelled"] = True
                raise

        seen["task"] = asyncio.get_running_loop().create_task(forever())
        await asyncio.sleep(0)
        return 7

    assert spa.run(main()) == 7
    assert seen["cancelled"] and seen["task"].cancelled()


def _install_and_run(**kw):
    old = asyncio.get_event_loop_policy()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            spa.install(**kw)
        got = asyncio.run(_main())  # the plain spelling, through the policy
        loop = asyncio.new_event_loop()
        try:
            assert isinstance(loop._selector, SwiftPollSelector)
        finally:
            loop.close()
        return caught, got
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            asyncio.set_event_loop_policy(old)


@pytest.mark.skipif(PY >= (3, 14), reason="Python 3.14 deprecates event loop policies")
def test_install_works_without_a_warning_where_policies_are_not_deprecated():
    caught, got = _install_and_run()
    assert [w for w in caught if issubclass(w.category, DeprecationWarning)] == []
    _check(got)
    caught, got = _install_and_run(backend="poll")
    _check(got, backend="poll")


@pytest.mark.skipif(PY < (3, 14), reason="event loop policies are deprecated from Python 3.14")
def test_install_warns_where_python_deprecates_policies():
    caught, got = _install_and_run()
    dep = [w for w in caught if issubclass(w.category, DeprecationWarning)]
    assert len(dep) == 1 and "loop_factory" in str(dep[0].message)
    assert dep[0].filename == __file__  # attributed to the caller
    _check(got)
