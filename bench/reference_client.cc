// The benchmark's reference: the least a controller can do to bring a new ServiceUser to Ready,
// built on the operator's own Kubernetes and DigiCert ONE libraries so that the difference to the
// operator is the reconciler's work alone.
//
// Per ServiceUser seen by the informer it makes exactly: one remote create under the name the
// first revision's implied journal entry gives it, one Secret create and one status write
// recording the identity and Ready. No finalizer, no
// Events, no reads beyond the informer's list and watch, no retries: a failure is counted and
// the object left alone, so a run with failures is visible and not hidden by a retry.
//
//   bench-reference --kubeconfig FILE --namespace NS --digicert-url URL --ca-file FILE
//                   --api-key KEY [--workers 4] [--kube-api-qps 500] [--kube-api-burst 1000]
//
// Prints "READY" once its cache is synced and "failures=N" on SIGTERM.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>

#include "common/log.h"
#include "digicert/account_manager.h"
#include "kube/informer.h"
#include "kube/kubeconfig.h"
#include "kube/rest_client.h"
#include "kube/work_queue.h"
#include "net/http_client.h"
#include "serviceuser/api_types.h"
#include "serviceuser/issuers.h"
#include "serviceuser/naming.h"
#include "serviceuser/schedule.h"
#include "serviceuser/secret_shape.h"
#include "serviceuser/status_update.h"

namespace {

namespace sv = su::serviceuser;

struct Options {
  std::string kubeconfig;
  std::string namespace_name;
  std::string digicert_url;
  std::string ca_file;
  std::string api_key;
  int workers = 4;
  double qps = 500;
  int burst = 1000;
};

bool parse(int argc, char** argv, Options& o) {
  std::map<std::string, std::string> flags;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string name = argv[i];
    if (name.rfind("--", 0) != 0) return false;
    flags[name.substr(2)] = argv[i + 1];
  }
  o.kubeconfig = flags["kubeconfig"];
  o.namespace_name = flags["namespace"];
  o.digicert_url = flags["digicert-url"];
  o.ca_file = flags["ca-file"];
  o.api_key = flags["api-key"];
  if (flags.count("workers")) o.workers = std::stoi(flags["workers"]);
  if (flags.count("kube-api-qps")) o.qps = std::stod(flags["kube-api-qps"]);
  if (flags.count("kube-api-burst")) o.burst = std::stoi(flags["kube-api-burst"]);
  return !o.kubeconfig.empty() && !o.namespace_name.empty() && !o.digicert_url.empty() &&
         !o.ca_file.empty() && !o.api_key.empty();
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class Reference {
 public:
  Reference(su::kube::Client& client, su::kube::Informer& serviceusers,
            su::digicert::AccountManager& manager, const su::Clock& clock)
      : client_(client), serviceusers_(serviceusers), manager_(manager), clock_(clock) {}

  su::kube::Outcome process(const std::string& key) {
    su::kube::ObjectPtr cached = serviceusers_.get(key);
    if (!cached) return su::kube::Outcome::done();
    auto parsed = sv::parseServiceUser(*cached);
    if (!parsed) return fail("parse", parsed.error());
    sv::ServiceUser su = std::move(parsed).value();
    if (su.status.current) return su::kube::Outcome::done();  // already issued
    {
      std::lock_guard lock(mu_);
      if (!started_.insert(su.meta.uid).second) return su::kube::Outcome::done();
    }
    su::TimePoint now = clock_.now();

    sv::PendingRecord pending{"Create", 1, sv::friendlyNameFor(sv::friendlyNameBase(su), 1),
                              "Initial", su::formatRfc3339(now)};
    sv::ServiceUserStatus status = sv::withJournal(su.status, pending, "");
    su.status = status;

    su::Date end = sv::endDateFor(now, su.spec.duration, su.spec.not_after);
    su::digicert::ServiceUserSpec spec{pending.friendly_name, su.spec.description,
                                       su.spec.email,         end,
                                       su.spec.accounts,      su.spec.access};
    auto created = manager_.createServiceUser(spec);
    if (!created) return fail("remote create", created.error());
    if (!created->user.end_date) created->user.end_date = end;

    sv::Delivery d;
    d.revision = 1;
    d.identity_id = created->user.id;
    d.identity_name = created->user.friendly_name;
    d.end_date = su::formatDate(*created->user.end_date);
    d.token = std::move(created->token);
    auto secret = client_.create(su::kube::kSecrets, sv::newSecret(su, d), su.meta.namespace_name);
    if (!secret) return fail("secret create", secret.error());

    status = sv::withCreated(status, su, created->user, now, "");
    sv::setConditions(status, su, {}, now);
    auto issued = writeStatus(*cached, status);
    if (!issued) return fail("status", issued.error());
    return su::kube::Outcome::done();
  }

  int64_t failures() const { return failures_.load(); }

 private:
  su::Result<su::kube::Json> writeStatus(const su::kube::Json& object,
                                         const sv::ServiceUserStatus& status) {
    su::kube::Json body = object;
    body["status"] = sv::statusToJson(status);
    body.erase("spec");
    return client_.updateStatus(sv::kServiceUsers, body);
  }

  su::kube::Outcome fail(const char* what, const su::Error& error) {
    failures_++;
    std::cerr << "reference: " << what << " failed: " << error.describe() << "\n";
    return su::kube::Outcome::done();
  }

  su::kube::Client& client_;
  su::kube::Informer& serviceusers_;
  su::digicert::AccountManager& manager_;
  const su::Clock& clock_;
  std::mutex mu_;
  std::set<std::string> started_;
  std::atomic<int64_t> failures_{0};
};

}  // namespace

