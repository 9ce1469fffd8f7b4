#include "serviceuser/secret_shape.h"

#include <openssl/evp.h>

#include "pki/pem.h"

namespace su::serviceuser {
namespace {

using json::Json;

Json ownerReference(const ServiceUser& su) {
  return Json{{"apiVersion", kApiVersion}, {"kind", "ServiceUser"}, {"name", su.meta.name},
              {"uid", su.meta.uid},        {"controller", true},    {"blockOwnerDeletion", true}};
}

void applyTemplate(const ServiceUser& su, Json& metadata) {
  for (const auto& [k, v] : su.spec.secret_labels) metadata["labels"][k] = v;
  for (const auto& [k, v] : su.spec.secret_annotations) metadata["annotations"][k] = v;
  metadata["labels"][kManagedByLabel] = kManagedByValue;
}

void applyDelivery(const ServiceUser& su, Json& secret, const Delivery& d) {
  Json& ann = secret["metadata"]["annotations"];
  ann[kRevisionAnnotation] = std::to_string(d.revision);
  ann[kIdentityIdAnnotation] = d.identity_id;
  ann[kIdentityNameAnnotation] = d.identity_name;
  if (!d.end_date.empty()) ann[kEndDateAnnotation] = d.end_date;
  Json& data = secret["data"];
  if (!data.is_object()) data = Json::object();
  data[su.spec.keys.token] = pki::base64Encode(d.token.reveal());
  data[su.spec.keys.identity] = pki::base64Encode(d.identity_name);
  data.erase(su.spec.keys.certificate);
  data.erase(su.spec.keys.private_key);
  if (d.certificate_pem && d.private_key_pem) {
    data[su.spec.keys.certificate] = pki::base64Encode(*d.certificate_pem);
    data[su.spec.keys.private_key] = pki::base64Encode(d.private_key_pem->reveal());
  }
}

bool isOwner(const ServiceUser& su, const Json& secret) {
  const Json* refs = json::at(secret, {"metadata", "ownerReferences"});
  if (refs == nullptr || !refs->is_array()) return false;
  for (const Json& ref : *refs) {
    if (json::getString(ref, "uid").value_or("") == su.meta.uid &&
        json::getBool(ref, "controller").value_or(false)) {
      return true;
    }
  }
  return false;
}

bool hasAll(const Json* actual, const std::map<std::string, std::string>& wanted) {
  for (const auto& [k, v] : wanted) {
    if (actual == nullptr || json::getString(*actual, k).value_or("\x01") != v) return false;
  }
  return true;
}

std::string digest(const std::string& value) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(value.data(), value.size(), md, &len, EVP_sha256(), nullptr);
  return "sha256:" + pki::base64Encode(std::string(reinterpret_cast<char*>(md), len));
}

}  // namespace

Json newSecret(const ServiceUser& su, const Delivery& d) {
  Json secret{{"apiVersion", "v1"}, {"kind", "Secret"}, {"type", "Opaque"}};
  Json& metadata = secret["metadata"];
  metadata["name"] = su.spec.secret_name;
  metadata["namespace"] = su.meta.namespace_name;
  metadata["ownerReferences"] = Json::array({ownerReference(su)});
  applyTemplate(su, metadata);
  applyDelivery(su, secret, d);
  return secret;
}

Json replaceToken(const ServiceUser& su, Json live, const Delivery& d) {
  applyTemplate(su, live["metadata"]);
  applyDelivery(su, live, d);
  return live;
}

Json addCertificate(const ServiceUser& su, Json live, const std::string& cert_pem,
                    const SecretString& key_pem) {
  live["data"][su.spec.keys.certificate] = pki::base64Encode(cert_pem);
  live["data"][su.spec.keys.private_key] = pki::base64Encode(key_pem.reveal());
  return live;
}

Json withTemplateMetadata(const ServiceUser& su, Json live) {
  applyTemplate(su, live["metadata"]);
  return live;
}

Json withoutOwner(const ServiceUser& su, Json live) {
  Json& refs = live["metadata"]["ownerReferences"];
  if (!refs.is_array()) return live;
  Json kept = Json::array();
  for (const Json& ref : refs) {
    if (json::getString(ref, "uid").value_or("") != su.meta.uid) kept.push_back(ref);
  }
  refs = kept;
  return live;
}

SecretView viewSecret(const ServiceUser& su, const Json* secret) {
  SecretView v;
  if (secret == nullptr) return v;
  v.exists = true;
  v.owned = isOwner(su, *secret);
  const Json* ann = json::at(*secret, {"metadata", "annotations"});
  if (ann != nullptr) {
    v.revision = std::atoll(json::getString(*ann, kRevisionAnnotation).value_or("0").c_str());
    v.identity_id = json::getString(*ann, kIdentityIdAnnotation).value_or("");
  }
  const Json* data = json::find(*secret, "data");
  auto token = data ? json::getString(*data, su.spec.keys.token) : std::nullopt;
  v.has_token = token && !token->empty() && *token != digest("");
  v.has_certificate = data && json::getString(*data, su.spec.keys.certificate).has_value() &&
                      json::getString(*data, su.spec.keys.private_key).has_value();
  std::map<std::string, std::string> labels = su.spec.secret_labels;
  labels[kManagedByLabel] = kManagedByValue;
  v.metadata_current = hasAll(json::at(*secret, {"metadata", "labels"}), labels) &&
                       hasAll(ann, su.spec.secret_annotations);
  return v;
}

void digestSecretData(Json& secret) {
  if (Json* meta = const_cast<Json*>(json::find(secret, "metadata"))) meta->erase("managedFields");
  Json* data = const_cast<Json*>(json::find(secret, "data"));
  if (data == nullptr || !data->is_object()) return;
  for (auto& [key, value] : data->items()) {
    if (!value.is_string()) continue;
    auto raw = pki::base64Decode(value.get<std::string>());
    value = digest(raw ? raw.value() : value.get<std::string>());
  }
}

}  // namespace su::serviceuser
