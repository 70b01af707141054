#include "actors/node_identity.hpp"

#include <chrono>
#include <cstdlib>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

namespace ra::actors {

namespace {

struct bio_free {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct x509_free {
  void operator()(X509* x) const { X509_free(x); }
};
struct pkey_free {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct store_free {
  void operator()(X509_STORE* s) const { X509_STORE_free(s); }
};
struct store_ctx_free {
  void operator()(X509_STORE_CTX* c) const { X509_STORE_CTX_free(c); }
};
struct md_ctx_free {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using bio_ptr = std::unique_ptr<BIO, bio_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using store_ptr = std::unique_ptr<X509_STORE, store_free>;
using store_ctx_ptr = std::unique_ptr<X509_STORE_CTX, store_ctx_free>;
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_free>;

/// OpenSSL's last error as text, and the thread's error queue emptied (libcaf_openssl
/// needs it empty: see the workaround in node_link.cpp).
std::string ssl_error() {
  unsigned long e = ERR_get_error();
  const char* reason = e ? ERR_reason_error_string(e) : nullptr;
  std::string out = reason ? reason : e ? "error " + std::to_string(e) : "unknown error";
  ERR_clear_error();
  return out;
}

bio_ptr read_file(const std::string& path) { return bio_ptr{BIO_new_file(path.c_str(), "r")}; }

std::string signed_text(std::string_view sender, std::string_view receiver, int64_t unix_ms) {
  std::string s = "ra-hello-v1";
  s.push_back('\0');
  s.append(sender);
  s.push_back('\0');
  s.append(receiver);
  s.push_back('\0');
  s.append(std::to_string(unix_ms));
  return s;
}

/// Ed25519 and Ed448 sign the message itself; RSA and EC keys a SHA-256 digest.
const EVP_MD* digest_for(const EVP_PKEY* key) {
  int id = EVP_PKEY_get_base_id(key);
  return id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448 ? nullptr : EVP_sha256();
}

std::string common_name(X509* cert) {
  char buf[256];
  int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string{};
}

}  // namespace

struct node_identity::impl {
  std::string certificate_pem;
  pkey_ptr key;
  store_ptr ca;
};

node_identity::node_identity(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
node_identity::~node_identity() = default;

int64_t node_identity::now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

expected<std::shared_ptr<const node_identity>, std::string> node_identity::load(const std::string& certificate_file,
                                                                              const std::string& key_file,
                                                                              const std::string& passphrase,
                                                                              const std::string& ca_file) {
  using fail = unexpected<std::string>;
  auto p = std::make_unique<impl>();
  auto cert_bio = read_file(certificate_file);
  if (!cert_bio) return fail{"cannot read the certificate " + certificate_file + ": " + ssl_error()};
  x509_ptr cert{PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr)};
  if (!cert) return fail{"the certificate " + certificate_file + " is not a PEM certificate: " + ssl_error()};
  bio_ptr out{BIO_new(BIO_s_mem())};
  if (!out || PEM_write_bio_X509(out.get(), cert.get()) != 1) return fail{"encoding the certificate: " + ssl_error()};
  char* data = nullptr;
  long len = BIO_get_mem_data(out.get(), &data);
  p->certificate_pem.assign(data, static_cast<size_t>(len));

  auto key_bio = read_file(key_file);
  if (!key_bio) return fail{"cannot read the key " + key_file + ": " + ssl_error()};
  // With no callback, OpenSSL takes the last argument as the passphrase.
  void* pass = passphrase.empty() ? nullptr : const_cast<char*>(passphrase.c_str());
  p->key.reset(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, pass));
  if (!p->key) return fail{"the key " + key_file + " is not a PEM private key (or the passphrase is wrong): " + ssl_error()};
  if (X509_check_private_key(cert.get(), p->key.get()) != 1)
    return fail{"the key " + key_file + " does not belong to the certificate " + certificate_file};

  p->ca.reset(X509_STORE_new());
  if (!p->ca || X509_STORE_load_file(p->ca.get(), ca_file.c_str()) != 1)
    return fail{"cannot load the CA file " + ca_file + ": " + ssl_error()};
  return std::shared_ptr<const node_identity>(new node_identity(std::move(p)));  // private constructor
}

expected<std::string, std::string> node_identity::certificate_name(const std::string& file) {
  auto bio = read_file(file);
  x509_ptr cert{bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr};
  if (!cert) return unexpected<std::string>{"cannot read the certificate " + file + ": " + ssl_error()};
  auto cn = common_name(cert.get());
  if (cn.empty()) return unexpected<std::string>{"the certificate " + file + " has no CN"};
  return cn;
}

identity_proof node_identity::prove(std::string_view self_name, std::string_view receiver, int64_t now) const {
  identity_proof proof;
  proof.certificate_pem = impl_->certificate_pem;
  proof.unix_ms = now;
  const std::string text = signed_text(self_name, receiver, now);
  md_ctx_ptr ctx{EVP_MD_CTX_new()};
  size_t len = 0;
  if (ctx && EVP_DigestSignInit(ctx.get(), nullptr, digest_for(impl_->key.get()), nullptr, impl_->key.get()) == 1 &&
      EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(text.data()), text.size()) == 1) {
    proof.signature.resize(len);
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(proof.signature.data()), &len,
                       reinterpret_cast<const unsigned char*>(text.data()), text.size()) == 1)
      proof.signature.resize(len);
    else
      proof.signature.clear();
  }
  // An empty signature fails the receiver's check (which logs it); nothing to do here.
  ERR_clear_error();
  return proof;
}

std::string node_identity::check(const identity_proof& proof, std::string_view sender, std::string_view receiver,
                                 int64_t now) const {
  if (std::llabs(proof.unix_ms - now) > max_clock_skew_ms)
    return "its proof's time is " + std::to_string((proof.unix_ms - now) / 1000) +
           " s away from ours (clocks out of sync, or a replay)";
  bio_ptr bio{BIO_new_mem_buf(proof.certificate_pem.data(), static_cast<int>(proof.certificate_pem.size()))};
  x509_ptr cert{bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr};
  if (!cert) return "no certificate in its hello: " + ssl_error();
  store_ctx_ptr ctx{X509_STORE_CTX_new()};
  if (!ctx || X509_STORE_CTX_init(ctx.get(), impl_->ca.get(), cert.get(), nullptr) != 1)
    return "cannot check its certificate: " + ssl_error();
  if (X509_verify_cert(ctx.get()) != 1) {
    std::string why = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
    ERR_clear_error();
    return "its certificate is not from our CA: " + why;
  }
  const std::string name(sender);
  const bool named = X509_check_host(cert.get(), name.data(), name.size(), 0, nullptr) == 1 || common_name(cert.get()) == name;
  ERR_clear_error();
  if (!named) return "its certificate is for " + common_name(cert.get()) + ", not " + name;
  const std::string text = signed_text(sender, receiver, proof.unix_ms);
  EVP_PKEY* key = X509_get0_pubkey(cert.get());
  md_ctx_ptr md{EVP_MD_CTX_new()};
  const bool ok = key && md && EVP_DigestVerifyInit(md.get(), nullptr, digest_for(key), nullptr, key) == 1 &&
                  EVP_DigestVerify(md.get(), reinterpret_cast<const unsigned char*>(proof.signature.data()),
                                   proof.signature.size(), reinterpret_cast<const unsigned char*>(text.data()),
                                   text.size()) == 1;
  ERR_clear_error();
  if (!ok) return "its signature does not verify with its certificate (not made by the holder of its key)";
  return {};
}

}  // namespace ra::actors
