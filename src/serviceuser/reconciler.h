#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "common/clock.h"
#include "kube/events.h"
#include "kube/informer.h"
#include "kube/rest_client.h"
#include "kube/work_queue.h"
#include "serviceuser/decision.h"
#include "serviceuser/issuers.h"
#include "serviceuser/remote_snapshot.h"
#include "serviceuser/secret_shape.h"

namespace su::serviceuser {

inline constexpr const char* kControllerName = "serviceuser";

struct ReconcilerOptions {
  // How often the current identity is checked remotely (disabled, deleted or expired out of band).
  std::chrono::seconds identity_check_interval{std::chrono::minutes(10)};
  // How long a deletion may wait for DigiCert ONE before it finishes anyway and records what it
  // left behind.
  std::chrono::seconds deletion_timeout{std::chrono::minutes(5)};
  // The longest sleep between two looks at a ServiceUser with nothing to do.
  std::chrono::seconds max_wait{std::chrono::hours(1)};
};

// One pass over one ServiceUser: observe, decide one step, carry it out, record it. Every pass
// makes at most one remote change and then the write that records it, so a kill at any moment
// leaves a state the next pass resolves.
class Reconciler {
 public:
  Reconciler(kube::Client& client, kube::Informer& serviceusers, kube::Informer& secrets,
             AccountManagerSource& managers, kube::EventRecorder& events, const Clock& clock,
             ReconcilerOptions options);

  kube::Outcome reconcile(const std::string& key);

  // The state of one pass (reconciler_pass.h); only the reconciler's own files see inside.
  struct Pass;

 private:
  // Makes the Secret to write from the live one (null when absent); nullopt: nothing to write.
  using SecretBuilder = std::function<std::optional<json::Json>(json::Json* live)>;

  Status observe(Pass& pass, bool live);
  Result<kube::Outcome> execute(Pass& pass, const Step& step);

  Result<kube::Outcome> addFinalizer(Pass& pass);
  Result<kube::Outcome> journal(Pass& pass, const Step& step);
  Result<kube::Outcome> create(Pass& pass);
  Result<kube::Outcome> adopt(Pass& pass);
  Result<kube::Outcome> retireStranded(Pass& pass, const Step& step);
  Result<kube::Outcome> updateIdentity(Pass& pass);
  Result<kube::Outcome> issueCertificate(Pass& pass);
  Result<kube::Outcome> retirePredecessor(Pass& pass);
  Result<kube::Outcome> syncSecretMetadata(Pass& pass);
  Result<kube::Outcome> finalize(Pass& pass);
  Status releaseSecret(Pass& pass);
  Status deleteSecret(Pass& pass);
  Result<kube::Outcome> removeFinalizer(Pass& pass);
  kube::Outcome wait(Pass& pass, const Step& step);

  Status deliver(Pass& pass, const digicert::ServiceUser& created, SecretString token);
  void strand(Pass& pass, const std::string& id, const std::string& name, const Error& error);
  Status retire(Pass& pass, const std::string& id, const std::string& name, bool deleted_su);
  Status writeSecret(const ServiceUser& su, const SecretBuilder& build, bool seen_absent = false);
  Status writeStatus(Pass& pass);
  kube::Outcome afterError(Pass& pass, const Error& error);
  void event(Pass& pass, kube::EventType type, const std::string& reason, const std::string& action,
             const std::string& note);
  void flushEvents(Pass& pass, bool recorded);
  std::optional<digicert::UserStatus> checkIdentity(Pass& pass);
  std::optional<digicert::UserStatus> identityStatus(Pass& pass);
  // Marks, tests and forgets a journal entry this process wrote.
  void rememberJournal(const ServiceUser& su, const ServiceUserStatus& written);
  bool takeFreshJournal(const ServiceUser& su, bool consume);
  void forgetChecks(const std::string& identity_id);
  // Whether the cache still shows a version of `key` that this process has written over.
  bool cacheLags(const std::string& key, const std::string& cached_version);
  void rememberOverwritten(const std::string& key, const Pass& pass,
                           const std::string& cached_version);
  void forgetWrites(const std::string& key, const std::string& uid);

  kube::Client& client_;
  kube::Informer& serviceusers_;
  kube::Informer& secrets_;
  AccountManagerSource& managers_;
  kube::EventRecorder& events_;
  const Clock& clock_;
  ReconcilerOptions options_;

  RemoteSnapshot snapshot_;
  // Journal entries this process wrote (in status, or the first one with the finalizer) and has
  // not yet acted on ("<uid>/<revision>"): no create was sent for them, so their identity cannot
  // exist and the look-up by name (a walk through every page of the list) is skipped. After a
  // restart the set is empty and every pending entry is looked up.
  std::mutex fresh_mu_;
  std::set<std::string> fresh_journals_;
  std::mutex checks_mu_;
  struct IdentityCheck {
    TimePoint at;
    std::optional<digicert::UserStatus> status;
  };
  std::map<std::string, IdentityCheck> checks_;  // by identity ID
  // Per ServiceUser key, the versions its last writes replaced, until the cache shows another.
  // A pass on such a cache would repeat a step already done (a look-up by name, a status write
  // bound to fail), so it waits for the watch event of the write instead.
  std::mutex overwritten_mu_;
  struct Overwritten {
    std::chrono::steady_clock::time_point at;
    std::set<std::string> versions;
  };
  std::map<std::string, Overwritten> overwritten_;
};

}  // namespace su::serviceuser
