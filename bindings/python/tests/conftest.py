"""Shared fixtures.  Every test is bounded: faulthandler kills the run with a
traceback if one test takes longer than TEST_TIMEOUT seconds."""

import faulthandler
import gc
import os
import socket
import sys

import pytest

import swiftpoll

TEST_TIMEOUT = float(os.environ.get("SWIFTPOLL_TEST_TIMEOUT", "120"))

# The backend of every Poll() in this run: $SWIFTPOLL_BACKEND, else the
# library's default (epoll on Linux).  tools/matrix.py runs the suite once per
# backend and sets SWIFTPOLL_EXPECT_BACKEND, checked below, so a run that
# believes it is on poll(2) cannot have run on epoll.
with swiftpoll.Poll() as _p:
    BACKEND = _p.backend
EPOLL = BACKEND == "epoll"


def epoll_only(why):
    """For the few tests of epoll's own fd (the poll(2) backend has none)."""
    return pytest.mark.skipif(not EPOLL, reason="epoll only: " + why)


def cpython_suite(name):
    """A module of CPython's own test package -- the running interpreter's,
    which differs between versions.  An interpreter built without it (some
    distributions split it off) skips the module, saying why; tools/matrix.py
    counts such an interpreter as a failure.  A ``test`` package from anywhere
    but this interpreter's stdlib is an error, not a silent substitute."""
    import importlib
    import sysconfig
    try:
        mod = importlib.import_module(name)
    except ImportError as e:
        pytest.skip("%s has no CPython test package (%s): %s" % (sys.executable, name, e),
                    allow_module_level=True)
    std = os.path.realpath(sysconfig.get_paths()["stdlib"])
    where = os.path.realpath(mod.__file__)
    if not where.startswith(std + os.sep):
        raise ImportError("%s comes from %s, not from this interpreter's stdlib %s"
                          % (name, where, std))
    return mod


def pytest_configure(config):
    expect = os.environ.get("SWIFTPOLL_EXPECT_BACKEND")
    if expect and expect != BACKEND:
        raise pytest.UsageError("SWIFTPOLL_EXPECT_BACKEND=%s but Poll() runs over %s"
                                % (expect, BACKEND))


def pytest_report_header(config):
    return "swiftpoll: %s, backend %s" % (swiftpoll.lib_path, BACKEND)


@pytest.fixture(autouse=True)
def _bounded():
    faulthandler.dump_traceback_later(TEST_TIMEOUT, exit=True, file=sys.stderr)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


def open_fds():
    """The set of this process's open fds (from /proc)."""
    return set(int(x) for x in os.listdir("/proc/self/fd"))


@pytest.fixture
def no_fd_leak():
    """Fails the test if it leaves fds open."""
    gc.collect()
    before = open_fds()
    yield
    gc.collect()
    leaked = open_fds() - before
    # os.listdir's own fd is closed again; anything else is a leak
    leaked = {fd for fd in leaked if os.path.exists("/proc/self/fd/%d" % fd)}
    assert not leaked, "leaked fds: %s" % {fd: os.readlink("/proc/self/fd/%d" % fd) for fd in leaked}


@pytest.fixture
def poll():
    p = swiftpoll.Poll()
    yield p
    p.close()


@pytest.fixture
def events():
    return swiftpoll.Events(64)


@pytest.fixture
def sockpair():
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    yield a, b
    a.close()
    b.close()


@pytest.fixture
def pipe():
    r, w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    fds = [r, w]
    yield fds
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def by_token(events):
    """{token: Event} of the last poll (tokens are unique in these tests)."""
    out = {}
    for ev in events:
        assert ev.token not in out, "token %d reported twice in one poll" % ev.token
        out[ev.token] = ev
    return out
