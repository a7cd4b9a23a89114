#!/usr/bin/env python3
"""Python benchmarks: swiftpoll side by side with select.epoll, selectors.EpollSelector
and the default asyncio loop, in one run.

    make bench-python                      # writes docs/BENCHMARKS-python.md
    SWIFTPOLL_LIBRARY=build/lib/libswiftpoll.so.0.1.0 PYTHONPATH=bindings/python/src \
        python3 bench/python/run.py [--rounds 7] [--quick] [--out FILE]

Workloads (each implementation does the same system calls):
  ring      one byte hops over 64 pipes; one event per wait (blocking waits)
  burst     4,096 pipes ready at once (level-triggered), capacity 1,024 per wait
  sel-ring  the ring through selectors: SwiftPollSelector vs EpollSelector
  sel-burst the burst through selectors (every select returns all 4,096)
  echo      asyncio echo over loopback TCP, 8 connections x small messages,
            SelectorEventLoop(SwiftPollSelector) vs the default loop

Rounds are interleaved (A B A B ...) so drift hits both alike; the table shows
the median rate of each and the ratio of the medians.
"""

import argparse
import asyncio
import gc
import os
import platform
import select
import selectors
import statistics
import time

import swiftpoll
from swiftpoll import Events, Interest, Poll
from swiftpoll.selectors import SwiftPollSelector

# CPU time of this process (user + system): the machine is shared, and CPU
# time does not count the time another process held the CPU.  Every workload
# here is one thread that (almost) never sleeps, so for an idle machine the
# two clocks agree; --wall switches to time.perf_counter.
_clock = time.process_time

RING_PIPES = 64
BURST_PIPES = 4096
BURST_CAP = 1024


# --------------------------------------------------------------------- ring
def make_ring():
    pipes = [os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC) for _ in range(RING_PIPES)]
    return pipes


def close_pipes(pipes):
    for r, w in pipes:
        os.close(r)
        os.close(w)


def ring_epoll(hops):
    pipes = make_ring()
    nxt = {r: pipes[(i + 1) % RING_PIPES][1] for i, (r, _) in enumerate(pipes)}
    ep = select.epoll()
    for r, _ in pipes:
        ep.register(r, select.EPOLLIN | select.EPOLLET)
    read, write = os.read, os.write
    poll = ep.poll
    write(pipes[0][1], b"x")
    t0 = _clock()
    done = 0
    while done < hops:
        for fd, _ev in poll(-1, 64):
            read(fd, 1)
            write(nxt[fd], b"x")
            done += 1
    dt = _clock() - t0
    ep.close()
    close_pipes(pipes)
    return hops / dt


def ring_swiftpoll(hops):
    pipes = make_ring()
    nxt = {r: pipes[(i + 1) % RING_PIPES][1] for i, (r, _) in enumerate(pipes)}
    p = Poll()
    reg = p.registry
    for r, _ in pipes:
        reg.register(r, r, Interest.READABLE)
    events = Events(64)
    read, write = os.read, os.write
    poll = p.poll
    write(pipes[0][1], b"x")
    t0 = _clock()
    done = 0
    while done < hops:
        poll(events)
        for ev in events:
            fd = ev.token
            read(fd, 1)
            write(nxt[fd], b"x")
            done += 1
    dt = _clock() - t0
    p.close()
    close_pipes(pipes)
    return hops / dt


def ring_swiftpoll_pairs(hops):
    pipes = make_ring()
    nxt = {r: pipes[(i + 1) % RING_PIPES][1] for i, (r, _) in enumerate(pipes)}
    p = Poll()
    reg = p.registry
    for r, _ in pipes:
        reg.register(r, r, Interest.READABLE)
    events = Events(64)
    read, write = os.read, os.write
    poll = p.poll
    pairs = events.pairs
    write(pipes[0][1], b"x")
    t0 = _clock()
    done = 0
    while done < hops:
        poll(events)
        for fd, _flags in pairs():
            read(fd, 1)
            write(nxt[fd], b"x")
            done += 1
    dt = _clock() - t0
    p.close()
    close_pipes(pipes)
    return hops / dt


