// Fuzz target: lesson 03's whole server (03-raw-websocket/server.cpp): HTTP/1.1
// requests, the WebSocket opening handshake, then frames both ways on up to four
// connections, through the chat's handlers and broadcasts. Client frames must be
// masked (RFC 6455 §5.3); the seeds are. See server_harness.h for the input
// format and how a run goes.
//
// Option bits (the input's first byte), besides the harness's: 0x10 messages of
// at most 16 bytes (close 1009), 0x20 an allowed origin http://localhost:3000.
//
// Replay: FUZZ_SERVER_LOG=1 build/fuzz/fuzz-lesson3_server CRASHFILE
#define main lesson3_main
#include "03-raw-websocket/server.cpp"
#undef main

#include "tests/fuzz/server_harness.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::init_process();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fuzz::Script script = fuzz::parse_script(data, size);
  const uint8_t bits = script.options;
  const int64_t later = 3'600'000;  // never, within one input
  const bool now = bits & fuzz::kTimeoutsNow;
  Options options;
  // A ping needs a timer that fires later than now: pings are never sent here,
  // so pong_timeout_ms is never reached either.
  options.ping_interval_ms = later;
  options.pong_timeout_ms = later;
  options.head_timeout_ms = now ? 0 : later;
  if (bits & fuzz::kSmallHistory) options.history = 2;
  if (bits & 0x10) options.max_message = 16;
  if (bits & 0x20) options.allow_origin = "http://localhost:3000, http://127.0.0.1:3000";
  net::Limits limits;
  if (bits & fuzz::kSmallBuffers) {
    limits.input_cap = 256;
    limits.output_cap = 8 * 1024;
  }

  // As main() builds them.
  loop::Loop loop;
  // The log in memory only: a fuzz input writes no file.
  chat::Journal journal(loop, static_cast<size_t>(options.history));
  journal.open({"none", "turn"});
  SocketChat app(loop, options, journal);
  http::ServerOptions server_options;
  server_options.head_timeout_ms = options.head_timeout_ms;
  server_options.idle_timeout_ms = now ? 0 : later;
  http::Server server(loop, server_options, [&app](const auto& ex) { app.handle(ex); });
  {
    fuzz::Harness harness(loop, limits, [&server](const auto& c) { server.serve(c); });
    harness.play(script);
    if (bits & fuzz::kShutdown) {
      app.shutdown();
      harness.settle();
    }
  }
  return 0;
}
