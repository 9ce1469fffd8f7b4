#include "serviceuser/controller.h"

#include "common/log.h"
#include "serviceuser/secret_shape.h"

namespace su::serviceuser {
namespace {

// Cached ServiceUsers and issuers keep what the controller reads: managedFields and kubectl's
// copy of the last applied manifest are most of a small object's size.
void slimObject(json::Json& object) {
  kube::stripManagedFields(object);
  json::Json* annotations = const_cast<json::Json*>(json::at(object, {"metadata", "annotations"}));
  if (annotations != nullptr && annotations->is_object()) {
    annotations->erase("kubectl.kubernetes.io/last-applied-configuration");
  }
}

kube::InformerOptions informerOptions(const kube::Resource& r, const std::string& ns) {
  kube::InformerOptions o;
  o.resource = r;
  o.ns = r.namespaced ? ns : "";
  o.transform = slimObject;
  return o;
}

// There is one ServiceUser and one Secret per identity, tens of thousands in a large cluster:
// both caches keep their objects as text (a fraction of the parsed size) and parse on read, and
// list in small pages, since a page is held parsed in full (with managedFields) while it is read.
constexpr int64_t kManyObjectsPageSize = 100;

kube::InformerOptions manyObjectsOptions(const kube::Resource& r, const std::string& ns) {
  kube::InformerOptions o = informerOptions(r, ns);
  o.compact = true;
  o.page_size = kManyObjectsPageSize;
  return o;
}

kube::InformerOptions secretOptions(const std::string& ns) {
  kube::InformerOptions o = manyObjectsOptions(kube::kSecrets, ns);
  o.label_selector = std::string(kManagedByLabel) + "=" + kManagedByValue;
  o.transform = digestSecretData;
  return o;
}

// ServiceUsers filed by the issuer they name: "<kind>/<namespace, empty for a cluster
// issuer>/<name>".
constexpr const char* kIssuerIndex = "issuer";

std::string issuerIndexValue(bool cluster, const std::string& ns, const std::string& name) {
  return std::string(cluster ? "ClusterDigiCertIssuer" : "DigiCertIssuer") + "/" +
         (cluster ? "" : ns) + "/" + name;
}

std::vector<std::string> issuerOf(const json::Json& su) {
  const json::Json* ref = json::at(su, {"spec", "issuerRef"});
  if (ref == nullptr) return {};
  bool cluster =
      json::getString(*ref, "kind").value_or("DigiCertIssuer") == "ClusterDigiCertIssuer";
  return {issuerIndexValue(cluster, json::stringAt(su, {"metadata", "namespace"}),
                           json::getString(*ref, "name").value_or(""))};
}

int64_t generationOf(const json::Json& object) {
  const json::Json* g = json::at(object, {"metadata", "generation"});
  return g != nullptr && g->is_number_integer() ? g->get<int64_t>() : 0;
}

}  // namespace

Controller::Controller(kube::Client& client, const Clock& clock, ControllerOptions options)
    : client_(client),
      clock_(clock),
      options_(std::move(options)),
      serviceusers_(client, manyObjectsOptions(kServiceUsers, options_.namespace_name)),
      secrets_(client, secretOptions(options_.namespace_name)),
      issuers_(client, informerOptions(kDigiCertIssuers, options_.namespace_name)),
      cluster_issuers_(client, informerOptions(kClusterDigiCertIssuers, "")),
      queue_(kube::WorkQueueOptions{.name = kControllerName}),
      events_(client, kube::EventRecorderOptions{.controller = "identity.serviceuser.dev/operator",
                                                 .instance = options_.instance}),
      resolver_(client, issuers_, cluster_issuers_, clock, options_.issuers),
      reconciler_(client, serviceusers_, secrets_, resolver_, events_, clock, options_.reconciler),
      issuer_queue_(kube::WorkQueueOptions{.name = "issuer"}),
      issuer_status_(client, issuers_, cluster_issuers_, resolver_, clock,
                     options_.reconciler.identity_check_interval) {
  serviceusers_.addIndex(kIssuerIndex, issuerOf);
  auto enqueue = [this](const std::string& key, const json::Json&) { queue_.add(key); };
  serviceusers_.setHandlers({.on_add = enqueue,
                             .on_update = [this](const std::string& key, const json::Json&,
                                                 const json::Json&) { queue_.add(key); },
                             .on_delete = enqueue});
  auto owner = [this](const std::string&, const json::Json& s) { enqueueOwner(s); };
  secrets_.setHandlers({.on_add = owner,
                        .on_update = [this](const std::string&, const json::Json&,
                                            const json::Json& s) { enqueueOwner(s); },
                        .on_delete = owner});
  for (bool cluster : {false, true}) {
    auto users = [this, cluster](const std::string&, const json::Json& i) {
      issuerChanged(i, cluster);
    };
    (cluster ? cluster_issuers_ : issuers_)
        .setHandlers(
            {.on_add = users,
             .on_update =
                 [this, cluster](const std::string&, const json::Json& old, const json::Json& i) {
                   // Its own status writes need no look at its ServiceUsers.
                   if (generationOf(old) == generationOf(i)) {
                     issuer_queue_.add(IssuerStatusReconciler::keyOf(i, cluster));
                     return;
                   }
                   issuerChanged(i, cluster);
                 },
             .on_delete = users});
  }
}

Controller::~Controller() { stop(); }

// Workers start only once every cache has listed: a reconcile that ran on a half-filled cache
// would report a missing issuer or Secret that is not missing.
void Controller::start() {
  for (kube::Informer* i : {&issuers_, &cluster_issuers_, &secrets_, &serviceusers_}) i->start();
  starter_ = std::thread([this] {
    while (!stopping_.load() && !waitForSync(std::chrono::milliseconds(500))) {
    }
    std::lock_guard lock(workers_mu_);
    if (stopping_.load()) return;
    workers_ = std::make_unique<kube::WorkerPool>(
        queue_, options_.workers,
        [this](const std::string& key) { return reconciler_.reconcile(key); });
    issuer_workers_ = std::make_unique<kube::WorkerPool>(
        issuer_queue_, 1, [this](const std::string& key) { return issuer_status_.reconcile(key); });
    log::info("caches synced; workers started",
              {{"controller", kControllerName}, {"workers", options_.workers}});
  });
}

bool Controller::synced() const {
  return serviceusers_.hasSynced() && secrets_.hasSynced() && issuers_.hasSynced() &&
         cluster_issuers_.hasSynced();
}

bool Controller::waitForSync(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (kube::Informer* i : {&issuers_, &cluster_issuers_, &secrets_, &serviceusers_}) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !i->waitForSync(left)) return false;
  }
  return true;
}

