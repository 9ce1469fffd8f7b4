#pragma once

#include <chrono>
#include <string>

#include "common/clock.h"
#include "kube/informer.h"
#include "kube/rest_client.h"
#include "kube/work_queue.h"
#include "serviceuser/issuers.h"

namespace su::serviceuser {

// Keeps the Ready condition of DigiCertIssuer and ClusterDigiCertIssuer objects true to whether
// their credentials can be read and are accepted by DigiCert ONE (one GET /user/me per check).
class IssuerStatusReconciler {
 public:
  IssuerStatusReconciler(kube::Client& client, kube::Informer& issuers,
                         kube::Informer& cluster_issuers, IssuerResolver& resolver,
                         const Clock& clock, std::chrono::seconds recheck);

  // Keys are "ns/<namespace>/<name>" or "cluster/<name>".
  static std::string keyOf(const json::Json& issuer, bool cluster);
  kube::Outcome reconcile(const std::string& key);

 private:
  struct Verdict {
    bool ready;
    std::string reason;
    std::string message;
  };
  Verdict check(const json::Json& issuer);

  kube::Client& client_;
  kube::Informer& issuers_;
  kube::Informer& cluster_issuers_;
  IssuerResolver& resolver_;
  const Clock& clock_;
  std::chrono::seconds recheck_;
};

}  // namespace su::serviceuser
