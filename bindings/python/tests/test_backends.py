"""The backend parameter (issue 8): every Linux backend through each entry
point, whatever $SWIFTPOLL_BACKEND says, and the poll(2) fallback's promises
that mio's own fallback breaks (mio#1874, mio PR #2012)."""

import asyncio
import errno
import os
import selectors
import subprocess
import sys
import threading
import time

import pytest

import swiftpoll
import swiftpoll.asyncio as spa
from swiftpoll import Events, Interest, Poll, Waker
from swiftpoll.selectors import SwiftPollSelector

from conftest import BACKEND, by_token

R = Interest.READABLE
LINUX = ("epoll", "poll")
SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")


def test_linux_has_epoll_and_poll():
    assert swiftpoll.available_backends() == LINUX


def test_default_is_the_runs_backend():
    with Poll() as a, Poll(None) as b, Poll("default") as c:
        assert a.backend == b.backend == c.backend == BACKEND
    expected = os.environ.get("SWIFTPOLL_BACKEND") or "epoll"
    assert BACKEND == expected


@pytest.mark.parametrize("name", LINUX)
def test_poll_over_each_backend(name, sockpair, no_fd_leak):
    a, b = sockpair
    with Poll(backend=name) as p:
        assert p.backend == name and ("backend=%s" % name) in repr(p)
        ev = Events(8)
        p.registry.register(a, 3, R | Interest.WRITABLE)
        b.send(b"x")
        assert p.poll(ev, 2.0) == 1
        assert ev[0].token == 3 and ev[0].readable and ev[0].writable
        p.registry.deregister(a)
        assert p.poll(ev, 0) == 0


@pytest.mark.parametrize("bad", ["", "EPOLL", "select", "epoll ", "kqueue2"])
def test_unknown_backend_is_valueerror(bad, no_fd_leak):
    for make in (Poll, SwiftPollSelector, spa.new_event_loop):
        with pytest.raises(ValueError, match="unknown backend"):
            make(backend=bad)


@pytest.mark.parametrize("bad", [1, b"poll", 2.0])
def test_backend_must_be_a_str(bad):
    with pytest.raises(TypeError):
        Poll(backend=bad)


def test_kqueue_is_enotsup_on_linux(no_fd_leak):
    for make in (Poll, SwiftPollSelector, spa.new_event_loop):
        with pytest.raises(OSError) as e:
            make(backend="kqueue")
        assert e.value.errno == errno.ENOTSUP and "kqueue" in str(e.value)


def test_fileno_per_backend():
    with Poll("epoll") as p:
        assert os.readlink("/proc/self/fd/%d" % p.fileno()) == "anon_inode:[eventpoll]"
    with Poll("poll") as p:
        with pytest.raises(OSError) as e:
            p.fileno()
        assert e.value.errno == errno.ENOTSUP
    with SwiftPollSelector(backend="epoll") as s:
        assert s.fileno() >= 0
    with SwiftPollSelector(backend="poll") as s:
        # as selectors.PollSelector: no fileno at all
        assert not hasattr(s, "fileno") and not hasattr(selectors.PollSelector(), "fileno")


@pytest.mark.parametrize("name", LINUX)
def test_selector_over_each_backend(name, sockpair):
    a, b = sockpair
    with SwiftPollSelector(backend=name) as sel:
        assert sel.backend == name
        sel.register(a, selectors.EVENT_READ, "data")
        assert sel.select(0) == []
        b.send(b"x")
        [(key, mask)] = sel.select(2.0)
        assert key.data == "data" and mask == selectors.EVENT_READ


@pytest.mark.parametrize("name", LINUX)
def test_event_loop_over_each_backend(name):
    async def echo():
        async def handle(r, w):
            w.write(await r.readline())
            await w.drain()
            w.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(b"ping\n")
        line = await r.readline()
        w.close()
        server.close()
        await server.wait_closed()
        return asyncio.get_running_loop()._selector.backend, line

    loop = spa.new_event_loop(backend=name)
    try:
        assert loop.run_until_complete(asyncio.wait_for(echo(), 30)) == (name, b"ping\n")
    finally:
        loop.close()
    assert spa.run(echo(), backend=name) == (name, b"ping\n")


def _python(code, **env):
    e = dict(os.environ, PYTHONPATH=SRC)
    e.pop("SWIFTPOLL_BACKEND", None)
    e.update(env)
    return subprocess.run([sys.executable, "-c", code], env=e, capture_output=True, text=True,
                          timeout=60)


def test_environment_variable_picks_the_default():
    p = _python("import swiftpoll; print(swiftpoll.Poll().backend, swiftpoll.Poll('epoll').backend)",
                SWIFTPOLL_BACKEND="poll")
    assert p.returncode == 0 and p.stdout.split() == ["poll", "epoll"], p.stderr
    p = _python("import swiftpoll; print(swiftpoll.Poll().backend)")
    assert p.returncode == 0 and p.stdout.split() == ["epoll"], p.stderr


@pytest.mark.parametrize("value", ["bogus", "kqueue"])
def test_bad_environment_variable_is_einval_never_another_backend(value):
    p = _python(
        "import errno, swiftpoll\n"
        "try:\n    swiftpoll.Poll()\n"
        "except OSError as e:\n    print(e.errno == errno.EINVAL, e)\n"
        "print(swiftpoll.Poll('poll').backend)\n",  # an explicit choice still works
        SWIFTPOLL_BACKEND=value)
    assert p.returncode == 0, p.stderr
    first, second = p.stdout.splitlines()
    assert first.startswith("True ") and "SWIFTPOLL_BACKEND=%r" % value in first
    assert second == "poll"


@pytest.mark.parametrize("name", LINUX)
def test_registration_from_another_thread_during_a_blocking_wait(name, pipe):
    r, w = pipe
    os.write(w, b"x")  # already readable: registering it must end the wait
    with Poll(name) as p:
        ev = Events(4)
        got = []
        t = threading.Thread(target=lambda: got.append((p.poll(ev, 30.0), time.monotonic())))
        t.start()
        time.sleep(0.1)  # most likely blocked by now; either way the event must come
        p.registry.register(r, 8, R)
        t.join(30)
        assert not t.is_alive() and got[0][0] == 1 and ev[0].token == 8


@pytest.mark.parametrize("name", LINUX)
def test_deregister_keeps_a_pending_wake(name, pipe):
    """mio#1874: over poll(2), a deregister drained a pending user wake."""
    r, _ = pipe
    with Poll(name) as p, Waker(p, 99) as waker:
        ev = Events(4)
        p.registry.register(r, 1, R)
        waker.wake()
        p.registry.deregister(r)
        assert p.poll(ev, 5.0) == 1 and ev[0].token == 99


@pytest.mark.parametrize("name", LINUX)
def test_reregister_and_deregister_after_hangup(name, pipe):
    """mio PR #2012: over poll(2), an fd was dropped after POLLHUP, so a later
    reregister/deregister failed."""
    r, w = pipe
    with Poll(name) as p:
        ev = Events(4)
        p.registry.register(r, 1, R)
        os.close(w)
        pipe.remove(w)
        assert p.poll(ev, 2.0) == 1 and ev[0].read_closed
        p.registry.reregister(r, 2, R | Interest.LEVEL)
        assert p.poll(ev, 2.0) == 1 and by_token(ev)[2].read_closed
        p.registry.deregister(r)
        assert p.poll(ev, 0) == 0
        with pytest.raises(FileNotFoundError):
            p.registry.deregister(r)
