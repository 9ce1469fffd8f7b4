// A rate-limited work queue of object keys, and a pool of workers draining it.
//
//   su::kube::WorkQueue queue({.name = "serviceuser"});
//   informer.setHandlers({.on_add = [&](auto& key, auto&) { queue.add(key); }, ...});
//   su::kube::WorkerPool workers(queue, 2, [&](const std::string& key) {
//     return reconcile(key);  // Outcome::done(), ::backoff() or ::after(delay)
//   });
//   ...
//   queue.shutDown();  // workers finish their current key and return
//
// Rules: a key is handed to at most one worker at a time (re-adding it while it is processed
// queues it again for after done()); adding a key already waiting does nothing; backoff() delays
// a key by base * 2^failures up to a cap and by an overall token bucket; after() schedules a key
// (the earliest time wins when scheduled twice); a done() outcome forgets the failures.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace su::kube {

struct WorkQueueOptions {
  std::string name = "default";  // the metric label
  std::chrono::milliseconds base_delay{5};
  std::chrono::milliseconds max_delay{1000 * 1000};
  double qps = 10;  // overall bucket for backoff() adds
  double burst = 100;
};

class WorkQueue {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;

  explicit WorkQueue(WorkQueueOptions options = {});
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  void add(const std::string& key);
  void addAfter(const std::string& key, std::chrono::milliseconds delay);
  // Delays by the key's backoff (and the overall bucket) and counts a failure.
  void addRateLimited(const std::string& key);
  // Clears the key's failure count.
  void forget(const std::string& key);
  int failures(const std::string& key) const;

  // Waits for a key; nullopt once shut down. The caller must call done(key) afterwards.
  std::optional<std::string> get();
  void done(const std::string& key);

  // Wakes every get(); keys still waiting are dropped.
  void shutDown();
  bool shuttingDown() const;
  // Keys ready to be handed out now (not the delayed ones, not those being processed).
  size_t length() const;
  size_t delayedLength() const;

 private:
  void enqueueLocked(const std::string& key);
  void promoteDueLocked(SteadyTime now);
  void updateMetricLocked();

  std::chrono::milliseconds reserveBucketLocked(SteadyTime now);

  WorkQueueOptions options_;
  double bucket_tokens_;
  SteadyTime bucket_last_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  std::set<std::string> dirty_;
  std::set<std::string> processing_;
  std::map<std::string, SteadyTime> waiting_;             // key -> when it is due
  std::multimap<SteadyTime, std::string> waiting_order_;  // due time -> key
  std::map<std::string, int> failures_;
  bool shutting_down_ = false;
};

// What a worker asks the queue to do with the key it processed.
struct Outcome {
  enum class Kind { kDone, kBackoff, kAfter };
  Kind kind = Kind::kDone;
  std::chrono::milliseconds delay{0};

  static Outcome done() { return {}; }
  static Outcome backoff() { return {Kind::kBackoff, {}}; }
  static Outcome after(std::chrono::milliseconds d) { return {Kind::kAfter, d}; }
};

// N threads taking keys from a queue and applying the outcome of `process` to each.
class WorkerPool {
 public:
  WorkerPool(WorkQueue& queue, int workers, std::function<Outcome(const std::string&)> process);
  // Shuts the queue down and joins the workers.
  ~WorkerPool();
  void stop();

 private:
  void loop();

  WorkQueue& queue_;
  std::function<Outcome(const std::string&)> process_;
  std::vector<std::thread> threads_;
};

}  // namespace su::kube
