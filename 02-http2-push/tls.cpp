#include "tls.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "common/log.h"

namespace tls {

namespace {

struct KeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct FileClose {
  void operator()(FILE* f) const { std::fclose(f); }
};

// The first queued OpenSSL error, as text.
std::string openssl_error(const char* what) {
  char buf[256] = "no detail";
  if (unsigned long e = ERR_get_error()) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return std::string(what) + ": " + buf;
}

bool add_extension(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (!ext) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// A P-256 key and a certificate for localhost that signs itself, valid a year.
// Browsers warn about it (nobody they trust vouches for it); the README says
// how to trust it, or to click through.
std::string generate(const std::string& path) {
  std::unique_ptr<EVP_PKEY, KeyFree> key(EVP_EC_gen("P-256"));
  std::unique_ptr<X509, X509Free> cert(X509_new());
  if (!key || !cert) return openssl_error("generating a key");
  X509_set_version(cert.get(), 2);  // v3, needed for subjectAltName
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;  // a positive number
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 365L * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1,
                             0);
  X509_set_issuer_name(cert.get(), name);
  // Browsers match the host against subjectAltName only, never the CN.
  if (!add_extension(cert.get(), NID_subject_alt_name,
                     "DNS:localhost,IP:127.0.0.1,IP:::1") ||
      !add_extension(cert.get(), NID_basic_constraints, "critical,CA:FALSE") ||
      !add_extension(cert.get(), NID_key_usage, "critical,digitalSignature") ||
      !add_extension(cert.get(), NID_ext_key_usage, "serverAuth") ||
      !X509_sign(cert.get(), key.get(), EVP_sha256()))
    return openssl_error("signing the certificate");
  // Written to a private temporary file and renamed, so two servers starting at
  // once never read half a file.
  const std::string tmp = path + ".tmp" + std::to_string(::getpid());
  {
    std::unique_ptr<FILE, FileClose> f(std::fopen(tmp.c_str(), "w"));
    if (!f) return "cannot write " + tmp + "; try --cert-dir with a writable directory";
    ::chmod(tmp.c_str(), 0600);
    if (!PEM_write_PrivateKey(f.get(), key.get(), nullptr, nullptr, 0, nullptr,
                              nullptr) ||
        !PEM_write_X509(f.get(), cert.get()))
      return openssl_error("writing the certificate");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return "cannot rename " + tmp;
  logs::info("generated a self-signed certificate for localhost: %s", path.c_str());
  return "";
}

// ALPN (RFC 7301 §3.2): the client's list is length-prefixed names; we take "h2",
// or "http/1.1" (to tell that client how to reach us), else no ALPN at all.
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen,
                const unsigned char* in, unsigned int inlen, void*) {
  for (const char* want : {"h2", "http/1.1"}) {
    const std::string_view w = want;
    for (unsigned i = 0; i < inlen; i += 1 + in[i]) {
      const std::string_view offered(reinterpret_cast<const char*>(in + i + 1),
                                     std::min<unsigned>(in[i], inlen - i - 1));
      if (offered == w) {
        *out = in + i + 1;
        *outlen = in[i];
        return SSL_TLSEXT_ERR_OK;
      }
    }
  }
  return SSL_TLSEXT_ERR_NOACK;
}

}  // namespace

std::string Context::load(const std::string& dir) {
  pem_path_ = dir + "/localhost.pem";
  struct stat st;
  if (::stat(pem_path_.c_str(), &st) != 0) {
    if (std::string e = generate(pem_path_); !e.empty()) return e;
  }
  ctx_.reset(SSL_CTX_new(TLS_server_method()));
  if (!ctx_) return openssl_error("SSL_CTX_new");
  SSL_CTX* c = ctx_.get();
  // RFC 9113 §9.2: TLS 1.2 or later; §9.2.1: no TLS compression, no renegotiation.
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  // RFC 9113 §9.2.2: over TLS 1.2, only ephemeral key exchange and AEAD ciphers
  // (the suites of Appendix A are refused by clients with INADEQUATE_SECURITY).
  SSL_CTX_set_cipher_list(c, "ECDHE+AESGCM:ECDHE+CHACHA20");
  if (SSL_CTX_use_certificate_chain_file(c, pem_path_.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(c, pem_path_.c_str(), SSL_FILETYPE_PEM) != 1)
    return openssl_error(
        ("loading " + pem_path_ + " (delete it to make a new one)").c_str());
  SSL_CTX_set_alpn_select_cb(c, select_alpn, nullptr);
  return "";
}

Session::Session(const Context& context) : ssl_(SSL_new(context.get())) {
  in_ = BIO_new(BIO_s_mem());
  out_ = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl_.get(), in_, out_);  // ssl_ owns both from here
  SSL_set_accept_state(ssl_.get());
}

void Session::drain(std::string& wire) {
  char buf[16384];
  int n;
  while ((n = BIO_read(out_, buf, sizeof buf)) > 0)
    wire.append(buf, static_cast<size_t>(n));
}

std::string Session::feed(std::string_view cipher, std::string& plain,
                          std::string& wire) {
  if (!cipher.empty() &&
      BIO_write(in_, cipher.data(), static_cast<int>(cipher.size())) <= 0)
    return "BIO_write failed";
  char buf[16384];
  for (;;) {
    int n = SSL_read(ssl_.get(), buf, sizeof buf);
    if (n > 0) {
      plain.append(buf, static_cast<size_t>(n));
      continue;
    }
    const int err = SSL_get_error(ssl_.get(), n);
    drain(wire);  // handshake messages, alerts
    if (err == SSL_ERROR_WANT_READ) return "";
    if (err == SSL_ERROR_ZERO_RETURN) {
      peer_closed_ = true;  // close_notify
      return "";
    }
    return openssl_error("TLS");
  }
}

std::string Session::write(std::string_view plain, std::string& wire) {
  if (!plain.empty() &&
      SSL_write(ssl_.get(), plain.data(), static_cast<int>(plain.size())) <= 0)
    return openssl_error("SSL_write");
  drain(wire);
  return "";
}

std::string Session::alpn() const {
  const unsigned char* p = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl_.get(), &p, &len);
  return p ? std::string(reinterpret_cast<const char*>(p), len) : std::string();
}

}  // namespace tls
