"""asyncio on swiftpoll behaves as on the default loop: every scenario runs
on both loops and must give the same result."""

import asyncio
import os
import signal
import socket
import subprocess
import sys

import pytest

import swiftpoll.asyncio as spa
from swiftpoll.selectors import SwiftPollSelector


def _default_loop():
    return asyncio.new_event_loop()


LOOPS = {"default": _default_loop, "swiftpoll": spa.new_event_loop}


def run_on(factory, coro_fn, timeout=30):
    loop = factory()
    try:
        return loop.run_until_complete(asyncio.wait_for(coro_fn(), timeout))
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def same_on_both(coro_fn):
    results = {name: run_on(f, coro_fn) for name, f in LOOPS.items()}
    assert results["default"] == results["swiftpoll"], results
    return results["swiftpoll"]


def test_new_event_loop_uses_swiftpoll():
    loop = spa.new_event_loop()
    try:
        assert isinstance(loop, asyncio.SelectorEventLoop)
        assert isinstance(loop._selector, SwiftPollSelector)
    finally:
        loop.close()


def test_run_returns_the_result_and_closes_the_loop():
    seen = {}

    async def main():
        loop = asyncio.get_running_loop()
        seen["selector"] = type(loop._selector)
        seen["loop"] = loop
        await asyncio.sleep(0)
        return 42

    assert spa.run(main()) == 42
    assert seen["selector"] is SwiftPollSelector
    assert seen["loop"].is_closed()


def test_run_propagates_exceptions():
    async def main():
        raise LookupError("x")

    with pytest.raises(LookupError):
        spa.run(main())


def test_policy():
    old = asyncio.get_event_loop_policy()
    try:
        spa.install()
        assert isinstance(asyncio.get_event_loop_policy(), spa.SwiftPollEventLoopPolicy)
        loop = asyncio.new_event_loop()
        try:
            assert isinstance(loop._selector, SwiftPollSelector)
        finally:
            loop.close()
        assert asyncio.run(asyncio.sleep(0, "ok")) == "ok"
    finally:
        asyncio.set_event_loop_policy(old)
    assert spa.EventLoopPolicy is spa.SwiftPollEventLoopPolicy


def test_tcp_echo_streams():
    async def scenario():
        async def handle(r, w):
            while True:
                data = await r.read(100)
                if not data:
                    break
                w.write(data.upper())
                await w.drain()
            w.close()
            await w.wait_closed()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        replies = []
        async with server:
            r, w = await asyncio.open_connection("127.0.0.1", port)
            for msg in (b"a", b"hello", b"x" * 50):
                w.write(msg)
                await w.drain()
                replies.append(await r.readexactly(len(msg)))
            w.write_eof()
            replies.append(await r.read())
            w.close()
            await w.wait_closed()
        return replies

    assert same_on_both(scenario) == [b"A", b"HELLO", b"X" * 50, b""]


def test_large_transfer_with_backpressure():
    async def scenario():
        a, b = socket.socketpair()
        payload = os.urandom(4 * 1024 * 1024)
        loop = asyncio.get_running_loop()
        a.setblocking(False)
        b.setblocking(False)

        async def reader():
            got = bytearray()
            while len(got) < len(payload):
                chunk = await loop.sock_recv(b, 65536)
                if not chunk:
                    break
                got += chunk
            return bytes(got)

        t = asyncio.ensure_future(reader())
        await loop.sock_sendall(a, payload)
        got = await t
        a.close()
        b.close()
        return got == payload

    assert same_on_both(scenario) is True


def test_pipes():
    async def scenario():
        loop = asyncio.get_running_loop()
        r, w = os.pipe()
        rf = os.fdopen(r, "rb", 0)
        wf = os.fdopen(w, "wb", 0)
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), rf)
        wtransport, _ = await loop.connect_write_pipe(asyncio.Protocol, wf)
        wtransport.write(b"line one\n")
        first = await reader.readline()
        wtransport.write(b"line two\n")
        wtransport.close()
        rest = await reader.read()
        return first, rest

    assert same_on_both(scenario) == (b"line one\n", b"line two\n")


def test_subprocess():
    async def scenario():
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", "import sys; d = sys.stdin.read(); print(d[::-1]); sys.exit(3)",
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        out, _ = await proc.communicate(b"abc")
        return out.strip(), proc.returncode

    assert same_on_both(scenario) == (b"cba", 3)


def test_subprocess_shell_and_wait():
    async def scenario():
        proc = await asyncio.create_subprocess_shell("exit 7")
        return await proc.wait()

    assert same_on_both(scenario) == 7


def test_signal_handlers():
    async def scenario():
        loop = asyncio.get_running_loop()
        got = asyncio.Event()
        hits = []
        loop.add_signal_handler(signal.SIGUSR1, lambda: (hits.append("usr1"), got.set()))
        try:
            loop.call_later(0.01, os.kill, os.getpid(), signal.SIGUSR1)
            await got.wait()
        finally:
            loop.remove_signal_handler(signal.SIGUSR1)
        return hits

    assert same_on_both(scenario) == ["usr1"]


def test_call_later_order_and_lower_bound():
    async def scenario():
        loop = asyncio.get_running_loop()
        order = []
        done = asyncio.Event()
        t0 = loop.time()
        for delay, name in ((0.03, "c"), (0.01, "a"), (0.02, "b"), (0.0, "first")):
            loop.call_later(delay, lambda n=name, d=delay: order.append((n, loop.time() - t0 >= d)))
        loop.call_later(0.05, done.set)
        loop.call_soon(order.append, ("soon", True))
        await done.wait()
        return order

    assert same_on_both(scenario) == [("soon", True), ("first", True), ("a", True), ("b", True),
                                      ("c", True)]


def test_timeouts_and_cancellation():
    async def scenario():
        out = []
        try:
            await asyncio.wait_for(asyncio.sleep(10), 0.02)
        except asyncio.TimeoutError:
            out.append("timeout")
        t = asyncio.ensure_future(asyncio.sleep(10))
        await asyncio.sleep(0)
        t.cancel()
        try:
            await t
        except asyncio.CancelledError:
            out.append("cancelled")
        out.append(await asyncio.get_running_loop().run_in_executor(None, sum, [1, 2, 3]))
        return out

    assert same_on_both(scenario) == ["timeout", "cancelled", 6]


def test_many_concurrent_connections():
    async def scenario():
        async def handle(r, w):
            w.write(await r.readexactly(4))
            await w.drain()
            w.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]

        async def client(i):
            r, w = await asyncio.open_connection("127.0.0.1", port)
            w.write(b"%04d" % i)
            data = await r.readexactly(4)
            w.close()
            return int(data)

        async with server:
            res = await asyncio.gather(*(client(i) for i in range(100)))
        return sorted(res)

    assert same_on_both(scenario) == list(range(100))


def test_call_soon_threadsafe_wakes_the_loop():
    async def scenario():
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        import threading
        threading.Timer(0.02, loop.call_soon_threadsafe, (fut.set_result, "woken")).start()
        return await fut

    assert same_on_both(scenario) == "woken"
