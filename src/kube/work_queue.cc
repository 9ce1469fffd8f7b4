#include "kube/work_queue.h"

#include <algorithm>

#include "common/metrics.h"
#include "common/rate_limit.h"

namespace su::kube {
namespace {

metrics::Family<metrics::Gauge>& depthGauge() {
  static auto& family = metrics::defaultRegistry().gauge(
      "workqueue_depth", "Keys ready to be processed, by queue.", {"name"});
  return family;
}

metrics::Family<metrics::Counter>& retriesCounter() {
  static auto& family = metrics::defaultRegistry().counter(
      "workqueue_retries_total", "Keys put back after a failure, by queue.", {"name"});
  return family;
}

}  // namespace

WorkQueue::WorkQueue(WorkQueueOptions options)
    : options_(std::move(options)),
      bucket_tokens_(std::max(1.0, options_.burst)),
      bucket_last_(std::chrono::steady_clock::now()) {
  updateMetricLocked();
}

WorkQueue::~WorkQueue() { shutDown(); }

void WorkQueue::add(const std::string& key) {
  std::lock_guard lock(mu_);
  if (shutting_down_) return;
  enqueueLocked(key);
}

void WorkQueue::enqueueLocked(const std::string& key) {
  if (!dirty_.insert(key).second) return;
  // A key being processed goes back on the queue when its worker calls done().
  if (processing_.count(key)) return;
  queue_.push_back(key);
  updateMetricLocked();
  cv_.notify_one();
}

void WorkQueue::addAfter(const std::string& key, std::chrono::milliseconds delay) {
  if (delay <= std::chrono::milliseconds::zero()) return add(key);
  std::lock_guard lock(mu_);
  if (shutting_down_) return;
  SteadyTime due = std::chrono::steady_clock::now() + delay;
  auto it = waiting_.find(key);
  if (it != waiting_.end()) {
    if (it->second <= due) return;  // already due sooner
    auto range = waiting_order_.equal_range(it->second);
    for (auto o = range.first; o != range.second; ++o) {
      if (o->second == key) {
        waiting_order_.erase(o);
        break;
      }
    }
  }
  waiting_[key] = due;
  waiting_order_.emplace(due, key);
  cv_.notify_all();  // a waiter may need an earlier wake-up
}

std::chrono::milliseconds WorkQueue::reserveBucketLocked(SteadyTime now) {
  if (options_.qps <= 0) return std::chrono::milliseconds::zero();
  double elapsed = std::chrono::duration<double>(now - bucket_last_).count();
  bucket_tokens_ = std::min(std::max(1.0, options_.burst), bucket_tokens_ + elapsed * options_.qps);
  bucket_last_ = now;
  bucket_tokens_ -= 1.0;  // may go negative: later callers wait behind earlier ones
  if (bucket_tokens_ >= 0) return std::chrono::milliseconds::zero();
  return std::chrono::milliseconds(static_cast<int64_t>(-bucket_tokens_ / options_.qps * 1000.0));
}

void WorkQueue::addRateLimited(const std::string& key) {
  std::chrono::milliseconds delay;
  {
    std::lock_guard lock(mu_);
    if (shutting_down_) return;
    int failures = failures_[key]++;
    delay = std::max(exponentialBackoff(failures, options_.base_delay, options_.max_delay),
                     reserveBucketLocked(std::chrono::steady_clock::now()));
  }
  retriesCounter().labels({options_.name}).inc();
  addAfter(key, delay);
}

void WorkQueue::forget(const std::string& key) {
  std::lock_guard lock(mu_);
  failures_.erase(key);
}

int WorkQueue::failures(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

void WorkQueue::promoteDueLocked(SteadyTime now) {
  while (!waiting_order_.empty() && waiting_order_.begin()->first <= now) {
    std::string key = waiting_order_.begin()->second;
    waiting_order_.erase(waiting_order_.begin());
    waiting_.erase(key);
    enqueueLocked(key);
  }
}

std::optional<std::string> WorkQueue::get() {
  std::unique_lock lock(mu_);
  while (true) {
    if (shutting_down_) return std::nullopt;
    promoteDueLocked(std::chrono::steady_clock::now());
    if (!queue_.empty()) {
      std::string key = std::move(queue_.front());
      queue_.pop_front();
      dirty_.erase(key);
      processing_.insert(key);
      updateMetricLocked();
      return key;
    }
    if (waiting_order_.empty()) {
      cv_.wait(lock);
    } else {
      cv_.wait_until(lock, waiting_order_.begin()->first);
    }
  }
}

void WorkQueue::done(const std::string& key) {
  std::lock_guard lock(mu_);
  processing_.erase(key);
  if (dirty_.count(key) && !shutting_down_) {
    queue_.push_back(key);
    updateMetricLocked();
    cv_.notify_one();
  }
}

void WorkQueue::shutDown() {
  std::lock_guard lock(mu_);
  shutting_down_ = true;
  cv_.notify_all();
}

bool WorkQueue::shuttingDown() const {
  std::lock_guard lock(mu_);
  return shutting_down_;
}

size_t WorkQueue::length() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

size_t WorkQueue::delayedLength() const {
  std::lock_guard lock(mu_);
  return waiting_.size();
}

void WorkQueue::updateMetricLocked() {
  depthGauge().labels({options_.name}).set(static_cast<double>(queue_.size()));
}

WorkerPool::WorkerPool(WorkQueue& queue, int workers,
                       std::function<Outcome(const std::string&)> process)
    : queue_(queue), process_(std::move(process)) {
  for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { loop(); });
}

WorkerPool::~WorkerPool() { stop(); }

void WorkerPool::stop() {
  queue_.shutDown();
  for (std::thread& t : threads_) {
    // A worker that stops the pool is not joined by itself; the destructor joins it.
    if (t.joinable() && t.get_id() != std::this_thread::get_id()) t.join();
  }
}

void WorkerPool::loop() {
  while (auto key = queue_.get()) {
    Outcome outcome = process_(*key);
    switch (outcome.kind) {
      case Outcome::Kind::kDone:
        queue_.forget(*key);
        break;
      case Outcome::Kind::kBackoff:
        queue_.addRateLimited(*key);
        break;
      case Outcome::Kind::kAfter:
        queue_.forget(*key);
        queue_.addAfter(*key, outcome.delay);
        break;
    }
    queue_.done(*key);
  }
}

}  // namespace su::kube
