#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/json.h"
#include "common/result.h"
#include "common/time_format.h"
#include "digicert/account_manager.h"

// The ServiceUser and issuer resources as the controllers use them: typed structs read from and
// written to the JSON of the custom resources (crds/ is the contract). Defaults for optional spec
// fields live here, in code, never in the schema.
namespace su::serviceuser {

inline constexpr const char* kGroup = "identity.serviceuser.dev";
inline constexpr const char* kVersion = "v1alpha1";
inline constexpr const char* kApiVersion = "identity.serviceuser.dev/v1alpha1";
inline constexpr const char* kFinalizer = "identity.serviceuser.dev/finalizer";
inline constexpr const char* kRotateAnnotation = "identity.serviceuser.dev/rotate";
// The friendly name of the first identity, written with the finalizer before anything is created.
inline constexpr const char* kFirstIdentityAnnotation = "identity.serviceuser.dev/first-identity";

inline constexpr std::chrono::seconds kDefaultDuration{2160 * 3600};  // 90 days
inline constexpr std::chrono::seconds kDefaultGrace{24 * 3600};

enum class DeletionPolicy { kDelete, kDisable, kOrphan };
enum class KeyAlgorithm { kEcdsaP256, kRsa2048 };

struct ObjectMeta {
  std::string namespace_name;
  std::string name;
  std::string uid;
  std::string resource_version;
  int64_t generation = 0;
  bool deleting = false;
  std::optional<TimePoint> deletion_timestamp;
  std::vector<std::string> finalizers;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;

  bool hasFinalizer(const std::string& f) const;
  std::string key() const { return namespace_name + "/" + name; }
};

struct IssuerRef {
  std::string name;
  std::string kind = "DigiCertIssuer";
};

struct SecretKeys {
  std::string token = "token";
  std::string identity = "identity";
  std::string certificate = "tls.crt";
  std::string private_key = "tls.key";
};

struct Spec {
  IssuerRef issuer_ref;
  std::string friendly_name;  // empty: derived from namespace and name
  std::string description;
  std::string email;
  std::vector<std::string> accounts;
  std::vector<digicert::ManagerAccess> access;
  std::chrono::seconds duration = kDefaultDuration;
  std::optional<std::chrono::seconds> renew_before;  // default: a third of the duration
  std::optional<Date> not_after;
  std::string secret_name;
  std::map<std::string, std::string> secret_labels;
  std::map<std::string, std::string> secret_annotations;
  SecretKeys keys;
  std::optional<KeyAlgorithm> client_certificate;  // set: a certificate is wanted
  DeletionPolicy deletion_policy = DeletionPolicy::kDelete;
  std::chrono::seconds retire_grace = kDefaultGrace;
  bool suspend = false;

  std::chrono::seconds renewBefore() const;
  // A digest of the fields DigiCert ONE holds (description, e-mail, accounts, access): when it
  // changes, the identity is updated in place.
  std::string identityDigest() const;
};

struct Condition {
  std::string type;
  std::string status;  // "True", "False", "Unknown"
  std::string reason;
  std::string message;
  int64_t observed_generation = 0;
  std::string last_transition_time;

  bool operator==(const Condition&) const = default;
};

struct IdentityRecord {
  std::string id;
  std::string friendly_name;
  int64_t revision = 0;
  std::string end_date;  // YYYY-MM-DD
  std::string issued_at;
  std::string certificate_not_after;
  std::string spec_digest;  // identityDigest() of the spec it was last made to match

  bool operator==(const IdentityRecord&) const = default;
};

struct PredecessorRecord {
  std::string id;
  std::string friendly_name;
  int64_t revision = 0;
  std::string retire_after;

  bool operator==(const PredecessorRecord&) const = default;
};

struct PendingRecord {
  std::string operation = "Create";
  int64_t revision = 0;
  std::string friendly_name;
  std::string reason;
  std::string started_at;

  bool operator==(const PendingRecord&) const = default;
};

struct StrandedRecord {
  std::string id;
  std::string friendly_name;
  std::string reason;

  bool operator==(const StrandedRecord&) const = default;
};

struct ServiceUserStatus {
  int64_t observed_generation = 0;
  std::vector<Condition> conditions;
  int64_t revision = 0;
  std::optional<IdentityRecord> current;
  std::optional<PredecessorRecord> predecessor;
  std::optional<PendingRecord> pending;
  std::string next_rotation;
  std::string last_rotate_request;
  std::vector<StrandedRecord> stranded;

  bool operator==(const ServiceUserStatus&) const = default;
  const Condition* condition(const std::string& type) const;
};

struct ServiceUser {
  ObjectMeta meta;
  Spec spec;
  ServiceUserStatus status;
};

// Reading never throws. A spec the schema should have refused (an older CRD, a hand-made
// object) gives kInvalid naming the field and the fix.
ObjectMeta parseMeta(const json::Json& object);
Result<ServiceUser> parseServiceUser(const json::Json& object);
ServiceUserStatus parseStatus(const json::Json& status);
json::Json statusToJson(const ServiceUserStatus& status);

// Issuers (namespaced DigiCertIssuer or cluster-scoped ClusterDigiCertIssuer).
struct SecretRef {
  std::string namespace_name;
  std::string name;
  std::string key;
};

struct IssuerSpec {
  std::string url;
  std::optional<SecretRef> api_key;
  std::optional<SecretRef> client_certificate;
  std::string ca_bundle;
  std::vector<WindowedBudget::Window> budget;
  std::optional<std::string> token_field;
  std::optional<int> duplicate_status;
  std::optional<int> page_size;
};

// `default_namespace` is where an issuer's Secret references point for a namespaced issuer.
Result<IssuerSpec> parseIssuerSpec(const json::Json& object, const std::string& default_namespace);

}  // namespace su::serviceuser
