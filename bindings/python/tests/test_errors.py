"""Every error mapping: errno -> the stdlib's OSError subclass, closed
objects -> ValueError, bad arguments -> TypeError / ValueError."""

import errno
import math
import os
import resource
import socket
import tempfile
import threading
import time

import pytest

import swiftpoll
from swiftpoll import Events, Interest, Poll, Waker

from conftest import EPOLL, epoll_only

R, W = Interest.READABLE, Interest.WRITABLE


def _closed_fd():
    r, w = os.pipe()
    os.close(r)
    os.close(w)
    return r


def test_register_twice_is_file_exists(poll, pipe):
    poll.registry.register(pipe[0], 1, R)
    with pytest.raises(FileExistsError) as e:
        poll.registry.register(pipe[0], 2, R)
    assert e.value.errno == errno.EEXIST and e.value.strerror == os.strerror(errno.EEXIST)


def test_reregister_and_deregister_unknown_is_not_found(poll, pipe):
    with pytest.raises(FileNotFoundError) as e:
        poll.registry.reregister(pipe[0], 1, R)
    assert e.value.errno == errno.ENOENT
    with pytest.raises(FileNotFoundError):
        poll.registry.deregister(pipe[0])


def test_regular_file_is_permission_error(poll):
    with tempfile.TemporaryFile() as f:
        with pytest.raises(PermissionError) as e:
            poll.registry.register(f, 1, R)
        assert e.value.errno == errno.EPERM


def test_closed_fd_is_ebadf(poll):
    fd = _closed_fd()
    for call in (lambda: poll.registry.register(fd, 1, R),
                 lambda: poll.registry.reregister(fd, 1, R),
                 lambda: poll.registry.deregister(fd)):
        with pytest.raises(OSError) as e:
            call()
        assert e.value.errno == errno.EBADF and type(e.value) is OSError


@epoll_only("the poll(2) backend has no fd of its own")
def test_own_fd_is_einval(poll):
    with pytest.raises(OSError) as e:
        poll.registry.register(poll.fileno(), 1, R)
    assert e.value.errno == errno.EINVAL


@epoll_only("a loop of polls needs their fds")
def test_epoll_loop_is_eloop():
    with Poll() as a, Poll() as b:
        a.registry.register(b.fileno(), 1, R)
        with pytest.raises(OSError) as e:
            b.registry.register(a.fileno(), 2, R)
        assert e.value.errno == errno.ELOOP


def test_second_waiter_is_ebusy(poll):
    waker = Waker(poll.registry, 1)
    t = threading.Thread(target=lambda: poll.poll(Events(4), 30.0))
    t.start()
    seen = None
    mine = Events(4)
    deadline = time.monotonic() + 10
    try:
        while seen is None and time.monotonic() < deadline:
            try:
                poll.poll(mine, 0)
            except OSError as e:
                seen = e
            time.sleep(0.001)
    finally:
        waker.wake()
        t.join(10)
        waker.close()
    assert seen is not None and seen.errno == errno.EBUSY
    assert not t.is_alive()


def test_out_of_fds_is_emfile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    highest = max(int(x) for x in os.listdir("/proc/self/fd"))
    # fill every free fd below a low limit, then ask for one more
    resource.setrlimit(resource.RLIMIT_NOFILE, (highest + 1, hard))
    filler = []
    try:
        while True:
            try:
                filler.append(os.open("/dev/null", os.O_RDONLY))
            except OSError as e:
                assert e.errno == errno.EMFILE
                break
        with pytest.raises(OSError) as e:
            Poll()
        assert e.value.errno == errno.EMFILE
    finally:
        for fd in filler:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    # try_clone and Waker report it too
    with Poll() as p:
        highest = max(int(x) for x in os.listdir("/proc/self/fd"))
        resource.setrlimit(resource.RLIMIT_NOFILE, (highest + 1, hard))
        filler = []
        try:
            while True:
                try:
                    filler.append(os.open("/dev/null", os.O_RDONLY))
                except OSError:
                    break
            if EPOLL:
                with pytest.raises(OSError) as e:
                    p.registry.try_clone()
                assert e.value.errno == errno.EMFILE
                with pytest.raises(OSError) as e:
                    Waker(p.registry, 1)
                assert e.value.errno == errno.EMFILE
            else:  # poll(2): a clone shares the poll's table and the waker its notifier: no new fd
                p.registry.try_clone().close()
                Waker(p.registry, 1).close()
        finally:
            for fd in filler:
                os.close(fd)
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        Waker(p.registry, 1).close()  # the failed attempt left no waker behind


