// Lesson 02's connection plumbing, below HTTP/2: browsers speak HTTP/2 only over
// TLS, so one port takes every way in, told apart by the first bytes:
//   0x16                 a TLS handshake (RFC 8446 §5.1); ALPN then picks "h2"
//   "PRI * HTTP/2.0..."  cleartext HTTP/2 with prior knowledge (RFC 9113 §3.3)
//   anything else        HTTP/1.1, answered 505 with how to connect, and closed
// Once a connection speaks HTTP/2, its bytes go to h2::Connection (connection.cpp),
// which the chat in server.cpp made. Also here: HTTP/1.1 responses as HTTP/2
// fields, and where the binary is (the certificate is kept beside it).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "02-http2-push/connection.h"
#include "02-http2-push/hpack.h"
#include "02-http2-push/tls.h"
#include "common/http1.h"
#include "common/loop.h"
#include "common/net.h"

namespace transport {

// What a connection is, decided by its first bytes: TLS (then ALPN says h2 or
// not), cleartext HTTP/2, or an HTTP/1.1 request that gets told how to connect.
// With TLS, `plain` holds decrypted bytes the HTTP/2 layer has not used yet.
struct Peer {
  enum class Mode { sniffing, h2, http1 };
  Mode mode = Mode::sniffing;
  std::weak_ptr<net::Connection> conn;
  uint64_t id = 0;
  std::unique_ptr<tls::Session> tls;  // null for cleartext
  std::string plain;
  std::unique_ptr<h2::Connection> h2;
  loop::TimerId timer = 0;

  void send(std::string_view bytes);
};

loop::TimerId watch_handshake(loop::Loop& loop, int64_t timeout_ms,
                              const std::shared_ptr<net::Connection>& conn, Peer* p);

// Tells a connection's first bytes apart and hands them on: HTTP/2 bytes (out of
// TLS or not) to peer.h2, made by start_h2 the moment the connection is HTTP/2.
class Sniffer {
 public:
  Sniffer(const tls::Context& tls, int64_t port, std::function<void(Peer&)> start_h2);
  // Raw bytes from the socket; returns how many were used, as net::Connection wants.
  size_t on_input(Peer& peer, std::string_view in);

 private:
  size_t on_plain(Peer& peer, std::string_view in);
  size_t explain_http1(Peer& peer, std::string_view in);

  const tls::Context& tls_;
  int64_t port_;  // named in the 505's advice
  std::function<void(Peer&)> start_h2_;
};

// An HTTP/1.1 response's header fields, as HTTP/2 sends them.
hpack::HeaderList fields_of(const http::Response& r);

// The build directory: where the binary is (for the certificate).
std::string binary_dir(const char* argv0);

}  // namespace transport
