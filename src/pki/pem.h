#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "pki/handles.h"

namespace su::pki {

// Every certificate in a PEM bundle, in order; an error when there is none.
Result<std::vector<X509Ptr>> parseCertificates(std::string_view pem, std::string_view what);
// A private key in PKCS#8, PKCS#1 or SEC1 PEM. The error never quotes the input.
Result<PKeyPtr> parsePrivateKey(std::string_view pem, std::string_view what);

std::string certificateToPem(X509* cert);
Result<std::string> privateKeyToPem(EVP_PKEY* key);

// Seconds since the epoch of notAfter.
Result<int64_t> notAfter(X509* cert);

std::string base64Encode(std::string_view data);
Result<std::string> base64Decode(std::string_view text);

}  // namespace su::pki
