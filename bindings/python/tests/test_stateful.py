"""A hypothesis state machine drives register / reregister / deregister /
write / drain / poll / close / reopen in random order against a model.

The model knows, per socket, whether it is registered (token, interest, mode)
and how many bytes wait to be read.  After every poll it checks:
  * errors: FileExistsError / FileNotFoundError / ValueError exactly when the
    model says so;
  * every reported event belongs to a registered fd, with its current token,
    and its flags are a subset of the fd's real readiness for its interest;
  * LEVEL: exactly the registered fds that are ready are reported;
  * EDGE / ONESHOT: every fd that must report (just (re)registered while
    ready, or new data arrived while armed) and is still ready when the poll
    runs is reported; a ONESHOT fd reports
    at most once until it is reregistered.
"""

import errno
import os
import socket

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import pytest

from swiftpoll import EVENT_READABLE, EVENT_WRITABLE, Events, Interest, Poll

N_SOCKS = 4
MODES = [Interest.EDGE, Interest.LEVEL, Interest.ONESHOT]
BASIC = [Interest.READABLE, Interest.WRITABLE, Interest.READABLE | Interest.WRITABLE]


class Reg:
    def __init__(self, token, interest, mode):
        self.token = token
        self.interest = interest
        self.mode = mode
        self.armed = True  # ONESHOT: not yet reported since (re)registration
        self.must = False  # EDGE/ONESHOT: an event is owed


class PollMachine(RuleBasedStateMachine):
    @initialize()
    def setup(self):
        self.pairs = []
        for _ in range(N_SOCKS):
            a, b = socket.socketpair()
            a.setblocking(False)
            b.setblocking(False)
            self.pairs.append((a, b))
        self.pending = [0] * N_SOCKS  # bytes readable on pairs[i][0]
        self.poll = Poll()
        self.events = Events(N_SOCKS + 2)
        self.model = {}  # i -> Reg
        self.closed = False
        self.next_token = 1

    def teardown(self):
        if hasattr(self, "poll"):
            self.poll.close()
            for a, b in self.pairs:
                a.close()
                b.close()

    def _ready(self, i, interest):
        mask = 0
        if interest & Interest.READABLE and self.pending[i]:
            mask |= EVENT_READABLE
        if interest & Interest.WRITABLE:
            mask |= EVENT_WRITABLE  # a socketpair with room is always writable
        return mask

    def _token(self):
        self.next_token += 1
        return self.next_token

    @rule(i=st.integers(0, N_SOCKS - 1), basic=st.sampled_from(BASIC), mode=st.sampled_from(MODES))
    def register(self, i, basic, mode):
        token = self._token()
        sock = self.pairs[i][0]
        if self.closed:
            with pytest.raises(ValueError):
                self.poll.registry.register(sock, token, basic | mode)
        elif i in self.model:
            with pytest.raises(FileExistsError):
                self.poll.registry.register(sock, token, basic | mode)
        else:
            self.poll.registry.register(sock, token, basic | mode)
            reg = Reg(token, basic, mode)
            reg.must = mode != Interest.LEVEL and bool(self._ready(i, basic))
            self.model[i] = reg

    @rule(i=st.integers(0, N_SOCKS - 1), basic=st.sampled_from(BASIC), mode=st.sampled_from(MODES))
    def reregister(self, i, basic, mode):
        token = self._token()
        sock = self.pairs[i][0]
        if self.closed:
            with pytest.raises(ValueError):
                self.poll.registry.reregister(sock, token, basic | mode)
        elif i not in self.model:
            with pytest.raises(FileNotFoundError):
                self.poll.registry.reregister(sock, token, basic | mode)
        else:
            self.poll.registry.reregister(sock, token, basic | mode)
            reg = Reg(token, basic, mode)
            reg.must = mode != Interest.LEVEL and bool(self._ready(i, basic))
            self.model[i] = reg

    @rule(i=st.integers(0, N_SOCKS - 1))
    def deregister(self, i):
        sock = self.pairs[i][0]
        if self.closed:
            with pytest.raises(ValueError):
                self.poll.registry.deregister(sock)
        elif i not in self.model:
            with pytest.raises(FileNotFoundError):
                self.poll.registry.deregister(sock)
        else:
            self.poll.registry.deregister(sock)
            del self.model[i]

    @rule(i=st.integers(0, N_SOCKS - 1), n=st.integers(1, 3))
    def write(self, i, n):
        self.pairs[i][1].send(b"x" * n)
        self.pending[i] += n
        reg = self.model.get(i)
        if reg and reg.mode != Interest.LEVEL and reg.interest & Interest.READABLE and reg.armed:
            reg.must = True

    @rule(i=st.integers(0, N_SOCKS - 1))
    def drain(self, i):
        if self.pending[i]:
            data = self.pairs[i][0].recv(1024)
            assert len(data) == self.pending[i]
            self.pending[i] = 0

    @rule()
    def poll_now(self):
        if self.closed:
            with pytest.raises(ValueError):
                self.poll.poll(self.events, 0)
            return
        n = self.poll.poll(self.events, 0)
        assert n == len(self.events) <= self.events.capacity
        by_token = {reg.token: i for i, reg in self.model.items()}
        seen = set()
        for ev in self.events:
            assert ev.token in by_token, "event for an unregistered token %r" % (ev,)
            i = by_token[ev.token]
            assert i not in seen, "two events for one fd in one poll"
            seen.add(i)
            reg = self.model[i]
            ready = self._ready(i, reg.interest)
            assert ev.flags & (EVENT_READABLE | EVENT_WRITABLE) & ~ready == 0, (ev, ready)
            if reg.mode == Interest.ONESHOT:
                assert reg.armed, "ONESHOT reported twice without reregister"
                reg.armed = False
            reg.must = False
        for i, reg in self.model.items():
            ready = self._ready(i, reg.interest)
            if reg.mode == Interest.LEVEL:
                assert (i in seen) == bool(ready), (i, ready, list(self.events))
            elif ready:
                # owed, and still ready: epoll re-checks readiness before it
                # reports, so an edge whose data was drained meanwhile is dropped
                assert not reg.must, "owed event missing for fd %d: %r" % (i, list(self.events))
            reg.must = False

    @rule()
    def close(self):
        self.poll.close()
        self.closed = True

    @precondition(lambda self: self.closed)
    @rule()
    def reopen(self):
        self.poll = Poll()
        self.model = {}
        self.closed = False

    @invariant()
    def fileno_matches_state(self):
        if self.closed:
            with pytest.raises(ValueError):
                self.poll.fileno()
        elif self.poll.backend == "epoll":
            assert self.poll.fileno() >= 0
        else:  # poll(2) has no fd
            with pytest.raises(OSError) as e:
                self.poll.fileno()
            assert e.value.errno == errno.ENOTSUP


PollMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("SWIFTPOLL_HYPOTHESIS_EXAMPLES", "150")),
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestPollMachine = PollMachine.TestCase