# -------------------------------------------------------------------- burst
def make_burst():
    pipes = [os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC) for _ in range(BURST_PIPES)]
    for _, w in pipes:
        os.write(w, b"x")
    return pipes


def burst_epoll(waits):
    pipes = make_burst()
    ep = select.epoll()
    for r, _ in pipes:
        ep.register(r, select.EPOLLIN)
    poll = ep.poll
    seen = 0
    t0 = _clock()
    for _ in range(waits):
        for fd, ev in poll(0, BURST_CAP):
            seen += 1
    dt = _clock() - t0
    assert seen == waits * BURST_CAP
    ep.close()
    close_pipes(pipes)
    return seen / dt


def burst_swiftpoll(waits):
    pipes = make_burst()
    p = Poll()
    reg = p.registry
    for r, _ in pipes:
        reg.register(r, r, Interest.READABLE | Interest.LEVEL)
    events = Events(BURST_CAP)
    poll = p.poll
    seen = 0
    t0 = _clock()
    for _ in range(waits):
        poll(events, 0)
        for ev in events:
            ev.token
            seen += 1
    dt = _clock() - t0
    assert seen == waits * BURST_CAP
    p.close()
    close_pipes(pipes)
    return seen / dt


def burst_swiftpoll_pairs(waits):
    pipes = make_burst()
    p = Poll()
    reg = p.registry
    for r, _ in pipes:
        reg.register(r, r, Interest.READABLE | Interest.LEVEL)
    events = Events(BURST_CAP)
    poll = p.poll
    pairs = events.pairs
    seen = 0
    t0 = _clock()
    for _ in range(waits):
        poll(events, 0)
        for tok, flags in pairs():
            seen += 1
    dt = _clock() - t0
    assert seen == waits * BURST_CAP
    p.close()
    close_pipes(pipes)
    return seen / dt


# ---------------------------------------------------------------- selectors
def sel_ring(cls, hops):
    pipes = make_ring()
    sel = cls()
    for i, (r, _) in enumerate(pipes):
        sel.register(r, selectors.EVENT_READ, pipes[(i + 1) % RING_PIPES][1])
    read, write = os.read, os.write
    select_ = sel.select
    write(pipes[0][1], b"x")
    t0 = _clock()
    done = 0
    while done < hops:
        for key, _mask in select_():
            read(key.fd, 1)
            write(key.data, b"x")
            done += 1
    dt = _clock() - t0
    sel.close()
    close_pipes(pipes)
    return hops / dt


def sel_burst(cls, waits):
    pipes = make_burst()
    sel = cls()
    for r, _ in pipes:
        sel.register(r, selectors.EVENT_READ)
    select_ = sel.select
    seen = 0
    t0 = _clock()
    for _ in range(waits):
        for key, mask in select_(0):
            seen += 1
    dt = _clock() - t0
    assert seen == waits * BURST_PIPES
    sel.close()
    close_pipes(pipes)
    return seen / dt


# -------------------------------------------------------------- asyncio echo
class _EchoServer(asyncio.Protocol):
    def connection_made(self, transport):
        self.t = transport

    def data_received(self, data):
        self.t.write(data)


class _EchoClient(asyncio.Protocol):
    def __init__(self, n, done):
        self.n = n
        self.done = done
        self.msg = b"m" * 64

    def connection_made(self, transport):
        self.t = transport
        self.buf = 0
        transport.write(self.msg)

    def data_received(self, data):
        self.buf += len(data)
        while self.buf >= 64:
            self.buf -= 64
            self.n -= 1
            if self.n == 0:
                self.done.set_result(None)
                return
            self.t.write(self.msg)