void Controller::stop() {
  stopping_ = true;
  if (starter_.joinable()) starter_.join();
  {
    std::lock_guard lock(workers_mu_);
    for (auto* pool : {&workers_, &issuer_workers_}) {
      if (*pool) (*pool)->stop();
      pool->reset();
    }
  }
  for (kube::Informer* i : {&serviceusers_, &secrets_, &issuers_, &cluster_issuers_}) i->stop();
  events_.flush(std::chrono::seconds(5));
}

void Controller::enqueueOwner(const json::Json& secret) {
  const json::Json* refs = json::at(secret, {"metadata", "ownerReferences"});
  if (refs == nullptr || !refs->is_array()) return;
  for (const json::Json& ref : *refs) {
    if (json::getString(ref, "kind").value_or("") == "ServiceUser" &&
        json::getString(ref, "apiVersion").value_or("").rfind(kGroup, 0) == 0) {
      queue_.add(json::stringAt(secret, {"metadata", "namespace"}) + "/" +
                 json::getString(ref, "name").value_or(""));
    }
  }
}

void Controller::issuerChanged(const json::Json& issuer, bool cluster) {
  issuer_queue_.add(IssuerStatusReconciler::keyOf(issuer, cluster));
  std::string value = issuerIndexValue(cluster, json::stringAt(issuer, {"metadata", "namespace"}),
                                       json::stringAt(issuer, {"metadata", "name"}));
  for (const std::string& key : serviceusers_.keysByIndex(kIssuerIndex, value)) queue_.add(key);
}

}  // namespace su::serviceuser
