// Fuzz target: lesson 02's whole server (02-http2-push/server.cpp and all under
// it) on cleartext connections: bytes in, through the sniffing of the first
// bytes, h2c with prior knowledge (RFC 9113 §3.3) or the HTTP/1.1 answer, the
// frame and HPACK layers and the streams, up to the chat's handlers. See
// server_harness.h for the input format and how a run goes.
//
// TLS is left out (it would need a certificate on disk, and libssl is not ours
// to fuzz): a connection whose first byte is 0x16, a TLS handshake record, has
// it changed to 0x17 before it is sent.
//
// Option bits (the input's first byte), besides the harness's: 0x10 two streams
// per connection at most, 0x20 a flood limit of 3 per second.
//
// Replay: FUZZ_SERVER_LOG=1 build/fuzz/fuzz-lesson2_server CRASHFILE
#define main lesson2_main
#include "02-http2-push/server.cpp"
#undef main

#include "tests/fuzz/server_harness.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::init_process();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fuzz::Script script = fuzz::parse_script(data, size);
  const uint8_t bits = script.options;
  Options options;
  options.handshake_timeout_ms = bits & fuzz::kTimeoutsNow ? 0 : 3'600'000;
  if (bits & fuzz::kSmallHistory) options.history = 2;
  if (bits & 0x10) options.max_streams = 2;
  if (bits & 0x20) options.flood_limit = 3;
  net::Limits limits;
  if (bits & fuzz::kSmallBuffers) {
    limits.input_cap = 256;
    limits.output_cap = 8 * 1024;
  }

  // As main() builds them; the Context is never loaded, as no TLS reaches it.
  loop::Loop loop;
  tls::Context tls;
  // The log in memory only: a fuzz input writes no file.
  chat::Journal journal(loop, static_cast<size_t>(options.history));
  journal.open({"none", "turn"});
  StreamingChat app(loop, options, tls, journal);
  {
    fuzz::Harness harness(loop, limits, [&app](const auto& conn) { app.accept(conn); });
    harness.first_bytes = [](std::string& bytes) {
      if (static_cast<uint8_t>(bytes[0]) == 0x16) bytes[0] = 0x17;
    };
    harness.play(script);
    if (bits & fuzz::kShutdown) {
      app.shutdown([] {});
      harness.settle();
    }
  }
  return 0;
}
