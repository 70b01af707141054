#pragma once
// A node's name bound to its TLS certificate (issue 10, review F3).
//
// CAF 0.17's openssl module checks that a peer's certificate comes from the cluster CA,
// but keeps the SSL session private: Ra cannot see which certificate a connection
// presented, so any holder of a cluster certificate could call itself any node. The node
// actors' TLS hello therefore carries a proof of identity: the sender's certificate (PEM)
// and its signature, with the certificate's key, over
//   "ra-hello-v1" NUL sender-name NUL receiver-name NUL unix-milliseconds.
// The receiver accepts the hello only if the certificate chains to its CA file, names the
// sender (X509_check_host: a DNS subjectAltName, or the CN when there is none; or the CN
// exactly), the signature verifies and the time is within `max_clock_skew` of its own.
// A proof names its receiver, and travels only inside TLS, so a node cannot reuse a proof
// it received to pose as its sender elsewhere.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "ra/expected.hpp"

namespace ra::actors {

struct identity_proof {
  std::string certificate_pem;
  std::string signature;
  int64_t unix_ms = 0;
};

class node_identity {
 public:
  /// How far the sender's clock may be from the receiver's.
  static constexpr int64_t max_clock_skew_ms = 5 * 60 * 1000;

  /// Reads the node's certificate and key (PEM; the key may be encrypted with
  /// `passphrase`) and the CA file. An error says which file and why.
  static expected<std::shared_ptr<const node_identity>, std::string> load(const std::string& certificate_file,
                                                                         const std::string& key_file,
                                                                         const std::string& passphrase,
                                                                         const std::string& ca_file);
  ~node_identity();
  node_identity(const node_identity&) = delete;
  node_identity& operator=(const node_identity&) = delete;

  /// This node's proof that it is `self_name`, for `receiver`.
  identity_proof prove(std::string_view self_name, std::string_view receiver, int64_t now_ms) const;

  /// Empty if `proof` shows that its sender is `sender` and meant it for `receiver` (this
  /// node), else why not.
  std::string check(const identity_proof& proof, std::string_view sender, std::string_view receiver,
                    int64_t now_ms) const;

  /// The subject CN of the PEM certificate in `file` (the name a node with it may use).
  static expected<std::string, std::string> certificate_name(const std::string& file);

  /// The milliseconds since the Unix epoch now (the proofs' clock).
  static int64_t now_ms();

 private:
  struct impl;
  explicit node_identity(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace ra::actors
