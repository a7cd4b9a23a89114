#!/usr/bin/env python3
"""A mio-style TCP echo server on swiftpoll's Poll / Registry / Events / Waker.

    python3 examples/poll_echo.py

Edge-triggered, as in mio: after each event, read/write until BlockingIOError.
A client thread sends a few messages on 127.0.0.1 and then stops the server
loop with a Waker.  Prints what happens and exits 0; bounded by timeouts.
"""

import errno
import socket
import sys
import threading

from swiftpoll import Events, Interest, Poll, Waker

SERVER, WAKER = 0, 1  # tokens; connections get 2, 3, ...


def client(port: int, waker: Waker, result: list) -> None:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            for msg in (b"hello", b"edge-triggered", b"world"):
                s.sendall(msg)
                got = b""
                while len(got) < len(msg):
                    got += s.recv(100)
                print(f"client: sent {msg!r}, got {got!r}", flush=True)
                result.append(got == msg)
    finally:
        waker.wake()  # tell the server loop to stop


def main() -> int:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    port = listener.getsockname()[1]
    conns = {}
    result: list = []
    with Poll() as poll, Waker(poll.registry, WAKER) as waker:
        poll.registry.register(listener, SERVER, Interest.READABLE)
        print(f"server: listening on 127.0.0.1:{port}", flush=True)
        t = threading.Thread(target=client, args=(port, waker, result))
        t.start()
        events = Events(64)
        next_token = 2
        running = True
        for _ in range(1000):  # bounded
            if not running:
                break
            if poll.poll(events, timeout=10.0) == 0:
                print("server: timed out", flush=True)
                break
            for ev in events:
                if ev.token == WAKER:
                    print("server: woken, stopping", flush=True)
                    running = False
                elif ev.token == SERVER:
                    while True:  # accept until EAGAIN
                        try:
                            conn, addr = listener.accept()
                        except BlockingIOError:
                            break
                        conn.setblocking(False)
                        conns[next_token] = conn
                        poll.registry.register(conn, next_token, Interest.READABLE)
                        print(f"server: accepted {addr[0]}:{addr[1]} as token {next_token}", flush=True)
                        next_token += 1
                else:
                    conn = conns[ev.token]
                    while True:  # read until EAGAIN, echo back
                        try:
                            data = conn.recv(4096)
                        except BlockingIOError:
                            break
                        except OSError as e:
                            if e.errno != errno.ECONNRESET:
                                raise
                            data = b""
                        if not data:
                            print(f"server: token {ev.token} closed", flush=True)
                            poll.registry.deregister(conn)
                            conn.close()
                            del conns[ev.token]
                            break
                        conn.sendall(data)
        t.join(10)
        for conn in conns.values():
            conn.close()
    listener.close()
    ok = len(result) == 3 and all(result)
    print("echo ok" if ok else "echo FAILED", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