def echo(loop_factory, msgs, conns=8):
    loop = loop_factory()

    async def main():
        server = await loop.create_server(_EchoServer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        dones = []
        transports = []
        for _ in range(conns):
            done = loop.create_future()
            t, _ = await loop.create_connection(lambda d=done: _EchoClient(msgs // conns, d),
                                                "127.0.0.1", port)
            dones.append(done)
            transports.append(t)
        t0 = _clock()
        await asyncio.gather(*dones)
        dt = _clock() - t0
        for t in transports:
            t.close()
        server.close()
        await server.wait_closed()
        return (msgs // conns) * conns / dt

    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()


def default_loop():
    return asyncio.SelectorEventLoop(selectors.DefaultSelector())


def swift_loop():
    return asyncio.SelectorEventLoop(SwiftPollSelector())


# ------------------------------------------------------------ per-call costs
def per_call_costs(rounds):
    """ns per call (thread CPU time, best of `rounds`) with one fd ready:
    where the time of one wait goes."""
    import timeit
    r, w = os.pipe()
    os.write(w, b"x")
    ep = select.epoll()
    ep.register(r, select.EPOLLIN)
    p = Poll()
    p.registry.register(r, r, Interest.READABLE | Interest.LEVEL)
    ev = Events(64)
    p.poll(ev, 0)
    b = p._bound
    from swiftpoll import _lib
    es, ss = selectors.EpollSelector(), SwiftPollSelector()
    es.register(r, selectors.EVENT_READ)
    ss.register(r, selectors.EVENT_READ)
    g = dict(ep=ep, p=p, ev=ev, f=_lib.wait_args_fn, ref=b.ref, L=_lib.lib, es=es, ss=ss)
    tests = [
        ("ctypes call of an empty C function (swiftpoll_abi_version)", "L.swiftpoll_abi_version()"),
        ("select.epoll.poll(0, 64)", "ep.poll(0, 64)"),
        ("the ctypes wait alone: swiftpoll_poll_wait_args(&args)", "f(ref)"),
        ("Poll.poll(events, 0)", "p.poll(ev, 0)"),
        ("select.epoll.poll(0, 64) + iterate", "for fd, e in ep.poll(0, 64): fd"),
        ("Poll.poll(events, 0) + iterate Events", "p.poll(ev, 0)\nfor e in ev: e.token"),
        ("Poll.poll(events, 0) + iterate events.pairs()", "p.poll(ev, 0)\nfor t, fl in ev.pairs(): t"),
        ("EpollSelector.select(0)", "es.select(0)"),
        ("SwiftPollSelector.select(0)", "ss.select(0)"),
    ]
    timers = [(name, timeit.Timer(stmt, globals=g, timer=time.thread_time)) for name, stmt in tests]
    best = {name: float("inf") for name, _ in tests}
    for _ in range(rounds):
        for name, t in timers:
            best[name] = min(best[name], t.timeit(20000) / 20000 * 1e9)
    p.close()
    ep.close()
    es.close()
    ss.close()
    os.close(r)
    os.close(w)
    for name, _ in tests:
        print("%-62s %6.0f ns" % (name, best[name]), flush=True)
    return [(name, best[name]) for name, _ in tests]


# ------------------------------------------------------------------- driver
def workloads(scale):
    hops = int(200_000 * scale)
    waits = int(2_000 * scale)
    sel_waits = int(300 * scale)
    msgs = int(40_000 * scale)
    return [
        ("ring", "hops/s", hops, [
            ("select.epoll", ring_epoll),
            ("swiftpoll (Event objects)", ring_swiftpoll),
            ("swiftpoll (pairs())", ring_swiftpoll_pairs),
        ], "ring >= 0.9x select.epoll"),
        ("burst", "events/s", waits, [
            ("select.epoll", burst_epoll),
            ("swiftpoll (Event objects)", burst_swiftpoll),
            ("swiftpoll (pairs())", burst_swiftpoll_pairs),
        ], "burst >= 1.0x select.epoll"),
        ("sel-ring", "hops/s", hops, [
            ("EpollSelector", lambda n: sel_ring(selectors.EpollSelector, n)),
            ("SwiftPollSelector", lambda n: sel_ring(SwiftPollSelector, n)),
        ], ">= 1.0x EpollSelector"),
        ("sel-burst", "events/s", sel_waits, [
            ("EpollSelector", lambda n: sel_burst(selectors.EpollSelector, n)),
            ("SwiftPollSelector", lambda n: sel_burst(SwiftPollSelector, n)),
        ], ">= 1.0x EpollSelector"),
        ("echo", "msgs/s", msgs, [
            ("default loop (EpollSelector)", lambda n: echo(default_loop, n)),
            ("swiftpoll loop", lambda n: echo(swift_loop, n)),
        ], ">= 0.95x default loop"),
    ]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--quick", action="store_true", help="3 rounds at a tenth of the counts")
    ap.add_argument("--only", default="", help="comma-separated workload names")
    ap.add_argument("--out", default="", help="write a Markdown report here")
    ap.add_argument("--wall", action="store_true", help="wall-clock time instead of CPU time")
    args = ap.parse_args()
    if args.wall:
        global _clock
        _clock = time.perf_counter
    if args.quick:
        args.rounds, args.scale = 3, 0.1
    only = set(filter(None, args.only.split(",")))

    rows = []
    for name, unit, n, impls, target in workloads(args.scale):
        if only and name not in only:
            continue
        rates = {label: [] for label, _ in impls}
        for fn_label, fn in impls:  # warm-up
            fn(max(1, n // 20))
        for rnd in range(args.rounds):
            order = impls if rnd % 2 == 0 else impls[::-1]
            for label, fn in order:
                gc.collect()
                rates[label].append(fn(n))
        base_label = impls[0][0]
        base = statistics.median(rates[base_label])
        for label, _ in impls:
            med = statistics.median(rates[label])
            spread = (max(rates[label]) - min(rates[label])) / med * 100
            ratio = med / base
            rows.append((name, label, med, unit, spread, ratio, target if label != base_label else ""))
            print("%-10s %-30s %12.0f %-9s +-%4.1f%%  %5.2fx" % (name, label, med, unit, spread / 2, ratio),
                  flush=True)

    costs = per_call_costs(args.rounds) if not only else []
    if args.out:
        write_report(args, rows, costs)


def write_report(args, rows, costs):
    cmd = "make bench-python" if not args.quick else "make bench-python-quick"
    lines = [
        "# Python benchmarks",
        "",
        "Produced by `%s` (`bench/python/run.py --rounds %d --scale %g`)." % (cmd, args.rounds, args.scale),
        "Median of %d interleaved rounds per implementation; ratio = median rate / median rate"
        " of the first row of the workload (the standard-library baseline). Higher is better."
        " Rates are per second of %s." % (args.rounds, "wall-clock time" if args.wall else
                                          "process CPU time (user + system; the machine was shared)"),
        "",
        "Machine: %s, %s, Python %s, kernel %s, libswiftpoll %s (%s)." % (
            platform.machine(), "%d cores" % os.cpu_count(), platform.python_version(),
            platform.release(), swiftpoll.library_version(), os.path.basename(swiftpoll.lib_path)),
        "",
        "| workload | implementation | median rate | spread | ratio | target |",
        "|---|---|---:|---:|---:|---|",
    ]
    for name, label, med, unit, spread, ratio, target in rows:
        lines.append("| %s | %s | %s %s | %.1f%% | %.2fx | %s |" % (
            name, label, "{:,.0f}".format(med), unit, spread, ratio, target))
    lines += ["", "Workloads: see the docstring of bench/python/run.py.", ""]
    if costs:
        lines += ["## Where the time of one wait goes", "",
                  "Per call, one fd ready, thread CPU time, best of %d rounds:" % args.rounds, "",
                  "| call | ns |", "|---|---:|"]
        lines += ["| %s | %.0f |" % (name, ns) for name, ns in costs]
        lines += [""]
    notes = os.path.join(os.path.dirname(os.path.abspath(__file__)), "NOTES.md")
    if os.path.exists(notes):
        with open(notes) as f:
            lines += [f.read()]
    with open(args.out, "w") as f:
        f.write("\n".join(lines))
    print("wrote", args.out)


if __name__ == "__main__":
    main()
