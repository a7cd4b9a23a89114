"""SwiftPollSelector specifics beyond CPython's suite: it reports what
EpollSelector reports, grows with its registrations, and survives being
closed from another thread."""

import os
import selectors
import socket
import threading
import time
import unittest.mock

import pytest

from swiftpoll.selectors import DefaultSelector, SwiftPollSelector

from conftest import epoll_only

RW = selectors.EVENT_READ | selectors.EVENT_WRITE


def _ready(sel, timeout=1.0):
    return sorted((key.fd, mask) for key, mask in sel.select(timeout))


def _both():
    return SwiftPollSelector(), selectors.EpollSelector()


def test_default_alias():
    assert DefaultSelector is SwiftPollSelector


def test_same_as_epoll_selector_on_hangups_and_errors():
    ours, std = _both()
    r1, w1 = os.pipe()
    r2, w2 = os.pipe()
    a, b = socket.socketpair()
    try:
        for sel in (ours, std):
            sel.register(r1, selectors.EVENT_READ)
            sel.register(w2, RW)
            sel.register(a, RW)
        os.write(w1, b"x")
        os.close(w1)   # r1: readable + hang-up
        os.close(r2)   # w2: error
        b.shutdown(socket.SHUT_WR)  # a: peer shut down
        assert _ready(ours) == _ready(std)
        assert len(_ready(ours)) == 3
    finally:
        ours.close()
        std.close()
        for fd in (r1, w2):
            os.close(fd)
        a.close()
        b.close()


def test_grows_past_initial_capacity():
    sel = SwiftPollSelector()
    pairs = [socket.socketpair() for _ in range(300)]
    try:
        for a, b in pairs:
            sel.register(a, selectors.EVENT_READ)
            b.send(b"x")
        assert len(sel.select(1.0)) == 300  # all at once, as EpollSelector
        for a, _ in pairs[:250]:
            sel.unregister(a)
        assert len(sel.select(1.0)) == 50
    finally:
        sel.close()
        for a, b in pairs:
            a.close()
            b.close()


def test_modify_failure_unregisters():
    """CPython's test_modify_unregister only patches stdlib selectors: the
    same property for ours (bpo-30014)."""
    sel = SwiftPollSelector()
    a, b = socket.socketpair()
    try:
        sel.register(a, selectors.EVENT_READ)
        with unittest.mock.patch.object(sel, "_ctl", side_effect=ZeroDivisionError):
            with pytest.raises(ZeroDivisionError):
                sel.modify(a, selectors.EVENT_WRITE)
        assert len(sel.get_map()) == 0
    finally:
        sel.close()
        a.close()
        b.close()


def test_modify_data_only_and_events():
    sel = SwiftPollSelector()
    a, b = socket.socketpair()
    try:
        k1 = sel.register(a, selectors.EVENT_READ, "one")
        k2 = sel.modify(a, selectors.EVENT_READ, "two")
        assert k2.data == "two" and k2.events == k1.events
        sel.modify(a, selectors.EVENT_WRITE)
        assert [(k.fileobj, m) for k, m in sel.select(1.0)] == [(a, selectors.EVENT_WRITE)]
        with pytest.raises(ValueError):
            sel.modify(a, 0)
        with pytest.raises(KeyError):
            sel.modify(b, selectors.EVENT_READ)
    finally:
        sel.close()
        a.close()
        b.close()


def test_unregister_closed_fd_is_quiet():
    sel = SwiftPollSelector()
    a, b = socket.socketpair()
    sel.register(a, selectors.EVENT_READ)
    a.close()
    b.close()
    key = sel.unregister(a)  # found by object (fileno() is -1); the kernel dropped the fd already
    assert key.fileobj is a and len(sel.get_map()) == 0
    sel.close()


def test_select_after_close_raises():
    sel = SwiftPollSelector()
    sel.close()
    with pytest.raises((ValueError, RuntimeError)):
        sel.select(0)
    sel.close()


def test_close_from_another_thread_while_selecting(no_fd_leak):
    sel = SwiftPollSelector()
    a, b = socket.socketpair()
    sel.register(a, selectors.EVENT_READ)
    out = []

    def selecting():
        try:
            out.append(sel.select(None))  # blocks until woken
        except ValueError as e:
            out.append(e)

    t = threading.Thread(target=selecting)
    t.start()
    time.sleep(0.05)
    sel.close()
    t.join(10)
    assert not t.is_alive(), "close() did not end the select"
    assert out == [[]] or isinstance(out[0], ValueError)
    a.close()
    b.close()


@epoll_only("over poll(2) the selector has no fileno, as selectors.PollSelector")
def test_fileno_is_epoll():
    with SwiftPollSelector() as sel:
        assert os.readlink("/proc/self/fd/%d" % sel.fileno()) == "anon_inode:[eventpoll]"
