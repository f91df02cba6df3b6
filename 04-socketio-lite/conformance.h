// --protocol-echo: the servers the public Engine.IO and Socket.IO protocol test
// suites expect (socket.io-protocol-v5.md, "Test suite"), plus a "/test" namespace that
// shows the rest of the API (rooms, broadcasts, server acks, refusals) to our e2e tests.
#pragma once

#include "io.h"

namespace sio {

// /engine.io/: what the Engine.IO protocol test suite expects, an echo of every
// message, text as text and binary as binary.
void install_engine_echo(eio::Server& engine);

// "/" and "/custom": on connection emit "auth" with the CONNECT payload; on "/",
// "message" is answered with "message-back" and the same arguments, and
// "message-with-ack" is acknowledged with the same arguments.
void install_protocol_echo(Server& io);

// "/test" (every event below takes an optional ack, answered with true):
//   auth {"deny":"why"}        refused: CONNECT_ERROR {"message":"why","data":{...}}
//   join room / leave room
//   to room event ...args      socket.to(room).emit(event, ...args)
//   except room other event ...args   io.of("/test").to(room).except(other).emit(...)
//   broadcast event ...args    socket.broadcast.emit(event, ...args)
//   all event ...args          io.of("/test").emit(event, ...args)
//   ask timeout_ms ...args     the server emits "question" ...args to the sender with
//                              an ack and a timeout; acks "ask" with [error|null,
//                              ...reply]
//   bye close                  socket.disconnect(close)
void install_test_namespace(Server& io);

}  // namespace sio
