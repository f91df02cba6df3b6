// Fuzz target: lesson 01's whole server (01-polling/server.cpp on common/'s HTTP
// server): bytes in on up to four connections at a time, through the HTTP/1.1
// parser and the exchange bookkeeping, to the long-poll handlers and back. See
// server_harness.h for the input format and how a run goes.
//
// Replay: FUZZ_SERVER_LOG=1 build/fuzz/fuzz-lesson1_server CRASHFILE
#define main lesson1_main
#include "01-polling/server.cpp"
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
  options.poll_timeout_ms = now ? 0 : later;
  options.head_timeout_ms = now ? 0 : later;
  if (bits & fuzz::kSmallHistory) options.history = 2;
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
  PollingChat app(loop, options, journal);
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
