"""The Python API on real kernel objects: pipes, socketpairs, TCP on
loopback, eventfds, threads."""

import os
import select
import socket
import threading
import time

import pytest

import swiftpoll
from swiftpoll import Event, Events, Interest, Poll, Waker

from conftest import BACKEND, EPOLL, by_token, epoll_only

R, W, P = Interest.READABLE, Interest.WRITABLE, Interest.PRIORITY


def test_library_and_versions():
    assert swiftpoll.ABI_VERSION == 1
    assert swiftpoll.library_version().count(".") == 2
    assert os.path.exists(swiftpoll.lib_path) or "libswiftpoll" in swiftpoll.lib_path
    env = os.environ.get("SWIFTPOLL_LIBRARY")
    if env:
        assert swiftpoll.lib_path == env


def test_interest_values_match_the_header():
    assert (int(R), int(W), int(P)) == (0x01, 0x02, 0x04)
    assert (int(Interest.EDGE), int(Interest.LEVEL), int(Interest.ONESHOT)) == (0, 0x100, 0x200)
    assert isinstance(R | W, Interest)
    assert (swiftpoll.EVENT_READABLE, swiftpoll.EVENT_WRITABLE, swiftpoll.EVENT_ERROR,
            swiftpoll.EVENT_READ_CLOSED, swiftpoll.EVENT_WRITE_CLOSED,
            swiftpoll.EVENT_PRIORITY) == (1, 2, 4, 8, 0x10, 0x20)


def test_pipe_readable_edge(poll, events, pipe):
    r, w = pipe
    poll.registry.register(r, 7, R)
    assert poll.poll(events, 0) == 0
    assert len(events) == 0 and events.is_empty()
    os.write(w, b"abc")
    assert poll.poll(events, 1.0) == 1
    (ev,) = list(events)
    assert ev.token == 7 and ev.readable and not ev.writable and not ev.error
    assert not ev.read_closed and not ev.write_closed and not ev.priority
    # edge-triggered: no new event until new data arrives; poll(2) reports
    # edge as level (docs/BACKENDS.md): the unread data again
    assert poll.poll(events, 0) == (0 if EPOLL else 1)
    os.write(w, b"d")
    assert poll.poll(events, 1.0) == 1
    assert os.read(r, 100) == b"abcd"


def test_level_reports_until_drained(poll, events, pipe):
    r, w = pipe
    poll.registry.register(r, 1, R | Interest.LEVEL)
    os.write(w, b"x")
    for _ in range(3):
        assert poll.poll(events, 1.0) == 1
        assert events[0].token == 1 and events[0].readable
    os.read(r, 1)
    assert poll.poll(events, 0) == 0


def test_oneshot_needs_reregister(poll, events, pipe):
    r, w = pipe
    poll.registry.register(r, 1, R | Interest.ONESHOT)
    os.write(w, b"x")
    assert poll.poll(events, 1.0) == 1
    os.write(w, b"y")
    assert poll.poll(events, 0) == 0  # disarmed
    poll.registry.reregister(r, 2, R | Interest.ONESHOT)
    assert poll.poll(events, 1.0) == 1
    assert events[0].token == 2


def test_reregister_changes_token_and_interest(poll, events, sockpair):
    a, b = sockpair
    poll.registry.register(a, 1, R)
    assert poll.poll(events, 0) == 0  # nothing to read, W not asked
    poll.registry.reregister(a, 2, W)
    assert poll.poll(events, 1.0) == 1
    ev = events[0]
    assert ev.token == 2 and ev.writable and not ev.readable


def test_deregister_stops_events(poll, events, pipe):
    r, w = pipe
    poll.registry.register(r, 1, R | Interest.LEVEL)
    os.write(w, b"x")
    assert poll.poll(events, 1.0) == 1
    poll.registry.deregister(r)
    assert poll.poll(events, 0) == 0
    poll.registry.register(r, 3, R)  # may be registered again
    assert poll.poll(events, 1.0) == 1 and events[0].token == 3


