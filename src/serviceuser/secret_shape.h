#pragma once

#include <optional>
#include <string>

#include "common/json.h"
#include "common/secret.h"
#include "serviceuser/api_types.h"
#include "serviceuser/decision.h"

// The Secret that carries a ServiceUser's token: its labels, annotations, owner reference and
// data, and what the controller reads back from it.
namespace su::serviceuser {

inline constexpr const char* kManagedByLabel = "app.kubernetes.io/managed-by";
inline constexpr const char* kManagedByValue = "serviceuser-operator";
inline constexpr const char* kRevisionAnnotation = "identity.serviceuser.dev/revision";
inline constexpr const char* kIdentityIdAnnotation = "identity.serviceuser.dev/identity-id";
inline constexpr const char* kIdentityNameAnnotation = "identity.serviceuser.dev/identity-name";
inline constexpr const char* kEndDateAnnotation = "identity.serviceuser.dev/end-date";

// The credential material that goes into the Secret's data.
struct Delivery {
  int64_t revision = 0;
  std::string identity_id;
  std::string identity_name;
  std::string end_date;
  SecretString token;
  std::optional<std::string> certificate_pem;
  std::optional<SecretString> private_key_pem;
};

// A new Secret for a first delivery.
json::Json newSecret(const ServiceUser& su, const Delivery& d);
// `live` (read from the API server, with its resourceVersion) with the token replaced in one
// write: other keys the user added stay; the previous identity's certificate goes.
json::Json replaceToken(const ServiceUser& su, json::Json live, const Delivery& d);
// `live` with the client certificate and key added for the current identity.
json::Json addCertificate(const ServiceUser& su, json::Json live, const std::string& cert_pem,
                          const SecretString& key_pem);
// `live` with the template's labels and annotations applied; data untouched.
json::Json withTemplateMetadata(const ServiceUser& su, json::Json live);
// `live` without this ServiceUser's owner reference (deletionPolicy Orphan keeps the Secret).
json::Json withoutOwner(const ServiceUser& su, json::Json live);

// What the controller needs to know about a Secret (cached or live). Works on cached copies whose
// data values were replaced by digests: only presence and emptiness are read.
SecretView viewSecret(const ServiceUser& su, const json::Json* secret);

// Informer transform for owned Secrets: drops managedFields and replaces every data value with
// a digest, so the cache never holds a token and stays small.
void digestSecretData(json::Json& secret);

}  // namespace su::serviceuser
