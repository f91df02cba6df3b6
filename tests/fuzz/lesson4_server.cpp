// Fuzz target: lesson 04's whole server (04-socketio-lite/server.cpp): HTTP/1.1
// long polling and WebSocket (lesson 03's code) carrying Engine.IO v4, Socket.IO
// v5 on top, and the chat's handlers, rooms and HTTP API. See server_harness.h
// for the input format and how a run goes.
//
// Session ids are random and unguessable, so a fuzzer could never name one: the
// harness replaces the text "@SID" in every write with the sid of the latest
// Engine.IO handshake the server answered (0{"sid":"...","upgrades":...).
//
// Option bits (the input's first byte), besides the harness's: 0x10
// --protocol-echo (the test suites' namespaces and /engine.io/), 0x20 a
// heartbeat at once (pingInterval 0: a ping in the first turn), 0x40 payloads of
// at most 64 bytes, 0x80 a cap of 2 sessions.
//
// Replay: FUZZ_SERVER_LOG=1 build/fuzz/fuzz-lesson4_server CRASHFILE
#define main lesson4_main
#include "04-socketio-lite/server.cpp"
#undef main

#include "tests/fuzz/server_harness.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::init_process();
  return 0;
}

// The sid in an Engine.IO open packet: {"sid":"<20 characters>","upgrades":
static void find_sid(std::string& tail, std::string_view bytes, std::string& sid) {
  tail.append(bytes);
  const std::string_view key = "{\"sid\":\"";
  for (size_t at = tail.find(key); at != std::string::npos; at = tail.find(key, at + 1)) {
    const size_t start = at + key.size(), end = tail.find('"', start);
    if (end == std::string::npos) break;
    if (tail.compare(end, 13, "\",\"upgrades\":") == 0)
      sid = tail.substr(start, end - start);
  }
  if (tail.size() > 64) tail.erase(0, tail.size() - 64);  // a sid split across reads
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fuzz::Script script = fuzz::parse_script(data, size);
  const uint8_t bits = script.options;
  const int64_t later = 3'600'000;  // never, within one input
  const bool now = bits & fuzz::kTimeoutsNow;
  Options options;
  options.protocol_echo = bits & 0x10;
  options.ping_interval_ms = bits & 0x20 ? 0 : later;
  options.ping_timeout_ms = now ? 0 : later;
  options.connect_timeout_ms = now ? 0 : later;
  options.head_timeout_ms = now ? 0 : later;
  if (bits & 0x40) options.max_payload = 64;
  if (bits & 0x80) options.max_sessions = 2;
  if (bits & fuzz::kSmallHistory) options.history = 2;
  net::Limits limits;
  if (bits & fuzz::kSmallBuffers) {
    limits.input_cap = 256;
    limits.output_cap = 8 * 1024;
  }

  // As main() builds them, in the same order.
  loop::Loop loop;
  eio::Options engine_options;
  engine_options.ping_interval_ms = options.ping_interval_ms;
  engine_options.ping_timeout_ms = options.ping_timeout_ms;
  engine_options.max_payload = static_cast<size_t>(options.max_payload);
  engine_options.cors_origin = options.cors_origin;
  engine_options.max_sessions = static_cast<size_t>(options.max_sessions);
  engine_options.upgrade_timeout_ms = now ? 0 : later;
  eio::Server engine(loop, engine_options);
  sio::Options io_options;
  io_options.connect_timeout_ms = options.connect_timeout_ms;
  io_options.limits.max_attachment_bytes = static_cast<size_t>(options.max_payload);
  sio::Server io(loop, engine, io_options);
  sio::registry::install(&io);
  // The log in memory only: a fuzz input writes no file.
  chat::Journal journal(loop, static_cast<size_t>(options.history));
  journal.open({"none", "turn"});
  SocketIoChat app(options, engine, io, journal);
  // Connection state recovery, as main() wires it on one node (sessions and the
  // replayable packets in memory): a CONNECT with a pid and an offset reaches it.
  sio::FileSessionStore sessions;
  chat::Journal replay_journal(loop, static_cast<size_t>(options.history));
  sio::JournalReplayLog replay(replay_journal);
  std::unique_ptr<sio::Recovery> recovery;
  if (!options.protocol_echo) {
    replay_journal.open({"none", "turn"});
    sessions.open("none");
    recovery = std::make_unique<sio::Recovery>(
        io, sio::RecoveryOptions{options.recovery_window_ms}, sessions, replay);
    io.recovery = recovery.get();
  }
  engine_options.path = "/engine.io/";
  eio::Server echo_engine(loop, engine_options);
  if (options.protocol_echo) {
    sio::install_test_namespace(io);
    sio::install_engine_echo(echo_engine);
  }
  http::ServerOptions server_options;
  server_options.limits.max_body = static_cast<size_t>(options.max_payload);
  server_options.head_timeout_ms = options.head_timeout_ms;
  server_options.idle_timeout_ms = now ? 0 : later;
  http::Server server(loop, server_options, [&](const auto& ex) {
    if (options.protocol_echo && echo_engine.handle(ex)) return;
    app.handle(ex);
  });
  {
    fuzz::Harness harness(loop, limits, [&server](const auto& c) { server.serve(c); });
    std::string tail, sid;
    harness.observe = [&](std::string_view bytes) { find_sid(tail, bytes, sid); };
    harness.rewrite = [&](std::string& bytes) {
      if (sid.empty()) return;
      for (size_t at = bytes.find("@SID"); at != std::string::npos;
           at = bytes.find("@SID", at + sid.size()))
        bytes.replace(at, 4, sid);
    };
    harness.play(script);
    if (bits & fuzz::kShutdown) {
      app.shutdown([] {});
      echo_engine.shutdown();
      harness.settle();
    }
  }
  return 0;  // ~sio::Server uninstalls it from the registry
}