def test_fileobj_with_fileno_and_int_fd(poll, events, sockpair):
    a, b = sockpair
    poll.registry.register(a, 1, R)
    poll.registry.register(b.fileno(), 2, W)
    b.send(b"x")
    poll.poll(events, 1.0)
    got = by_token(events)
    assert got[1].readable
    assert got[2].writable


def test_peer_shutdown_is_read_closed(poll, events):
    srv = socket.create_server(("127.0.0.1", 0))
    c = socket.create_connection(srv.getsockname())
    s, _ = srv.accept()
    with srv, c, s:
        poll.registry.register(s, 5, R)
        c.shutdown(socket.SHUT_WR)
        assert poll.poll(events, 2.0) == 1
        ev = events[0]
        assert ev.token == 5 and ev.readable and ev.read_closed and not ev.write_closed
        assert ev.raw & select.EPOLLRDHUP


def test_pipe_hangups(poll, events, pipe):
    r, w = pipe
    poll.registry.register(r, 1, R)
    os.close(w)
    pipe.remove(w)
    assert poll.poll(events, 1.0) == 1
    assert events[0].read_closed and events[0].raw & select.EPOLLHUP

    r2, w2 = os.pipe()
    pipe.extend([r2, w2])
    poll.registry.register(w2, 2, W)
    poll.poll(events, 1.0)  # the initial writable edge
    os.close(r2)
    pipe.remove(r2)
    # poll(2): edge is level, so the hung-up r (token 1) is reported again
    assert poll.poll(events, 1.0) == (1 if EPOLL else 2)
    ev = by_token(events)[2]
    assert ev.error and ev.write_closed and ev.writable


def test_connect_refused_is_error(poll, events):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nobody listens there now
    s = socket.socket()
    s.setblocking(False)
    with s:
        try:
            s.connect(("127.0.0.1", port))
        except (BlockingIOError, ConnectionRefusedError):
            pass
        poll.registry.register(s, 9, W)
        assert poll.poll(events, 2.0) == 1
        ev = events[0]
        assert ev.error and ev.write_closed
        assert s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0 or ev.error


def test_priority_oob(poll, events):
    srv = socket.create_server(("127.0.0.1", 0))
    c = socket.create_connection(srv.getsockname())
    s, _ = srv.accept()
    with srv, c, s:
        poll.registry.register(s, 4, R | P)
        c.send(b"!", socket.MSG_OOB)
        assert poll.poll(events, 2.0) == 1
        ev = events[0]
        assert ev.priority and ev.readable and ev.raw & select.EPOLLPRI


def test_capacity_and_leftovers(poll):
    pipes = [os.pipe() for _ in range(10)]
    try:
        for i, (r, w) in enumerate(pipes):
            poll.registry.register(r, 100 + i, R)
            os.write(w, b"x")
        events = Events(4)
        seen = []
        counts = []
        for _ in range(5):
            n = poll.poll(events, 0)
            counts.append(n)
            seen.extend(ev.token for ev in events)
        if EPOLL:
            assert counts[:3] == [4, 4, 2] and counts[3:] == [0, 0]
            assert sorted(seen) == list(range(100, 110))
        else:  # level (edge reported as level); each wait starts after the last reported
            assert counts == [4] * 5
            assert sorted(set(seen[:12])) == list(range(100, 110))
    finally:
        for r, w in pipes:
            os.close(r)
            os.close(w)


def test_token_range(poll, events, pipe):
    r, w = pipe
    poll.registry.register(r, 2**64 - 1, R)
    os.write(w, b"x")
    poll.poll(events, 1.0)
    assert events[0].token == 2**64 - 1
    poll.registry.reregister(r, 0, R)
    poll.poll(events, 1.0)
    assert events[0].token == 0


def test_event_is_a_readable_tuple(poll, events, pipe):
    r, w = pipe
    poll.registry.register(r, 3, R)
    os.write(w, b"x")
    poll.poll(events, 1.0)
    ev = events[0]
    token, flags, raw = ev
    assert (token, flags) == (3, swiftpoll.EVENT_READABLE)
    assert isinstance(ev, Event) and isinstance(ev, tuple)
    assert repr(ev) == "Event(token=3, readable, raw=%#x)" % raw
    assert events[-1] == ev and events[0:1] == [ev]
    with pytest.raises(IndexError):
        events[1]
    assert list(events.raw_tuples()) == [(3, 1, raw)]
    assert list(events.pairs()) == [(3, 1)]
    assert "Events(capacity=64, len=1)" == repr(events)
    events.clear()
    assert len(events) == 0 and list(events) == []


