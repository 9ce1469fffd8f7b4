#pragma once

#include "common/result.h"
#include "common/secret.h"
#include "pki/handles.h"

namespace su::pki {

enum class KeyType { kEcP256, kRsa2048, kRsa3072 };

// A fresh private key. Errors never carry OpenSSL's text for key material.
Result<PKeyPtr> generateKey(KeyType type);

// The key as PKCS#8 PEM, held as a secret.
Result<SecretString> privateKeyPem(EVP_PKEY* key);

}  // namespace su::pki