@pytest.mark.parametrize("token,exc", [
    ("1", TypeError), (1.0, TypeError), (None, TypeError),
    (-1, ValueError), (2**64, ValueError),
])
def test_bad_token(poll, pipe, token, exc):
    with pytest.raises(exc):
        poll.registry.register(pipe[0], token, R)
    with pytest.raises(exc):
        Waker(poll.registry, token)


@pytest.mark.parametrize("interest,exc", [
    (0, ValueError), (Interest.LEVEL, ValueError), (Interest.EDGE, ValueError),
    (0x400, ValueError), (-1, ValueError), (R | Interest.LEVEL | Interest.ONESHOT, ValueError),
    ("r", TypeError), (1.0, TypeError), (None, TypeError),
])
def test_bad_interest(poll, pipe, interest, exc):
    with pytest.raises(exc):
        poll.registry.register(pipe[0], 1, interest)
    poll.registry.register(pipe[0], 1, R)
    with pytest.raises(exc):
        poll.registry.reregister(pipe[0], 1, interest)


def test_valid_interests(poll, sockpair):
    a, _ = sockpair
    for i in (R, W, Interest.PRIORITY, R | W | Interest.PRIORITY, R | Interest.LEVEL,
              W | Interest.ONESHOT, R | Interest.EDGE, 0x103):
        poll.registry.register(a, 1, i)
        poll.registry.deregister(a)


@pytest.mark.parametrize("fileobj,exc", [
    (-1, ValueError), (2**31, ValueError), ("3", TypeError), (None, TypeError), (3.0, TypeError),
])
def test_bad_fd(poll, fileobj, exc):
    with pytest.raises(exc):
        poll.registry.register(fileobj, 1, R)
    with pytest.raises(exc):
        poll.registry.deregister(fileobj)


def test_closed_socket_object_is_value_error(poll):
    s = socket.socket()
    s.close()  # fileno() is -1 now
    with pytest.raises(ValueError):
        poll.registry.register(s, 1, R)


def test_fileno_returning_garbage(poll):
    class Bad:
        def fileno(self):
            return "nope"
    with pytest.raises(TypeError):
        poll.registry.register(Bad(), 1, R)


@pytest.mark.parametrize("timeout,exc", [
    (-1, ValueError), (-0.5, ValueError), (math.nan, ValueError), ("1", TypeError), (object(), TypeError),
])
def test_bad_timeout(poll, events, timeout, exc):
    with pytest.raises(exc):
        poll.poll(events, timeout)


def test_odd_but_valid_timeouts(poll, events):
    from fractions import Fraction
    assert poll.poll(events, Fraction(1, 1000)) == 0
    assert poll.poll(events, 0.0) == 0
    w = Waker(poll, 1)
    w.wake()
    assert poll.poll(events, math.inf) == 1  # inf blocks like None
    w.close()


@pytest.mark.parametrize("cap,exc", [(0, ValueError), (-1, ValueError), (1.5, TypeError),
                                      ("8", TypeError), (True, TypeError), (2**40, ValueError)])
def test_bad_capacity(cap, exc):
    with pytest.raises(exc):
        Events(cap)


def test_bad_events_argument(poll):
    with pytest.raises(TypeError):
        poll.poll([], 0)
    with pytest.raises(TypeError):
        poll.poll(None, 0)


def test_registry_cannot_be_made_directly():
    with pytest.raises(TypeError):
        swiftpoll.Registry()


def test_waker_needs_a_registry():
    with pytest.raises(TypeError):
        Waker(object(), 1)


def test_operations_on_a_closed_poll(pipe):
    p = Poll()
    reg = p.registry
    reg.register(pipe[0], 1, R)
    p.close()
    ev = Events(1)
    for call in (lambda: p.poll(ev, 0), p.fileno, lambda: p.registry,
                 lambda: reg.register(pipe[1], 1, W), lambda: reg.reregister(pipe[0], 1, R),
                 lambda: reg.deregister(pipe[0]), reg.try_clone, lambda: Waker(reg, 1)):
        with pytest.raises(ValueError):
            call()
    assert reg.closed
    reg.close()  # the borrowed registry's close does nothing, never fails


def test_operations_on_a_closed_clone(poll, pipe):
    c = poll.registry.try_clone()
    c.close()
    for call in (lambda: c.register(pipe[0], 1, R), lambda: c.deregister(pipe[0]), c.try_clone,
                 lambda: Waker(c, 1)):
        with pytest.raises(ValueError):
            call()
    poll.registry.register(pipe[0], 1, R)  # the poll is unaffected