def test_events_attributes():
    ev = Events(3)
    assert ev.capacity == 3 and len(ev) == 0 and list(ev) == []


def test_timeouts_return_zero(poll, events, sockpair):
    a, b = sockpair
    poll.registry.register(a, 1, R)
    assert poll.poll(events, 0) == 0
    assert poll.poll(events, 0.001) == 0
    assert poll.poll(events, 1e-9) == 0  # rounds up, never busy
    t0 = time.monotonic()
    assert poll.poll(events, 0.05) == 0
    assert time.monotonic() - t0 >= 0.05  # waits at least the timeout (a bound, not a speed)


def test_poll_blocks_until_event_from_thread(poll, events, sockpair):
    a, b = sockpair
    poll.registry.register(a, 1, R)
    t = threading.Timer(0.05, b.send, (b"x",))
    t.start()
    try:
        assert poll.poll(events, None) == 1
        assert events[0].token == 1
    finally:
        t.join()


def test_registration_during_wait_is_seen(poll, events, pipe):
    r, w = pipe
    os.write(w, b"x")
    reg = poll.registry
    t = threading.Timer(0.05, reg.register, (r, 11, R))
    t.start()
    try:
        assert poll.poll(events, 10.0) == 1
        assert events[0].token == 11
    finally:
        t.join()


def test_gil_released_while_waiting(poll):
    """Another Python thread keeps running while one thread waits."""
    waker = Waker(poll.registry, 99)
    started = threading.Event()
    result = []

    def waiter():
        ev = Events(4)
        started.set()
        result.append(poll.poll(ev, 30.0))
        result.append([e.token for e in ev])

    t = threading.Thread(target=waiter)
    t.start()
    started.wait(5)
    counter = 0
    deadline = time.monotonic() + 0.2
    while time.monotonic() < deadline:
        counter += 1
    assert t.is_alive()  # still waiting, yet this thread ran
    assert counter > 1000
    waker.wake()
    t.join(10)
    assert not t.is_alive()
    assert result == [1, [99]]
    waker.close()


def test_waker_coalesces_and_rearms(poll, events):
    w = Waker(poll.registry, 42)
    for _ in range(5):
        w.wake()
    assert poll.poll(events, 1.0) == 1 and events[0].token == 42 and events[0].readable
    assert poll.poll(events, 0) == 0
    w.wake()
    assert poll.poll(events, 1.0) == 1
    w.close()


