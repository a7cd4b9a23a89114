"""Misuse in any order never crashes the interpreter and never leaks an fd:
use after close, double close, close from another thread while waiting,
garbage-collected objects with live wakers and clones, racing threads."""

import gc
import random
import socket
import threading
import time

import pytest

from swiftpoll import Events, Interest, Poll, Waker

from conftest import EPOLL

R, W = Interest.READABLE, Interest.WRITABLE


def test_double_close_everything(no_fd_leak):
    p = Poll()
    c = p.registry.try_clone()
    w = Waker(p.registry, 1)
    for obj in (p, c, w):
        obj.close()
        obj.close()
        assert obj.closed


def test_close_order_does_not_matter(no_fd_leak):
    for order in ([0, 1, 2], [2, 1, 0], [1, 0, 2], [1, 2, 0], [2, 0, 1], [0, 2, 1]):
        p = Poll()
        objs = [p, p.registry.try_clone(), Waker(p.registry, 5)]
        for i in order:
            objs[i].close()
        with pytest.raises(ValueError):
            objs[2].wake()


def test_waker_outlives_poll(no_fd_leak):
    p = Poll()
    w = Waker(p.registry, 1)
    p.close()
    w.wake()  # goes nowhere, but never fails
    w.wake()
    w.close()


def test_gc_poll_with_live_waker_and_clone(no_fd_leak, pipe):
    p = Poll()
    w = Waker(p.registry, 1)
    c = p.registry.try_clone()
    del p
    gc.collect()
    w.wake()
    c.register(pipe[0], 1, R)  # the epoll instance lives on through the clone
    del c, w
    gc.collect()


def test_gc_everything(no_fd_leak):
    for _ in range(50):
        p = Poll()
        Waker(p.registry, 1)  # dropped at once
        w = Waker(p.registry, 2)
        reg = p.registry
        reg.try_clone()
        ev = Events(4)
        w.wake()
        assert p.poll(ev, 1.0) == 1
        del p, w, reg, ev
    gc.collect()


def test_borrowed_registry_keeps_poll_alive(no_fd_leak, pipe):
    reg = Poll().registry  # the Poll object itself is not referenced any more
    gc.collect()
    reg.register(pipe[0], 1, R)
    assert not reg.closed
    del reg
    gc.collect()


def test_close_from_another_thread_while_waiting(no_fd_leak):
    p = Poll()
    started = threading.Event()
    outcome = []

    def waiter():
        ev = Events(4)
        started.set()
        try:
            p.poll(ev, None)  # blocks forever unless woken
            outcome.append("returned")
        except ValueError as e:
            outcome.append(e)

    t = threading.Thread(target=waiter)
    t.start()
    started.wait(5)
    time.sleep(0.05)  # let it enter the wait (correct either way)
    p.close()
    t.join(10)
    assert not t.is_alive(), "close() did not end the wait"
    assert len(outcome) == 1 and isinstance(outcome[0], ValueError)
    assert p.closed
    with pytest.raises(ValueError):
        p.poll(Events(1), 0)


def test_close_while_waiting_with_user_waker(no_fd_leak):
    """The close wake-up works although the user's waker holds the one
    waker slot of the poll."""
    p = Poll()
    w = Waker(p.registry, 1)
    t = threading.Thread(target=lambda: pytest.raises(ValueError, p.poll, Events(2), None))
    t.start()
    time.sleep(0.05)
    p.close()
    t.join(10)
    assert not t.is_alive()
    w.wake()
    w.close()


def test_close_races_with_busy_threads(no_fd_leak):
    """Threads hammer a poll (register/deregister/poll/wake/clone) while it is
    closed under them: every call either works or raises ValueError."""
    rng = random.Random(1234)
    socks = [socket.socketpair() for _ in range(8)]
    try:
        for rnd in range(15):
            p = Poll()
            w = Waker(p.registry, 1000)
            errors = []
            stop = threading.Event()

            def worker(seed):
                r = random.Random(seed)
                ev = Events(8)
                for _ in range(2000):
                    if stop.is_set():
                        break
                    a, _b = socks[r.randrange(len(socks))]
                    op = r.randrange(6)
                    try:
                        if op == 0:
                            p.registry.register(a, 1, R | W)
                        elif op == 1:
                            p.registry.deregister(a)
                        elif op == 2:
                            p.poll(ev, 0.001)
                        elif op == 3:
                            w.wake()
                        elif op == 4:
                            p.registry.try_clone().close()
                        else:
                            p.registry.reregister(a, 2, R)
                    except ValueError:
                        break  # closed: what must happen sooner or later
                    except OSError:
                        pass  # EEXIST / ENOENT / EBUSY from the random order
                    except Exception as e:  # pragma: no cover
                        errors.append(e)
                        break

            threads = [threading.Thread(target=worker, args=(rng.random(),)) for _ in range(3)]
            for t in threads:
                t.start()
            time.sleep(rng.random() * 0.02)
            p.close()
            stop.set()
            for t in threads:
                t.join(10)
            w.close()
            assert not any(t.is_alive() for t in threads)
            assert errors == []
    finally:
        for a, b in socks:
            a.close()
            b.close()


def test_waker_closed_while_other_threads_wake(no_fd_leak):
    for _ in range(20):
        p = Poll()
        w = Waker(p.registry, 1)
        bad = []

        def waker_loop():
            for _ in range(500):
                try:
                    w.wake()
                except ValueError:
                    return
                except Exception as e:  # pragma: no cover
                    bad.append(e)
                    return

        ts = [threading.Thread(target=waker_loop) for _ in range(2)]
        for t in ts:
            t.start()
        w.close()
        for t in ts:
            t.join(10)
        p.close()
        assert bad == []


def test_fd_closed_while_registered(poll, events):
    a, b = socket.socketpair()
    poll.registry.register(a, 1, R | Interest.LEVEL)
    b.send(b"x")
    a.close()
    b.close()
    if EPOLL:
        assert poll.poll(events, 0) == 0  # the kernel dropped it
    else:  # poll(2): POLLNVAL, reported once as an error, then disarmed
        assert poll.poll(events, 0) == 1 and events[0].token == 1 and events[0].error
        assert poll.poll(events, 0) == 0
    fd = a.fileno()
    assert fd == -1


def test_events_reused_after_poll_closed(no_fd_leak):
    ev = Events(4)
    for _ in range(3):
        with Poll() as p:
            w = Waker(p, 1)
            w.wake()
            assert p.poll(ev, 1.0) == 1
            w.close()
    assert [e.token for e in ev] == [1]


def test_no_fd_leak_on_errors(no_fd_leak, pipe):
    p = Poll()
    for _ in range(100):
        with pytest.raises(FileNotFoundError):
            p.registry.deregister(pipe[0])
        with pytest.raises(ValueError):
            p.registry.register(pipe[0], 1, 0)
    w = Waker(p, 1)
    for _ in range(20):
        with pytest.raises(FileExistsError):
            Waker(p, 2)
    w.close()
    p.close()
