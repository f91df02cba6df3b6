#!/usr/bin/env python3
"""Writes the seeds of the whole-server fuzz targets, tests/fuzz/corpus/lessonN_server/.

Each seed is what a real client sent, in the input format of server_harness.h: an
option byte, then writes separated by b"\\xff\\xfe" + a selector (connection | action << 2).
The HTTP requests are the ones the lessons' README captures (--trace) and the e2e
tests send; lesson 02's HTTP/2 seeds are curl's and nghttp's own bytes, captured
for tests/fuzz/corpus/lesson2_frame/ (read from there), plus a connection written
here with HPACK literals that are not Huffman-coded, so that a mutation of one
byte of a :path is a new path. Run from the repository root:
    python3 tests/fuzz/server_seeds.py
"""
import os
import struct

OUT = "tests/fuzz/corpus"
WRITE, FIN, CLOSE, NO_RUN = 0, 1, 2, 3


def step(conn, action=WRITE):
    return b"\xff\xfe" + bytes([conn | action << 2])


def seed(options, first, *rest):
    """first: connection 0's first bytes; rest: (conn, action, bytes) triples."""
    out = bytes([options]) + first
    for conn, action, data in rest:
        out += step(conn, action) + data
    return out


def save(target, name, data):
    path = os.path.join(OUT, target)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, name), "wb") as f:
        f.write(data)


# HTTP/1.1
def http(method, target, headers=(), body=b"", host="localhost:42149"):
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in headers]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


CURL = [("User-Agent", "curl/7.88.1"), ("Accept", "*/*")]
JSON = [("Content-Type", "application/json")]


def lesson1():
    t = "lesson1_server"
    save(t, "readme-latest", seed(0, http("GET", "/messages", CURL)))
    # README: a held poll on #2, a post on #3 answers it.
    save(t, "readme-held-poll-post", seed(
        0, http("GET", "/messages", CURL),
        (1, WRITE, http("GET", "/messages?since=0", CURL)),
        (2, WRITE, http("POST", "/messages", CURL + JSON, b'{"user":"ada","text":"hello"}'))))
    save(t, "e2e-short-poll", seed(
        0, http("GET", "/messages?since=0&wait=0", CURL) +
        http("GET", "/messages?since=abc", CURL)))
    # The page and its files, pipelined, then a HEAD and a 404, and a FIN.
    page = b"".join(http(m, p, CURL) for m, p in [
        ("GET", "/"), ("GET", "/chat.js"), ("GET", "/style.css"), ("GET", "/client.js"),
        ("HEAD", "/"), ("GET", "/nope"), ("DELETE", "/messages")])
    save(t, "e2e-page-pipelined", seed(0, b"", (0, FIN, page)))
    save(t, "e2e-post-refused", seed(
        0, http("POST", "/messages", CURL + [("Content-Type", "text/plain")], b"hi") +
        http("POST", "/messages", CURL + JSON, b'{"user":"","text":"x"}') +
        http("POST", "/messages", CURL + [("Content-Type", "application/x-www-form-urlencoded")],
             b"user=ada&text=hi")))
    chunked = (b"POST /messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n14\r\n{\"user\":\"ada\",\"text\r\n"
               b"9\r\n\":\"hi\"}\r\n0\r\n\r\n")
    # Split across two writes, and a held poll woken with the small history.
    save(t, "chunked-split-history", seed(
        fuzz_small_history, http("GET", "/messages?since=1", CURL),
        (1, WRITE, chunked[:40]), (1, WRITE, chunked[40:]), (1, WRITE, chunked)))
    save(t, "shutdown-held-poll", seed(
        fuzz_shutdown, http("GET", "/messages?since=0", CURL)))


fuzz_timeouts_now, fuzz_small_buffers, fuzz_shutdown, fuzz_small_history = 1, 2, 4, 8


