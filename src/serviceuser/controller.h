#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "kube/events.h"
#include "kube/informer.h"
#include "kube/rest_client.h"
#include "kube/work_queue.h"
#include "serviceuser/issuer_status.h"
#include "serviceuser/issuers.h"
#include "serviceuser/reconciler.h"

namespace su::serviceuser {

struct ControllerOptions {
  std::string namespace_name;  // empty: every namespace
  int workers = 4;
  ReconcilerOptions reconciler;
  IssuerResolver::Options issuers;
  std::string instance;  // reportingInstance of Events, e.g. the pod name
};

// The ServiceUser controller: caches of ServiceUsers, the Secrets it owns (found by label, data
// replaced by digests) and issuers; a work queue fed by their changes and by scheduled times; and
// workers running the reconciler.
class Controller {
 public:
  Controller(kube::Client& client, const Clock& clock, ControllerOptions options);
  ~Controller();

  void start();
  // True once every cache has listed.
  bool synced() const;
  bool waitForSync(std::chrono::milliseconds timeout);
  // Stops taking work, lets reconciles in flight finish, stops the caches.
  void stop();

  size_t queueLength() const { return queue_.length(); }

 private:
  void enqueueOwner(const json::Json& secret);
  // An issuer changed: its own status and every ServiceUser naming it need a look.
  void issuerChanged(const json::Json& issuer, bool cluster);

  kube::Client& client_;
  const Clock& clock_;
  ControllerOptions options_;
  kube::Informer serviceusers_;
  kube::Informer secrets_;
  kube::Informer issuers_;
  kube::Informer cluster_issuers_;
  kube::WorkQueue queue_;
  kube::EventRecorder events_;
  IssuerResolver resolver_;
  Reconciler reconciler_;
  kube::WorkQueue issuer_queue_;
  IssuerStatusReconciler issuer_status_;
  std::unique_ptr<kube::WorkerPool> issuer_workers_;
  std::atomic<bool> stopping_{false};
  std::mutex workers_mu_;
  std::unique_ptr<kube::WorkerPool> workers_;
  std::thread starter_;
};

}  // namespace su::serviceuser
