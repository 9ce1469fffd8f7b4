#pragma once

#include <string>

#include "common/clock.h"
#include "common/result.h"
#include "pki/handles.h"

namespace su::sim {

// The simulator's own certificate authority and server certificate, kept in its state directory
// so that a restarted simulator is still trusted by clients holding its ca.crt.
struct TlsMaterial {
  pki::X509Ptr ca_cert;
  pki::PKeyPtr ca_key;
  std::string ca_pem;
  std::string server_cert_pem;
  std::string server_key_pem;
  std::string ca_path;
};

Result<TlsMaterial> loadOrCreateTls(const std::string& state_dir);

struct IssuedCertificate {
  std::string pem;
  std::string serial;  // upper-case hex
  TimePoint not_before;
  TimePoint not_after;
};

// Signs a client-authentication certificate for the public key and subject of a verified CSR.
Result<IssuedCertificate> signClientCertificate(const TlsMaterial& tls, X509_REQ* csr,
                                                TimePoint not_before, TimePoint not_after);

// The serial of a certificate in the same form as IssuedCertificate::serial.
std::string serialHex(X509* cert);

}  // namespace su::sim
