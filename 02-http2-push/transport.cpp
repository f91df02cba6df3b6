// One port, three ways in: TLS (ALPN "h2" or not), cleartext HTTP/2 with prior
// knowledge, or HTTP/1.1, told in a 505 how to connect. See transport.h.

#include "02-http2-push/transport.h"

#include <unistd.h>

#include <cctype>
#include <climits>

#include "common/http1.h"
#include "common/http_server.h"
#include "common/log.h"

namespace transport {

void Peer::send(std::string_view bytes) {
  auto c = conn.lock();
  if (!c) return;
  if (!tls) return c->send(bytes);
  std::string wire;
  if (std::string e = tls->write(bytes, wire); !e.empty()) {
    logs::warn("#%llu %s", (unsigned long long)id, e.c_str());
    return c->close_now();
  }
  c->send(wire);
}

// A connection that has not become HTTP/2 in time (no TLS handshake, no
// preface and SETTINGS, or an HTTP/1.1 request head that never ends) is dropped.
loop::TimerId watch_handshake(loop::Loop& loop, int64_t timeout_ms,
                              const std::shared_ptr<net::Connection>& conn, Peer* p) {
  std::weak_ptr<net::Connection> weak = conn;
  return loop.after(timeout_ms, [weak, p] {
    auto c = weak.lock();
    if (!c || (p->h2 && p->h2->ready())) return;
    logs::info("#%llu no TLS handshake or HTTP/2 preface within the timeout; closing",
               (unsigned long long)p->id);
    c->close_now();
  });
}

Sniffer::Sniffer(const tls::Context& tls, int64_t port,
                 std::function<void(Peer&)> start_h2)
    : tls_(tls), port_(port), start_h2_(std::move(start_h2)) {}

// Raw bytes from the socket: TLS records, or cleartext.
size_t Sniffer::on_input(Peer& peer, std::string_view in) {
  auto conn = peer.conn.lock();
  if (!conn) return in.size();
  // 0x16 is a TLS record of type handshake: a ClientHello (RFC 8446 §5.1).
  if (peer.mode == Peer::Mode::sniffing && !peer.tls && !in.empty() &&
      static_cast<uint8_t>(in[0]) == 0x16)
    peer.tls = std::make_unique<tls::Session>(tls_);
  if (!peer.tls) return on_plain(peer, in);

  const bool was_done = peer.tls->handshake_done();
  std::string wire;
  std::string e = peer.tls->feed(in, peer.plain, wire);
  if (!wire.empty()) conn->send(wire);
  if (!e.empty()) {
    // A TLS failure (a bad record, no common cipher...) ends this connection only.
    logs::info("#%llu %s: %s", (unsigned long long)peer.id, conn->peer().c_str(),
               e.c_str());
    conn->close_after_flush();
    return in.size();
  }
  if (peer.tls->handshake_done() && !was_done) {
    const std::string alpn = peer.tls->alpn();
    logs::trace("#%llu TLS handshake done, ALPN \"%s\"", (unsigned long long)peer.id,
                alpn.c_str());
    // RFC 9113 §3.2: over TLS, HTTP/2 is chosen with ALPN "h2" and nothing else.
    if (alpn == "h2")
      start_h2_(peer);
    else
      peer.mode = Peer::Mode::http1;
  }
  if (peer.tls->peer_closed()) conn->close_after_flush();
  if (!peer.plain.empty() && conn->open()) {
    const size_t used = on_plain(peer, peer.plain);
    peer.plain.erase(0, used);
  }
  return in.size();
}

// Bytes above TLS (or cleartext): HTTP/2, or HTTP/1.1 to be answered in kind.
size_t Sniffer::on_plain(Peer& peer, std::string_view in) {
  if (peer.mode == Peer::Mode::sniffing) {
    h2::ParseResult r = h2::check_preface(in);
    if (r.status == h2::Status::need_more) return 0;
    // "PRI " and then something wrong is a broken HTTP/2 client: the HTTP/2
    // layer answers it (GOAWAY PROTOCOL_ERROR, RFC 9113 §3.4). The method PRI is
    // reserved for the preface (RFC 7540 §11.6), so no HTTP/1.1 request starts so.
    // Anything else is HTTP/1.x.
    size_t same = 0;
    while (same < in.size() && same < 4 && in[same] == h2::kConnectionPreface[same])
      ++same;
    if (r.status == h2::Status::done || same == 4)
      start_h2_(peer);
    else
      peer.mode = Peer::Mode::http1;
  }
  if (peer.mode == Peer::Mode::http1) return explain_http1(peer, in);
  return peer.h2->on_input(in);
}

// Someone spoke HTTP/1.1 to us (a browser at http://, curl without --http2...):
// answer once, saying how to connect, and close.
size_t Sniffer::explain_http1(Peer& peer, std::string_view in) {
  http::Request req;
  http::ParseResult r = http::parse_request(in, http::Limits{}, req);
  if (r.status == http::Status::need_more) return 0;
  auto conn = peer.conn.lock();
  http::trace_message(peer.id, "←", in.substr(0, r.consumed ? r.consumed : in.size()));
  const std::string port = std::to_string(port_);
  http::Response res;
  // RFC 9110 §15.6.6: 505, the protocol version is not supported.
  res.status = 505;
  res.body =
      "This server speaks HTTP/2 only.\n"
      "  In a browser: https://localhost:" +
      port +
      "/ (TLS, ALPN h2)\n"
      "  With curl:    curl -k https://localhost:" +
      port +
      "/\n"
      "            or  curl --http2-prior-knowledge http://localhost:" +
      port + "/\n";
  const std::string bytes = http::serialize(res, false);
  http::trace_message(peer.id, "→", bytes);
  peer.send(bytes);
  if (conn) conn->close_after_flush();
  return in.size();
}

// Header names are lower case in HTTP/2 (RFC 9113 §8.2.1).
hpack::HeaderList fields_of(const http::Response& r) {
  hpack::HeaderList out;
  // Room for :status and content-length too, which the stream adds.
  out.reserve(r.headers.size() + 3);
  out.push_back({"content-type", r.content_type});
  for (const http::Header& h : r.headers) {
    std::string name = h.name;
    for (char& c : name)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.push_back({name, h.value});
  }
  return out;
}

// The build directory: where the binary is (for the certificate).
std::string binary_dir(const char* argv0) {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  std::string path =
      n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string(argv0);
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

}  // namespace transport
