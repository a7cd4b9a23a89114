#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_abi.c into Tests/fuzz/corpus/.

Each seed is a short, meaningful scenario in the harness's byte encoding
(one opcode byte, then the argument bytes each operation reads, in order;
see LLVMFuzzerTestOneInput and the op_* functions).  libFuzzer mutates from
there.  Run it again after changing the encoding.
"""
import os
import struct

OP = dict(poll_new=0, poll_free=1, poll_fd=2, try_clone=3, registry_free=4, register=5,
          reregister=7, deregister=8, wait=9, waker_new=11, wake=12, waker_free=13,
          wake_block=14, fd_open=15, fd_poke=17, fd_close=18, misc=19)
E = 7  # errno probe byte

# poll_new's second byte: % 16 == 0 is the NULL-out case; (b >> 4) & 3 picks the
# backend: 0 the default (swiftpoll_poll_new), 1 epoll, 2 poll(2).
BACKEND = [0]
def poll_new(i=0): return [OP['poll_new'], i, 1 | (BACKEND[0] << 4), E]
def poll_free(i=0): return [OP['poll_free'], i, E]
def fd_open(s, kind): return [OP['fd_open'], s, kind - 1]   # 1 eventfd 2 pipe_r 3 pipe_w 4 sock 5 memfd
def poke(s, what): return [OP['fd_poke'], s, what]
def fd_close(s): return [OP['fd_close'], s]
def reg_poll(p=0): return p * 8          # pick_registry: the poll's own registry
def reg_clone(c=0): return c * 8 + 1     # a clone
def ctl(which, reg, fdsel, token=1, interest=0):
    op = {'register': OP['register'], 'reregister': OP['reregister'], 'deregister': OP['deregister']}[which]
    b = [op, reg, fdsel]
    if which != 'deregister':
        b += [token, interest]
    return b + [E]
def wait(p=0, cap=0, t=0): return [OP['wait'], p + 8, 1, cap, t, E]
def clone(c=0, reg=0): return [OP['try_clone'], c, reg, 1, E]
def reg_free(c=0): return [OP['registry_free'], c * 3 + 2, E]
def waker_new(w=0, reg=0, token=9): return [OP['waker_new'], w, reg, 1, token, E]
def wake(w=0): return [OP['wake'], w, E]
def waker_free(w=0): return [OP['waker_free'], w, E]
def wake_block(w=0, t=0, cap=0): return [OP['wake_block'], w, t, cap, E] + [E] * 4
def misc(x): return [OP['misc']] + list(struct.pack('<i', x)) + [E]

def seeds(): return {
    'basic-eventfd': poll_new() + fd_open(0, 1) + ctl('register', reg_poll(), 0) + poke(0, 0) + wait()
        + wait() + ctl('deregister', reg_poll(), 0) + poke(0, 0) + wait() + fd_close(0) + poll_free(),
    'pipe-hup': poll_new() + fd_open(1, 2) + ctl('register', reg_poll(), 1, 3, 2) + poke(1, 0) + wait()
        + poke(1, 3) + wait() + fd_close(1),
    'pipe-writer-err': poll_new() + fd_open(2, 3) + ctl('register', reg_poll(), 2, 4, 1) + wait()
        + poke(2, 5) + wait() + poke(2, 3) + wait(),
    'socket-rdhup': poll_new() + fd_open(3, 4) + ctl('register', reg_poll(), 3, 5, 2) + wait()
        + poke(3, 0) + poke(3, 2) + wait(cap=1) + wait(cap=1) + poke(3, 4) + wait(),
    'memfd-eperm': poll_new() + fd_open(4, 5) + ctl('register', reg_poll(), 4) + ctl('reregister', reg_poll(), 4)
        + ctl('deregister', reg_poll(), 4),
    'oneshot-rearm': poll_new() + fd_open(0, 1) + poke(0, 0) + ctl('register', reg_poll(), 0, 6, 6) + wait()
        + poke(0, 0) + wait() + ctl('reregister', reg_poll(), 0, 7, 6) + wait(),
    'level': poll_new() + fd_open(0, 1) + poke(0, 0) + ctl('register', reg_poll(), 0, 2, 4) + wait(cap=1)
        + wait(cap=1) + poke(0, 1) + wait(),
    'clone-outlives-poll': poll_new() + clone(0, reg_poll()) + fd_open(0, 1) + ctl('register', reg_clone(0), 0)
        + poll_free() + ctl('deregister', reg_clone(0), 0) + ctl('register', reg_clone(0), 0) + reg_free(0),
    'waker': poll_new() + waker_new(0, reg_poll(), 9) + wake() + wait() + waker_new(1, reg_poll(), 3)
        + wake_block(0) + waker_free(0) + waker_new(1, reg_poll(), 3) + wake(1) + wait(),
    'waker-outlives-poll': poll_new() + waker_new(0, reg_poll()) + poll_free() + wake() + waker_free(0),
    'wake-huge-timeouts': poll_new() + waker_new(0, reg_poll()) + wake_block(0, 1) + wake_block(0, 2)
        + wake_block(0, 3) + wake_block(0, 4, 3),
    'bad-args': poll_new() + [OP['poll_new'], 1, 0, E] + wait(cap=200) + wait(cap=210) + wait(cap=220)
        + wait(cap=230) + [OP['wait'], 7, 1, 0, 0, E] + [OP['wait'], 16 * 8 + 9, 1, 0, 0, E] + [OP['poll_fd'], E]
        + ctl('register', 7, 0) + ctl('register', reg_poll(), 205) + ctl('register', reg_poll(), 220, 1, 0) + [3]
        + ctl('register', reg_poll(), 245),
    'bad-interest': poll_new() + fd_open(0, 1) + ctl('register', reg_poll(), 0, 1, 170) + ctl('register', reg_poll(), 0, 1, 173)
        + ctl('register', reg_poll(), 0, 1, 240) + [0xff, 0xff, 0xff, 0xff],
    'fd-reuse': poll_new() + fd_open(0, 1) + ctl('register', reg_poll(), 0, 1) + fd_close(0) + fd_open(0, 1)
        + ctl('register', reg_poll(), 0, 2) + poke(0, 0) + wait(),
    'strerror': misc(-9) + misc(22) + misc(0) + misc(-2147483647) + misc(2147483647) + misc(-2147483648),
    'two-polls': poll_new(0) + poll_new(1) + fd_open(0, 4) + ctl('register', reg_poll(0), 0, 1, 1)
        + ctl('register', reg_poll(1), 0, 2, 1) + wait(0) + wait(1) + poll_free(0) + wait(1),
}

def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus')
    os.makedirs(out, exist_ok=True)
    n = 0
    # every scenario over the default backend (seed-NAME) and over poll(2)
    # (seed-NAME-poll)
    for backend, suffix in ((0, ''), (2, '-poll')):
        BACKEND[0] = backend
        for name, data in seeds().items():
            if suffix and name == 'strerror':
                continue  # makes no poll: the same bytes either way
            with open(os.path.join(out, 'seed-' + name + suffix), 'wb') as f:
                f.write(bytes(b & 0xff for b in data))
            n += 1
    print(f"wrote {n} seeds to {out}")

if __name__ == '__main__':
    main()
