#!/usr/bin/env python3
"""asyncio echo server and client on swiftpoll's event loop (127.0.0.1 only).

    python3 examples/asyncio_echo.py

Starts an echo server on a free loopback port, connects a client, sends three
messages, prints what happens and exits 0.  Bounded: everything is wrapped in
a 10-second timeout.
"""

import asyncio
import sys

import swiftpoll
import swiftpoll.asyncio


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    peer = writer.get_extra_info("peername")
    print(f"server: connection from {peer[0]}:{peer[1]}")
    while True:
        data = await reader.readline()
        if not data:
            break
        print(f"server: echoing {data!r}")
        writer.write(data)
        await writer.drain()
    print("server: client closed, closing")
    writer.close()
    await writer.wait_closed()


async def client(port: int) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    count = 0
    for msg in (b"hello\n", b"from swiftpoll\n", b"bye\n"):
        writer.write(msg)
        await writer.drain()
        reply = await reader.readline()
        print(f"client: sent {msg!r}, got {reply!r}")
        if reply != msg:
            raise RuntimeError(f"bad echo: {reply!r} != {msg!r}")
        count += 1
    writer.close()
    await writer.wait_closed()
    return count


async def main() -> int:
    loop = asyncio.get_running_loop()
    print(f"loop: {type(loop).__name__} with {type(loop._selector).__name__} "
          f"(libswiftpoll {swiftpoll.library_version()})")
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(f"server: listening on 127.0.0.1:{port}")
    async with server:
        count = await asyncio.wait_for(client(port), 10)
    print(f"client: echoed {count} messages")
    return 0


if __name__ == "__main__":
    sys.exit(swiftpoll.asyncio.run(main()))
