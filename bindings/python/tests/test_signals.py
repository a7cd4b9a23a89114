"""PEP 475: an interrupted wait is retried with the remaining timeout,
signal handlers run in between, and a handler's exception propagates."""

import os
import signal
import threading
import time

import pytest

from swiftpoll import Events, Interest, Poll, Waker


@pytest.fixture
def alarm_handler():
    """Installs a SIGALRM handler; always disarms the timer and restores."""
    old = signal.getsignal(signal.SIGALRM)
    installed = []

    def install(fn):
        installed.append(fn)
        signal.signal(signal.SIGALRM, fn)

    yield install
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, old)


def test_interrupted_wait_is_retried_with_remaining_time(poll, events, alarm_handler):
    calls = []
    alarm_handler(lambda *a: calls.append(time.monotonic()))
    signal.setitimer(signal.ITIMER_REAL, 0.05, 0.05)  # every 50 ms
    t0 = time.monotonic()
    n = poll.poll(events, 0.4)
    elapsed = time.monotonic() - t0
    signal.setitimer(signal.ITIMER_REAL, 0)
    assert n == 0
    assert len(calls) >= 2  # handlers ran while the wait went on
    assert elapsed >= 0.4  # the whole timeout, not cut short by a signal
    assert all(t0 <= c for c in calls)


def test_handler_exception_propagates(poll, events, alarm_handler):
    class Boom(Exception):
        pass

    def handler(*a):
        raise Boom

    alarm_handler(handler)
    signal.setitimer(signal.ITIMER_REAL, 0.05)
    with pytest.raises(Boom):
        poll.poll(events, None)  # would block forever otherwise
    # the poll is still usable afterwards
    assert not poll.closed
    assert poll.poll(events, 0) == 0


def test_handler_exception_with_timeout(poll, events, alarm_handler):
    def handler(*a):
        raise KeyboardInterrupt

    alarm_handler(handler)
    signal.setitimer(signal.ITIMER_REAL, 0.05)
    with pytest.raises(KeyboardInterrupt):
        poll.poll(events, 30.0)


def test_wake_from_signal_handler(poll, events, alarm_handler):
    w = Waker(poll.registry, 77)
    alarm_handler(lambda *a: w.wake())
    signal.setitimer(signal.ITIMER_REAL, 0.05)
    assert poll.poll(events, None) == 1
    assert events[0].token == 77
    w.close()


def test_close_from_signal_handler_while_waiting(no_fd_leak, alarm_handler):
    p = Poll()
    ev = Events(4)
    alarm_handler(lambda *a: p.close())
    signal.setitimer(signal.ITIMER_REAL, 0.05)
    with pytest.raises(ValueError):
        p.poll(ev, None)
    assert p.closed


def test_registration_from_signal_handler(poll, events, pipe, alarm_handler):
    r, w = pipe
    os.write(w, b"x")
    alarm_handler(lambda *a: poll.registry.register(r, 5, Interest.READABLE))
    signal.setitimer(signal.ITIMER_REAL, 0.05)
    assert poll.poll(events, 30.0) == 1
    assert events[0].token == 5


def test_signals_to_main_thread_do_not_disturb_a_worker_wait(poll, alarm_handler):
    """A wait in another thread keeps its timeout while the main thread
    takes signals."""
    calls = []
    alarm_handler(lambda *a: calls.append(1))
    result = []

    def worker():
        t0 = time.monotonic()
        result.append(poll.poll(Events(4), 0.3))
        result.append(time.monotonic() - t0)

    t = threading.Thread(target=worker)
    t.start()
    signal.setitimer(signal.ITIMER_REAL, 0.02, 0.02)
    deadline = time.monotonic() + 10
    while t.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    signal.setitimer(signal.ITIMER_REAL, 0)
    t.join(5)
    assert result[0] == 0 and result[1] >= 0.3
    assert calls


def test_eintr_on_worker_thread_is_retried(poll, alarm_handler):
    """A signal delivered to the waiting thread itself (pthread_kill) gives
    EINTR there; the wait goes on until its timeout."""
    alarm_handler(lambda *a: None)
    result = []
    ready = threading.Event()

    def worker():
        ready.set()
        t0 = time.monotonic()
        result.append(poll.poll(Events(4), 0.3))
        result.append(time.monotonic() - t0)

    t = threading.Thread(target=worker)
    t.start()
    ready.wait(5)
    for _ in range(10):
        if not t.is_alive():
            break
        try:
            signal.pthread_kill(t.ident, signal.SIGALRM)
        except ProcessLookupError:
            break
        time.sleep(0.02)
    t.join(10)
    assert result[0] == 0 and result[1] >= 0.3
