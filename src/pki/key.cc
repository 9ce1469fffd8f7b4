#include "pki/key.h"

#include <openssl/rsa.h>

#include "pki/pem.h"

namespace su::pki {

Result<PKeyPtr> generateKey(KeyType type) {
  EVP_PKEY* key = nullptr;
  switch (type) {
    case KeyType::kEcP256:
      key = EVP_EC_gen("P-256");
      break;
    case KeyType::kRsa2048:
      key = EVP_RSA_gen(2048);
      break;
    case KeyType::kRsa3072:
      key = EVP_RSA_gen(3072);
      break;
  }
  if (key == nullptr) {
    drainErrors();
    return makeError(ErrorKind::kInternal, "could not generate a private key");
  }
  return PKeyPtr(key);
}

Result<SecretString> privateKeyPem(EVP_PKEY* key) {
  auto pem = privateKeyToPem(key);
  if (!pem) return pem.error();
  return SecretString(std::move(pem).value());
}

}  // namespace su::pki
