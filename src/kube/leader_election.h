// Leader election on a coordination.k8s.io/v1 Lease: one active operator per cluster.
//
//   su::kube::LeaderElector elector(config, {.lease_namespace = "ops", .lease_name = "su-op",
//                                            .identity = pod_name},
//                                   {.on_started_leading = startControllers,
//                                    .on_stopped_leading = stopControllersAndExit});
//   elector.start();
//   ...
//   elector.stop();  // releases the Lease when leading, so a successor need not wait
//
// Every write carries the Lease's resourceVersion, so two candidates racing for it cannot both
// win. A leader that has not renewed within renew_deadline calls on_stopped_leading and stops
// competing; since renew_deadline < lease_duration, it has stopped before anyone else may take
// the Lease. Expiry is judged by this process's clock from when it last saw the Lease change,
// never by comparing the holder's timestamps with local time, so clock skew between nodes does
// not matter.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "kube/rest_client.h"

namespace su::kube {

struct LeaderElectionOptions {
  std::string lease_namespace;
  std::string lease_name;
  std::string identity;  // unique per process, e.g. the pod name
  std::chrono::milliseconds lease_duration{15000};
  std::chrono::milliseconds renew_deadline{10000};
  std::chrono::milliseconds retry_period{2000};
  bool release_on_stop = true;
};

struct LeaderCallbacks {
  std::function<void()> on_started_leading;
  // Called once when leadership is lost or given up; the process should stop its work.
  std::function<void()> on_stopped_leading;
  std::function<void(const std::string& identity)> on_new_leader;
};

class LeaderElector {
 public:
  // Makes its own client whose requests are not retried and time out within
  // min(retry_period, (lease_duration - renew_deadline) / 2), so a hung API server cannot keep a
  // leader acting past its lease.
  static Result<std::unique_ptr<LeaderElector>> create(const RestConfig& config,
                                                       LeaderElectionOptions options,
                                                       LeaderCallbacks callbacks);
  ~LeaderElector();  // stop()

  void start();
  // Stops competing; releases the Lease when leading and release_on_stop is set. Callbacks run
  // on the elector's thread and may call stop(); the destructor then waits for the thread.
  void stop();
  // True while leading and within the renew deadline of the last renewal, even if the elector's
  // thread is still waiting on a request.
  bool isLeader() const;
  // The holder last observed ("" when none).
  std::string leader() const;

 private:
  LeaderElector(std::unique_ptr<Client> client, LeaderElectionOptions options,
                LeaderCallbacks callbacks);
  void run();
  bool acquire();
  bool renewUntilLost();
  Status tryAcquireOrRenew();
  void release();
  bool waitFor(std::chrono::milliseconds d);  // false when stopping
  void observe(const Json& lease);

  std::unique_ptr<Client> client_;
  LeaderElectionOptions options_;
  LeaderCallbacks callbacks_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::atomic<bool> leading_{false};
  std::atomic<std::chrono::steady_clock::rep> valid_until_{0};  // steady clock ticks
  std::string observed_holder_;
  std::string observed_renew_time_;
  std::chrono::steady_clock::time_point observed_at_{};
  Json lease_;  // the last Lease read or written
  std::thread thread_;
};

}  // namespace su::kube