def test_waker_from_threads(poll, events):
    w = Waker(poll, 1)  # a Poll is accepted for its registry
    threads = [threading.Thread(target=lambda: [w.wake() for _ in range(100)]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert poll.poll(events, 1.0) >= 1
    assert {e.token for e in events} == {1}
    w.close()


def test_one_waker_per_poll(poll):
    w = Waker(poll.registry, 1)
    with pytest.raises(FileExistsError):
        Waker(poll.registry, 2)
    clone = poll.registry.try_clone()
    with pytest.raises(FileExistsError):
        Waker(clone, 3)
    w.close()
    w2 = Waker(clone, 4)  # allowed again after close
    w2.close()
    clone.close()


def test_waker_context_manager(poll, events):
    with Waker(poll.registry, 8) as w:
        w.wake()
        assert poll.poll(events, 1.0) == 1
    assert w.closed
    with pytest.raises(ValueError):
        w.wake()


def test_try_clone_outlives_poll(events, pipe):
    r, w = pipe
    p = Poll()
    clone = p.registry.try_clone()
    assert clone is not None and not clone.closed
    p_fd = p.fileno() if EPOLL else 0  # poll(2) has no fd; its clones share the table
    p.close()
    assert p.closed
    # the clone still works on the (still living) epoll instance
    clone.register(r, 1, R)
    clone.reregister(r, 2, R)
    clone.deregister(r)
    clone2 = clone.try_clone()
    clone.close()
    clone2.close()
    assert clone.closed and clone2.closed
    assert p_fd >= 0


def test_clone_registers_for_the_poll(poll, events, pipe):
    r, w = pipe
    with poll.registry.try_clone() as clone:
        clone.register(r, 12, R)
        os.write(w, b"x")
        assert poll.poll(events, 1.0) == 1 and events[0].token == 12


@epoll_only("the poll(2) backend has no fd to nest (test_backends.py checks ENOTSUP)")
def test_fileno_is_an_epoll_fd_and_nests(poll, events, pipe):
    r, w = pipe
    fd = poll.fileno()
    assert os.readlink("/proc/self/fd/%d" % fd) == "anon_inode:[eventpoll]"
    assert os.get_inheritable(fd) is False  # close-on-exec
    outer = select.epoll()
    try:
        outer.register(fd, select.EPOLLIN)
        poll.registry.register(r, 1, R)
        assert outer.poll(0) == []
        os.write(w, b"x")
        assert outer.poll(1.0) == [(fd, select.EPOLLIN)]
    finally:
        outer.close()


def test_poll_context_manager_and_repr():
    with Poll() as p:
        assert not p.closed
        assert ("fd=" in repr(p)) == EPOLL and "backend=%s" % BACKEND in repr(p)
        assert "borrowed" in repr(p.registry)
    assert p.closed and "closed" in repr(p)
    with pytest.raises(ValueError):
        p.registry


def test_many_registrations(poll):
    socks = [socket.socketpair() for _ in range(300)]
    try:
        for i, (a, b) in enumerate(socks):
            poll.registry.register(a, i, R)
            b.send(b"x")
        events = Events(1024)
        assert poll.poll(events, 1.0) == 300
        assert sorted(e.token for e in events) == list(range(300))
    finally:
        for a, b in socks:
            a.close()
            b.close()


def test_same_events_with_two_polls(pipe):
    r, w = pipe
    ev = Events(8)
    with Poll() as p1, Poll() as p2:
        p1.registry.register(r, 1, R | Interest.LEVEL)
        p2.registry.register(r, 2, R | Interest.LEVEL)
        os.write(w, b"x")
        for _ in range(3):
            assert p1.poll(ev, 1.0) == 1 and ev[0].token == 1
            assert p2.poll(ev, 1.0) == 1 and ev[0].token == 2
            other = Events(2)
            assert p1.poll(other, 1.0) == 1 and other[0].token == 1


def test_bulk_decoders_agree(poll):
    pipes = [os.pipe() for _ in range(37)]
    try:
        for i, (r, w) in enumerate(pipes):
            poll.registry.register(r, 2**40 + i, R | W * (i % 2) | Interest.LEVEL)
            os.write(w, b"x")
        for cap in (1, 5, 64):
            ev = Events(cap)
            n = poll.poll(ev, 1.0)
            assert n == min(cap, 37) == len(ev)
            full = list(ev)
            assert [tuple(e) for e in full] == list(ev.raw_tuples())
            assert [(e.token, e.flags) for e in full] == list(ev.pairs())
            assert [ev[i] for i in range(n)] == full
    finally:
        for r, w in pipes:
            os.close(r)
            os.close(w)


def test_event_cache_stays_bounded_and_correct(poll, monkeypatch):
    from swiftpoll import _core
    monkeypatch.setattr(_core, "_EVENT_CACHE_MAX", 8)
    cache = _core._event_for.__self__
    cache.clear()
    pipes = [os.pipe() for _ in range(20)]
    try:
        for i, (r, w) in enumerate(pipes):
            poll.registry.register(r, 10**12 + i, R | Interest.LEVEL)
            os.write(w, b"x")
        ev = Events(32)
        for rnd in range(3):
            assert poll.poll(ev, 1.0) == 20
            got = sorted(e.token for e in ev)
            assert got == [10**12 + i for i in range(20)]
            assert all(e.readable and not e.writable for e in ev)
            assert len(cache) <= 8
    finally:
        cache.clear()
        for r, w in pipes:
            os.close(r)
            os.close(w)