int main(int argc, char** argv) {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  Options o;
  if (!parse(argc, argv, o)) {
    std::cerr << "usage: bench-reference --kubeconfig F --namespace NS --digicert-url URL "
                 "--ca-file F --api-key K [--workers N] [--kube-api-qps Q] [--kube-api-burst B]\n";
    return 2;
  }
  if (!su::net::preloadSystemRoots()) std::cerr << "system CA bundle not preloaded\n";
  su::net::initialize(static_cast<size_t>(std::max(8, o.workers * 2 + 4)));
  su::log::init(su::log::Level::kWarn, su::log::Format::kJson, "bench-reference");

  auto config = su::kube::loadKubeconfig({o.kubeconfig, ""});
  if (!config) {
    std::cerr << "kubeconfig: " << config.error().describe() << "\n";
    return 1;
  }
  config->qps = o.qps;
  config->burst = o.burst;
  auto client = su::kube::Client::create(*config);
  if (!client) {
    std::cerr << "client: " << client.error().describe() << "\n";
    return 1;
  }

  su::SystemClock clock;
  su::digicert::ClientOptions dc;
  dc.base_url = o.digicert_url;
  dc.ca_pem = readFile(o.ca_file);
  dc.api_key = su::SecretString(o.api_key);
  dc.budget = {{1000000, std::chrono::seconds(300)}};
  auto manager = su::digicert::makeAccountManager(dc, clock);
  if (!manager) {
    std::cerr << "digicert: " << manager.error().describe() << "\n";
    return 1;
  }

  su::kube::InformerOptions io;
  io.resource = sv::kServiceUsers;
  io.ns = o.namespace_name;
  io.transform = su::kube::stripManagedFields;
  su::kube::Informer serviceusers(**client, io);
  su::kube::WorkQueue queue(su::kube::WorkQueueOptions{.name = "bench-reference"});
  auto enqueue = [&](const std::string& key, const su::kube::Json&) { queue.add(key); };
  serviceusers.setHandlers({.on_add = enqueue,
                            .on_update = [&](const std::string& key, const su::kube::Json&,
                                             const su::kube::Json&) { queue.add(key); },
                            .on_delete = {}});

  Reference reference(**client, serviceusers, **manager, clock);
  serviceusers.start();
  if (!serviceusers.waitForSync(std::chrono::seconds(60))) {
    std::cerr << "the ServiceUser cache did not sync\n";
    return 1;
  }
  su::kube::WorkerPool workers(queue, o.workers,
                               [&](const std::string& key) { return reference.process(key); });
  std::cout << "READY" << std::endl;

  int sig = 0;
  sigwait(&stop, &sig);
  queue.shutDown();
  workers.stop();
  serviceusers.stop();
  std::cout << "failures=" << reference.failures() << std::endl;
  su::log::shutdown();
  return 0;
}
