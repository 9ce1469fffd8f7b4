#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/clock.h"
#include "digicert/account_manager.h"
#include "kube/informer.h"
#include "kube/rest_client.h"
#include "serviceuser/api_types.h"

namespace su::serviceuser {

inline const kube::Resource kServiceUsers{kGroup, kVersion, "serviceusers", true};
inline const kube::Resource kDigiCertIssuers{kGroup, kVersion, "digicertissuers", true};
inline const kube::Resource kClusterDigiCertIssuers{kGroup, kVersion, "clusterdigicertissuers",
                                                    false};

// Where the reconciler gets the Account Manager client for a ServiceUser. An error of kind
// kInvalid or kNotFound is for the user to fix (named in a condition); kTransient is retried.
class AccountManagerSource {
 public:
  virtual ~AccountManagerSource() = default;
  virtual Result<std::shared_ptr<digicert::AccountManager>> forServiceUser(
      const ServiceUser& su) = 0;
};

// Resolves issuers from their caches and their credentials from a live read of the referenced
// Secret, and keeps one client per issuer until the issuer changes or the credentials are due
// for a re-read.
class IssuerResolver final : public AccountManagerSource {
 public:
  struct Options {
    std::vector<WindowedBudget::Window> default_budget{{1000, std::chrono::seconds(300)},
                                                       {100, std::chrono::seconds(5)}};
    std::chrono::seconds credentials_ttl{60};
    std::string user_agent = "serviceuser-operator";
  };
  IssuerResolver(kube::Client& client, kube::Informer& issuers, kube::Informer& cluster_issuers,
                 const Clock& clock, Options options);

  Result<std::shared_ptr<digicert::AccountManager>> forServiceUser(const ServiceUser& su) override;
  // The client settings an issuer object describes, its credentials read live.
  Result<digicert::ClientOptions> optionsFor(const json::Json& issuer);

 private:
  struct Entry {
    std::string issuer_version;
    TimePoint built_at;
    std::shared_ptr<digicert::AccountManager> manager;
  };
  Result<digicert::ClientOptions> clientOptions(const IssuerSpec& spec);

  kube::Client& client_;
  kube::Informer& issuers_;
  kube::Informer& cluster_issuers_;
  const Clock& clock_;
  Options options_;
  std::mutex mu_;
  std::map<std::string, Entry> cache_;
};

}  // namespace su::serviceuser
