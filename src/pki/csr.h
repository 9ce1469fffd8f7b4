#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "pki/handles.h"

namespace su::pki {

struct CsrSubject {
  std::string common_name;
  std::string organization;  // optional
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
  std::vector<std::string> emails;
};

// A PKCS#10 request (version 0) for `key`, signed with SHA-256, SANs as a request extension.
// Only the public half of the key goes into it.
Result<std::string> makeCsrPem(EVP_PKEY* key, const CsrSubject& subject);

// Parses a PEM CSR and checks its self-signature.
Result<X509ReqPtr> parseCsr(std::string_view pem);

}  // namespace su::pki
