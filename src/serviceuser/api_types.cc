#include "serviceuser/api_types.h"

#include <algorithm>

#include "pki/digest.h"

namespace su::serviceuser {
namespace {

using json::Json;

std::map<std::string, std::string> stringMap(const Json* object) {
  std::map<std::string, std::string> out;
  if (object == nullptr || !object->is_object()) return out;
  for (const auto& [k, v] : object->items()) {
    if (v.is_string()) out[k] = v.get<std::string>();
  }
  return out;
}

std::vector<std::string> stringList(const Json* array) {
  std::vector<std::string> out;
  if (array == nullptr || !array->is_array()) return out;
  for (const auto& v : *array) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

Error invalid(const std::string& field, const std::string& fix) {
  return makeError(ErrorKind::kInvalid, "spec." + field + ": " + fix);
}

Result<std::chrono::seconds> durationField(const Json& object, const std::string& key,
                                           const std::string& path, std::chrono::seconds fallback) {
  auto text = json::getString(object, key);
  if (!text) return fallback;
  auto d = parseDuration(*text);
  if (!d) return invalid(path, "\"" + *text + "\" is not a duration such as 720h");
  return *d;
}

Result<bool> parseIdentity(const Json& spec, Spec& out) {
  out.friendly_name = json::getString(spec, "friendlyName").value_or("");
  out.description = json::getString(spec, "description").value_or("");
  out.email = json::getString(spec, "email").value_or("");
  out.accounts = stringList(json::find(spec, "accounts"));
  if (const Json* access = json::find(spec, "access"); access != nullptr && access->is_array()) {
    for (const Json& item : *access) {
      out.access.push_back(
          {json::getString(item, "manager").value_or(""), stringList(json::find(item, "roles"))});
    }
  }
  if (out.email.empty()) return invalid("email", "set the e-mail of the person who manages it");
  if (out.accounts.empty()) return invalid("accounts", "name at least one account ID");
  if (out.access.empty()) return invalid("access", "name at least one manager with its roles");
  return true;
}

Result<bool> parseLifetime(const Json& spec, Spec& out) {
  const Json* lifetime = json::find(spec, "lifetime");
  if (lifetime == nullptr) return true;
  auto duration = durationField(*lifetime, "duration", "lifetime.duration", kDefaultDuration);
  if (!duration) return duration.error();
  out.duration = *duration;
  if (json::find(*lifetime, "renewBefore") != nullptr) {
    auto renew = durationField(*lifetime, "renewBefore", "lifetime.renewBefore", {});
    if (!renew) return renew.error();
    out.renew_before = *renew;
  }
  if (auto text = json::getString(*lifetime, "notAfter")) {
    out.not_after = parseDate(*text);
    if (!out.not_after) return invalid("lifetime.notAfter", "use a date such as 2027-06-30");
  }
  if (out.duration < std::chrono::hours(24)) {
    return invalid("lifetime.duration", "must be at least 24h");
  }
  if (out.renewBefore() + std::chrono::hours(2) > out.duration) {
    return invalid("lifetime.renewBefore",
                   "must be at least 2h shorter than spec.lifetime.duration");
  }
  return true;
}

Result<bool> parseDelivery(const Json& spec, Spec& out) {
  const Json* secret = json::find(spec, "secret");
  if (secret == nullptr) return invalid("secret.name", "name the Secret that receives the token");
  out.secret_name = json::getString(*secret, "name").value_or("");
  if (out.secret_name.empty()) {
    return invalid("secret.name", "name the Secret that receives the token");
  }
  out.secret_labels = stringMap(json::find(*secret, "labels"));
  out.secret_annotations = stringMap(json::find(*secret, "annotations"));
  if (const Json* keys = json::find(*secret, "keys")) {
    out.keys.token = json::getString(*keys, "token").value_or(out.keys.token);
    out.keys.identity = json::getString(*keys, "identity").value_or(out.keys.identity);
    out.keys.certificate = json::getString(*keys, "certificate").value_or(out.keys.certificate);
    out.keys.private_key = json::getString(*keys, "privateKey").value_or(out.keys.private_key);
  }
  if (const Json* cert = json::find(spec, "clientCertificate")) {
    auto algorithm = json::getString(*cert, "keyAlgorithm").value_or("ECDSAP256");
    out.client_certificate =
        algorithm == "RSA2048" ? KeyAlgorithm::kRsa2048 : KeyAlgorithm::kEcdsaP256;
  }
  return true;
}

Result<bool> parsePolicy(const Json& spec, Spec& out) {
  auto policy = json::getString(spec, "deletionPolicy").value_or("Delete");
  if (policy == "Delete") {
    out.deletion_policy = DeletionPolicy::kDelete;
  } else if (policy == "Disable") {
    out.deletion_policy = DeletionPolicy::kDisable;
  } else if (policy == "Orphan") {
    out.deletion_policy = DeletionPolicy::kOrphan;
  } else {
    return invalid("deletionPolicy", "use Delete, Disable or Orphan");
  }
  auto grace = durationField(spec, "retireGracePeriod", "retireGracePeriod", kDefaultGrace);
  if (!grace) return grace.error();
  out.retire_grace = *grace;
  out.suspend = json::getBool(spec, "suspend").value_or(false);
  return true;
}

Json conditionToJson(const Condition& c) {
  return Json{{"type", c.type},
              {"status", c.status},
              {"reason", c.reason},
              {"message", c.message},
              {"observedGeneration", c.observed_generation},
              {"lastTransitionTime", c.last_transition_time}};
}

}  // namespace

bool ObjectMeta::hasFinalizer(const std::string& f) const {
  return std::find(finalizers.begin(), finalizers.end(), f) != finalizers.end();
}

std::chrono::seconds Spec::renewBefore() const {
  return renew_before.value_or(std::chrono::seconds(duration.count() / 3));
}

std::string Spec::identityDigest() const {
  std::vector<std::string> accounts_sorted = accounts;
  std::sort(accounts_sorted.begin(), accounts_sorted.end());
  std::vector<digicert::ManagerAccess> access_sorted = access;
  for (auto& a : access_sorted) std::sort(a.roles.begin(), a.roles.end());
  std::sort(access_sorted.begin(), access_sorted.end(),
            [](const auto& a, const auto& b) { return a.manager < b.manager; });
  Json canonical{{"description", description}, {"email", email}, {"accounts", accounts_sorted}};
  for (const auto& a : access_sorted) {
    canonical["access"].push_back({{"manager", a.manager}, {"roles", a.roles}});
  }
  return pki::sha256Hex(json::dump(canonical)).substr(0, 16);
}

const Condition* ServiceUserStatus::condition(const std::string& type) const {
  for (const auto& c : conditions) {
    if (c.type == type) return &c;
  }
  return nullptr;
}

ObjectMeta parseMeta(const Json& object) {
  ObjectMeta meta;
  const Json* m = json::find(object, "metadata");
  if (m == nullptr) return meta;
  meta.namespace_name = json::getString(*m, "namespace").value_or("");
  meta.name = json::getString(*m, "name").value_or("");
  meta.uid = json::getString(*m, "uid").value_or("");
  meta.resource_version = json::getString(*m, "resourceVersion").value_or("");
  meta.generation = json::getInt(*m, "generation").value_or(0);
  if (auto ts = json::getString(*m, "deletionTimestamp")) {
    meta.deleting = true;
    meta.deletion_timestamp = parseRfc3339(*ts);
  }
  meta.finalizers = stringList(json::find(*m, "finalizers"));
  meta.labels = stringMap(json::find(*m, "labels"));
  meta.annotations = stringMap(json::find(*m, "annotations"));
  return meta;
}

Result<ServiceUser> parseServiceUser(const Json& object) {
  ServiceUser su;
  su.meta = parseMeta(object);
  if (const Json* status = json::find(object, "status")) su.status = parseStatus(*status);
  const Json* spec = json::find(object, "spec");
  if (spec == nullptr) return invalid("", "the ServiceUser has no spec");
  const Json* ref = json::find(*spec, "issuerRef");
  su.spec.issuer_ref.name = ref ? json::getString(*ref, "name").value_or("") : "";
  su.spec.issuer_ref.kind =
      ref ? json::getString(*ref, "kind").value_or("DigiCertIssuer") : "DigiCertIssuer";
  if (su.spec.issuer_ref.name.empty()) {
    return invalid("issuerRef.name", "name a DigiCertIssuer or ClusterDigiCertIssuer");
  }
  for (auto step : {parseIdentity, parseLifetime, parseDelivery, parsePolicy}) {
    auto ok = step(*spec, su.spec);
    if (!ok) return ok.error();
  }
  return su;
}

ServiceUserStatus parseStatus(const Json& s) {
  ServiceUserStatus out;
  out.observed_generation = json::getInt(s, "observedGeneration").value_or(0);
  out.revision = json::getInt(s, "revision").value_or(0);
  out.next_rotation = json::getString(s, "nextRotation").value_or("");
  out.last_rotate_request = json::getString(s, "lastRotateRequest").value_or("");
  if (const Json* conditions = json::find(s, "conditions"); conditions && conditions->is_array()) {
    for (const Json& c : *conditions) {
      out.conditions.push_back({json::getString(c, "type").value_or(""),
                                json::getString(c, "status").value_or("Unknown"),
                                json::getString(c, "reason").value_or(""),
                                json::getString(c, "message").value_or(""),
                                json::getInt(c, "observedGeneration").value_or(0),
                                json::getString(c, "lastTransitionTime").value_or("")});
    }
  }
  if (const Json* c = json::find(s, "current")) {
    out.current = IdentityRecord{json::getString(*c, "id").value_or(""),
                                 json::getString(*c, "friendlyName").value_or(""),
                                 json::getInt(*c, "revision").value_or(0),
                                 json::getString(*c, "endDate").value_or(""),
                                 json::getString(*c, "issuedAt").value_or(""),
                                 json::getString(*c, "certificateNotAfter").value_or(""),
                                 json::getString(*c, "specDigest").value_or("")};
  }
  if (const Json* p = json::find(s, "predecessor")) {
    out.predecessor = PredecessorRecord{
        json::getString(*p, "id").value_or(""), json::getString(*p, "friendlyName").value_or(""),
        json::getInt(*p, "revision").value_or(0), json::getString(*p, "retireAfter").value_or("")};
  }
  if (const Json* p = json::find(s, "pending")) {
    out.pending = PendingRecord{
        json::getString(*p, "operation").value_or("Create"),
        json::getInt(*p, "revision").value_or(0), json::getString(*p, "friendlyName").value_or(""),
        json::getString(*p, "reason").value_or(""), json::getString(*p, "startedAt").value_or("")};
  }
  if (const Json* list = json::find(s, "stranded"); list && list->is_array()) {
    for (const Json& item : *list) {
      out.stranded.push_back({json::getString(item, "id").value_or(""),
                              json::getString(item, "friendlyName").value_or(""),
                              json::getString(item, "reason").value_or("")});
    }
  }
  return out;
}

namespace {

void putIfSet(Json& out, const char* key, const std::string& value) {
  if (!value.empty()) out[key] = value;
}

}  // namespace

Json statusToJson(const ServiceUserStatus& s) {
  Json out = Json::object();
  out["observedGeneration"] = s.observed_generation;
  out["revision"] = s.revision;
  out["conditions"] = Json::array();
  for (const auto& c : s.conditions) out["conditions"].push_back(conditionToJson(c));
  if (s.current) {
    Json c{{"id", s.current->id},
           {"friendlyName", s.current->friendly_name},
           {"revision", s.current->revision}};
    putIfSet(c, "endDate", s.current->end_date);
    putIfSet(c, "issuedAt", s.current->issued_at);
    putIfSet(c, "certificateNotAfter", s.current->certificate_not_after);
    putIfSet(c, "specDigest", s.current->spec_digest);
    out["current"] = c;
  }
  if (s.predecessor) {
    Json p{{"id", s.predecessor->id},
           {"friendlyName", s.predecessor->friendly_name},
           {"revision", s.predecessor->revision}};
    putIfSet(p, "retireAfter", s.predecessor->retire_after);
    out["predecessor"] = p;
  }
  if (s.pending) {
    out["pending"] = Json{{"operation", s.pending->operation},
                          {"revision", s.pending->revision},
                          {"friendlyName", s.pending->friendly_name},
                          {"reason", s.pending->reason},
                          {"startedAt", s.pending->started_at}};
  }
  putIfSet(out, "nextRotation", s.next_rotation);
  putIfSet(out, "lastRotateRequest", s.last_rotate_request);
  for (const auto& st : s.stranded) {
    out["stranded"].push_back(
        Json{{"id", st.id}, {"friendlyName", st.friendly_name}, {"reason", st.reason}});
  }
  return out;
}

Result<IssuerSpec> parseIssuerSpec(const Json& object, const std::string& default_namespace) {
  IssuerSpec out;
  const Json* spec = json::find(object, "spec");
  if (spec == nullptr) return makeError(ErrorKind::kInvalid, "the issuer has no spec");
  out.url = json::getString(*spec, "url").value_or("");
  if (out.url.rfind("https://", 0) != 0) {
    return makeError(ErrorKind::kInvalid, "issuer spec.url must start with https://");
  }
  while (!out.url.empty() && out.url.back() == '/') out.url.pop_back();
  auto ref = [&](const char* field, const char* default_key) -> std::optional<SecretRef> {
    const Json* r = json::find(*spec, field);
    if (r == nullptr) return std::nullopt;
    return SecretRef{json::getString(*r, "namespace").value_or(default_namespace),
                     json::getString(*r, "name").value_or(""),
                     json::getString(*r, "key").value_or(default_key)};
  };
  out.api_key = ref("apiKeySecretRef", "api-key");
  out.client_certificate = ref("clientCertificateSecretRef", "tls.crt");
  if (out.api_key.has_value() == out.client_certificate.has_value()) {
    return makeError(ErrorKind::kInvalid,
                     "issuer: set exactly one of spec.apiKeySecretRef and "
                     "spec.clientCertificateSecretRef");
  }
  out.ca_bundle = json::getString(*spec, "caBundle").value_or("");
  if (const Json* budget = json::find(*spec, "requestBudget"); budget && budget->is_array()) {
    for (const Json& w : *budget) {
      auto period = parseDuration(json::getString(w, "period").value_or(""));
      auto requests = json::getInt(w, "requests");
      if (!period || !requests || period->count() <= 0 || *requests <= 0) {
        return makeError(ErrorKind::kInvalid, "issuer spec.requestBudget: use {requests, period}");
      }
      out.budget.push_back({static_cast<int>(*requests), *period});
    }
  }
  if (const Json* compat = json::find(*spec, "compatibility")) {
    out.token_field = json::getString(*compat, "tokenField");
    if (auto s = json::getInt(*compat, "duplicateStatus")) out.duplicate_status = int(*s);
    if (auto s = json::getInt(*compat, "pageSize")) out.page_size = int(*s);
  }
  return out;
}

}  // namespace su::serviceuser
