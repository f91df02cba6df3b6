"""Lesson 03's /echo driven by Debian's python3-websockets (a client nobody here
wrote). Run by lesson3_echo.test.mjs as: /usr/bin/python3 lesson3_python_client.py
ws://localhost:PORT/echo. Prints one "ok ..." line per check; exits non-zero at
the first failure."""

import asyncio
import sys

import websockets

SIZES = [0, 125, 126, 127, 128, 65535, 65536, 1 << 20]


def text(n):
    unit = "aé€😀"  # 1 + 2 + 3 + 4 bytes of UTF-8
    s = unit * (n // 10)
    return s + "x" * (n - len(s.encode()))


def data(n):
    return bytes((i * 31 + 7) & 0xFF for i in range(n))


def pieces(value):
    """Three fragments; a text is cut at characters (the library sends str parts)."""
    a, b = len(value) // 3, 2 * len(value) // 3
    return [value[:a], value[a:b], value[b:]]


async def connect(url):
    # No compression: the frames on the wire are the ones we send.
    return await websockets.connect(url, max_size=None, compression=None)


async def main(url):
    ws = await connect(url)
    for n in SIZES:
        for kind, value in (("text", text(n)), ("binary", data(n))):
            await ws.send(value)
            got = await asyncio.wait_for(ws.recv(), 10)
            assert type(got) is type(value) and got == value, f"{kind} {n}"
            print(f"ok echo {kind} {n}")
            # An iterable is sent as one fragmented message.
            await ws.send(pieces(value))
            got = await asyncio.wait_for(ws.recv(), 10)
            assert type(got) is type(value) and got == value, f"fragmented {kind} {n}"
            print(f"ok echo fragmented {kind} {n}")

    pong = await ws.ping(b"are you there")
    await asyncio.wait_for(pong, 10)
    print("ok ping")

    for code in (1000, 1001, 1003, 1008, 1011, 3000, 4000, 4999):
        s = await connect(url)
        await s.close(code=code, reason="bye")
        assert s.close_code == code, f"close {code}: got {s.close_code}"
        print(f"ok close {code}")

    # Over the 1 MiB limit: the server closes with 1009.
    s = await connect(url)
    try:
        await s.send(b"x" * ((1 << 20) + 1))
        await asyncio.wait_for(s.recv(), 10)
    except websockets.ConnectionClosed:
        pass
    assert s.close_code == 1009, f"too big: got {s.close_code}"
    print("ok close 1009")

    await ws.close()
    assert ws.close_code == 1000
    print("ok close 1000 after echo")


asyncio.run(main(sys.argv[1]))
