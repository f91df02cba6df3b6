// TLS for the lesson, with OpenSSL's libssl used as a pipe only: ciphertext in,
// plaintext out, and back. libssl never sees the socket; the event loop and
// net::Connection do the I/O as in every lesson, and every HTTP/2 byte above
// TLS is ours. Browsers speak HTTP/2 only over TLS, choosing it with ALPN
// (RFC 7301): the client lists protocols in its ClientHello, we pick "h2".
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>

namespace tls {

struct CtxFree {
  void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
};
struct SslFree {
  void operator()(SSL* p) const { SSL_free(p); }
};

// The server's certificate and settings, shared by every connection.
class Context {
 public:
  // Loads dir/localhost.pem (key and self-signed certificate for localhost,
  // 127.0.0.1 and ::1), generating it first if it is not there. "" or what failed.
  std::string load(const std::string& dir);
  SSL_CTX* get() const { return ctx_.get(); }
  const std::string& pem_path() const { return pem_path_; }

 private:
  std::unique_ptr<SSL_CTX, CtxFree> ctx_;
  std::string pem_path_;
};

// One connection's TLS state. Memory BIOs on both sides: feed() takes what came
// off the socket, write() takes what we want to send; both append the ciphertext
// to send to `wire`. A failure is returned as text and ends only this connection.
class Session {
 public:
  explicit Session(const Context& context);
  // Ciphertext in; any plaintext it held is appended to `plain`. Returns "" or the
  // error. `finished` turns true once the handshake is done (ALPN is then known).
  std::string feed(std::string_view cipher, std::string& plain, std::string& wire);
  std::string write(std::string_view plain, std::string& wire);
  bool handshake_done() const { return SSL_is_init_finished(ssl_.get()) == 1; }
  // The protocol ALPN chose: "h2", "http/1.1", or "" when the client sent none.
  std::string alpn() const;
  bool peer_closed() const { return peer_closed_; }

 private:
  void drain(std::string& wire);
  std::unique_ptr<SSL, SslFree> ssl_;
  BIO* in_ = nullptr;  // owned by ssl_
  BIO* out_ = nullptr;  // owned by ssl_
  bool peer_closed_ = false;
};

}  // namespace tls