# HTTP/2 (RFC 9113 §4.1 frame header, RFC 7541 literals)
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def frame(type_, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([type_, flags]) + \
        struct.pack(">I", stream) + payload


def literal(index, value):
    """RFC 7541 §6.2.2: literal without indexing, indexed name, no Huffman."""
    value = value.encode()
    assert index < 15 and len(value) < 127
    return bytes([index, len(value)]) + value


def literal_new(name, value):
    name, value = name.encode(), value.encode()
    return bytes([0, len(name)]) + name + bytes([len(value)]) + value


def request_block(method, path, extra=b""):
    m = {"GET": b"\x82", "POST": b"\x83"}.get(method) or literal(2, method)
    return m + b"\x86" + literal(4, path) + literal(1, "localhost:8002") + extra


def lesson2():
    t = "lesson2_server"
    captured = os.path.join(OUT, "lesson2_frame")
    for name in ["curl-get-style", "curl-messages-stream", "curl-post-bytewise",
                 "nghttp-messages-shutdown", "nghttp-push-assets"]:
        with open(os.path.join(captured, name), "rb") as f:
            save(t, name, seed(0, f.read()[1:]))
    with open(os.path.join(captured, "curl-messages-stream"), "rb") as f:
        stream = f.read()[1:]
    with open(os.path.join(captured, "curl-post-bytewise"), "rb") as f:
        post = f.read()[1:]
    # A chat stream on one connection, a post on another: the broadcast.
    save(t, "curl-stream-and-post", seed(0, stream, (1, WRITE, post), (1, FIN, b"")))
    settings = frame(4, 0, 0)
    ack = frame(4, 1, 0)
    end = 0x5  # END_STREAM | END_HEADERS
    gets = b"".join(frame(1, end, sid, request_block("GET", path)) for sid, path in [
        (1, "/style.css"), (3, "/"), (5, "/chat.js"), (7, "/client.js"),
        (9, "/nope"), (11, "/messages?since=0")])
    body = b'{"user":"ada","text":"hi"}'
    posting = frame(1, 0x4, 13, request_block("POST", "/messages",
                                              literal_new("content-type", "application/json") +
                                              literal_new("content-length", str(len(body))))) + \
        frame(0, 1, 13, body)
    save(t, "h2c-literal-requests", seed(0, PREFACE + settings + ack + gets + posting))
    # Push disabled (SETTINGS_ENABLE_PUSH = 0), then GET / and a GOAWAY.
    no_push = frame(4, 0, 0, struct.pack(">HI", 2, 0))
    save(t, "h2c-no-push-goaway", seed(
        0, PREFACE + no_push + frame(1, end, 1, request_block("GET", "/")),
        (0, WRITE, frame(7, 0, 0, struct.pack(">II", 1, 0)))))
    # Someone speaks HTTP/1.1 to the HTTP/2 port: 505 and how to connect.
    save(t, "http1-to-h2-port", seed(0, http("GET", "/", CURL, host="localhost:8002")))
    save(t, "h2c-shutdown", seed(fuzz_shutdown, stream))


# WebSocket (RFC 6455 §5.2), client frames masked with the key of the README.
KEY = b"\x37\xfa\x21\x3d"


def ws(opcode, payload, fin=True):
    payload = payload.encode() if isinstance(payload, str) else payload
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack(">Q", n)
    return head + KEY + bytes(b ^ KEY[i % 4] for i, b in enumerate(payload))


UPGRADE = [("Upgrade", "websocket"), ("Connection", "Upgrade"),
           ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13")]


def lesson3():
    t = "lesson3_server"
    save(t, "readme-echo", seed(
        0, http("GET", "/echo", UPGRADE, host="localhost:45557"),
        (0, WRITE, ws(1, "Hello") + ws(9, "ping") + ws(2, b"\x00\x01\xff")),
        (0, WRITE, ws(1, "Hel", fin=False) + ws(0, "lo")),
        (0, WRITE, ws(8, b"\x03\xe8bye"))))
    chat = http("GET", "/chat?since=0", UPGRADE + [("Sec-WebSocket-Protocol", "json"),
                                                  ("Origin", "http://localhost:45557")],
                host="localhost:45557")
    save(t, "e2e-chat-broadcast", seed(
        0, chat, (1, WRITE, http("GET", "/chat", UPGRADE)),
        (0, WRITE, ws(1, '{"type":"post","user":"ada","text":"hi","ref":3}')),
        (1, WRITE, ws(1, '{"type":"post","user":"bob","text":"yo"}') +
         ws(1, '{"type":"nope"}') + ws(1, "not json") + ws(2, b"bin")),
        (1, CLOSE, b"")))
    save(t, "readme-refusals", seed(
        0, http("GET", "/chat", UPGRADE[:3] + [("Sec-WebSocket-Version", "8")]) +
        http("GET", "/chat", UPGRADE + [("Origin", "http://evil.example")]) +
        http("POST", "/chat", UPGRADE) + http("GET", "/chat?since=x", UPGRADE) +
        http("GET", "/", CURL) + http("GET", "/style.css", CURL)))
    save(t, "shutdown-chat", seed(fuzz_shutdown, chat, (0, WRITE, ws(10, "unsolicited"))))


# Engine.IO / Socket.IO: "@SID" is replaced by the harness with the session id
# of the latest handshake (sids are random, and a fuzzer cannot guess them).
def poll(sid=True, t="n7ceuz2u"):
    return f"/socket.io/?EIO=4&transport=polling&t={t}" + ("&sid=@SID" if sid else "")


TEXT = [("Content-type", "text/plain;charset=UTF-8")]


def lesson4():
    t = "lesson4_server"
    save(t, "readme-polling", seed(
        0, http("GET", poll(False), host="localhost:8004"),
        (1, WRITE, http("POST", poll(t="n7cf0dxg"), TEXT, b'40{"user":"ada"}')),
        (2, WRITE, http("GET", poll(t="n7cf2i5z"))),
        (1, WRITE, http("POST", poll(), TEXT, b'420["room:join","general"]\x1e'
                        b'421["msg:get",{"room":"general","since":0}]\x1e'
                        b'422["msg:post",{"user":"ada","text":"hi"}]\x1e3')),
        (2, WRITE, http("GET", poll())),
        (1, WRITE, http("POST", poll(), TEXT, b"1"))))
    ws_open = http("GET", "/socket.io/?EIO=4&transport=websocket", UPGRADE)
    save(t, "e2e-websocket", seed(
        0, ws_open,
        (0, WRITE, ws(1, '40{"user":"ada"}')),
        (0, WRITE, ws(1, '420["room:join","general"]') +
         ws(1, '421["msg:get",{"room":"general"}]') +
         ws(1, '422["msg:post",{"user":"ada","text":"hi"}]') + ws(1, "3")),
        (1, WRITE, ws_open), (1, WRITE, ws(1, '40{"user":7}') + ws(1, '40{"user":"bob"}')),
        (1, WRITE, ws(1, '420["room:join","random"]') + ws(1, '42["msg:post",{}]')),
        (2, WRITE, http("POST", "/api/messages", JSON,
                        b'{"room":"general","user":"http","text":"hi"}')),
        (1, WRITE, ws(1, "41") + ws(8, b"\x03\xe8"))))
    save(t, "e2e-upgrade", seed(
        0, http("GET", poll(False)),
        (1, WRITE, http("GET", "/socket.io/?EIO=4&transport=websocket&sid=@SID", UPGRADE)),
        (1, WRITE, ws(1, "2probe")), (2, WRITE, http("GET", poll())),
        (1, WRITE, ws(1, "5") + ws(1, '40{"user":"ada"}') +
         ws(1, '451-["msg:post",{"_placeholder":true,"num":0}]') + ws(2, b"\x01\x02"))))
    save(t, "e2e-refusals", seed(
        0, http("GET", "/socket.io/?EIO=3&transport=polling") +
        http("GET", "/socket.io/?EIO=4&transport=carrier-pigeon") +
        http("GET", "/socket.io/?EIO=4&transport=polling&sid=nope") +
        http("POST", "/socket.io/?EIO=4&transport=polling") +
        http("PUT", "/api/messages", JSON, b"{}") +
        http("POST", "/api/messages", JSON, b'{"room":"lobby","user":"a","text":"b"}') +
        http("GET", "/client.js")))
    # --protocol-echo (option 0x10): the test suites' namespaces and /engine.io/.
    save(t, "protocol-echo", seed(
        0x10, http("GET", "/engine.io/?EIO=4&transport=polling"),
        (1, WRITE, http("POST", "/engine.io/?EIO=4&transport=polling&sid=@SID", TEXT,
                        b"4hello\x1ebAQID")),
        (2, WRITE, http("GET", "/engine.io/?EIO=4&transport=polling&sid=@SID")),
        (3, WRITE, ws_open), (3, WRITE, ws(1, "40") + ws(1, "40/custom,") +
                              ws(1, '42["message",1,"2",{"3":[true]}]') +
                              ws(1, '421["message-with-ack",1,"2"]'))))
    save(t, "shutdown-sessions", seed(
        fuzz_shutdown, http("GET", poll(False)),
        (1, WRITE, http("POST", poll(), TEXT, b'40{"user":"ada"}')),
        (2, WRITE, http("GET", poll())), (3, WRITE, ws_open)))


if __name__ == "__main__":
    lesson1()
    lesson2()
    lesson3()
    lesson4()
