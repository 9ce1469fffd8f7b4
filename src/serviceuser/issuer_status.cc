#include "serviceuser/issuer_status.h"

#include "common/log.h"
#include "serviceuser/status_update.h"

namespace su::serviceuser {

IssuerStatusReconciler::IssuerStatusReconciler(kube::Client& client, kube::Informer& issuers,
                                               kube::Informer& cluster_issuers,
                                               IssuerResolver& resolver, const Clock& clock,
                                               std::chrono::seconds recheck)
    : client_(client),
      issuers_(issuers),
      cluster_issuers_(cluster_issuers),
      resolver_(resolver),
      clock_(clock),
      recheck_(recheck) {}

std::string IssuerStatusReconciler::keyOf(const json::Json& issuer, bool cluster) {
  return cluster ? "cluster/" + json::stringAt(issuer, {"metadata", "name"})
                 : "ns/" + kube::objectKey(issuer);
}

IssuerStatusReconciler::Verdict IssuerStatusReconciler::check(const json::Json& issuer) {
  auto options = resolver_.optionsFor(issuer);
  if (!options) {
    return {false, options.error().kind == ErrorKind::kInvalid ? "CredentialsMissing" : "Error",
            options.error().message};
  }
  auto caller = digicert::fetchCaller(*options, clock_);
  if (caller) return {true, "CredentialsAccepted", "DigiCert ONE accepted the credentials"};
  const Error& e = caller.error();
  if (e.kind == ErrorKind::kUnauthorized || e.kind == ErrorKind::kForbidden) {
    return {false, "CredentialsRejected", "DigiCert ONE refused the credentials: " + e.describe()};
  }
  return {false, "Unreachable", "DigiCert ONE could not be asked: " + e.describe()};
}

kube::Outcome IssuerStatusReconciler::reconcile(const std::string& key) {
  bool cluster = key.rfind("cluster/", 0) == 0;
  std::string cache_key = key.substr(cluster ? 8 : 3);
  kube::ObjectPtr cached = (cluster ? cluster_issuers_ : issuers_).get(cache_key);
  if (!cached) return kube::Outcome::done();

  Verdict verdict = check(*cached);
  const json::Json* old_status = json::find(*cached, "status");
  ServiceUserStatus status = parseStatus(old_status ? *old_status : json::Json::object());
  ServiceUserStatus next = status;
  int64_t generation = parseMeta(*cached).generation;
  setCondition(next, "Ready", verdict.ready, verdict.reason, verdict.message, generation,
               clock_.now());
  next.observed_generation = generation;
  if (next.conditions != status.conditions ||
      next.observed_generation != status.observed_generation) {
    json::Json object = *cached;
    object.erase("spec");
    object["status"] = {{"observedGeneration", generation}, {"conditions", json::Json::array()}};
    json::Json full = statusToJson(next);
    object["status"]["conditions"] = full["conditions"];
    auto written =
        client_.updateStatus(cluster ? kClusterDigiCertIssuers : kDigiCertIssuers, object);
    if (!written) {
      return written.error().kind == ErrorKind::kConflict
                 ? kube::Outcome::after(std::chrono::milliseconds(200))
                 : kube::Outcome::backoff();
    }
  }
  log::info("issuer checked", {{"controller", "issuer"},
                               {"name", cache_key},
                               {"ready", verdict.ready ? "true" : "false"},
                               {"reason", verdict.reason}});
  return kube::Outcome::after(verdict.ready ? recheck_ : std::chrono::seconds(30));
}

}  // namespace su::serviceuser
