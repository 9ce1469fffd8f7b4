// Kubernetes Events (events.k8s.io/v1) about objects, written in the background.
//
//   su::kube::EventRecorder events(*client, {.controller = "example.com/serviceuser",
//                                            .instance = pod_name});
//   events.record(su::kube::ObjectReference::of(serviceuser), su::kube::EventType::kWarning,
//                 "IssuerNotReady", "Reconcile", "issuer default/x has no credentials");
//
// record() only queues and returns. A repeat of the same event (same object, type, reason,
// action and note) does not make a new object: the existing Event's series.count and
// series.lastObservedTime are updated, at most once per series_interval. When the queue is
// full, events are dropped and counted (kube_events_dropped_total), never waited for.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "kube/rest_client.h"

namespace su::kube {

enum class EventType { kNormal, kWarning };

struct ObjectReference {
  std::string api_version;
  std::string kind;
  std::string ns;
  std::string name;
  std::string uid;
  std::string resource_version;

  static ObjectReference of(const Json& object);
  Json toJson() const;
};

struct EventRecorderOptions {
  std::string controller;  // reportingController, e.g. "example.com/serviceuser"
  std::string instance;    // reportingInstance, e.g. the pod name
  size_t queue_capacity = 1000;
  // Repeats within this time are folded into one write.
  std::chrono::milliseconds series_interval{30000};
  // A repeat after this much quiet starts a new Event.
  std::chrono::milliseconds series_lifetime{std::chrono::minutes(30)};
  // After the destructor is called, events still unwritten after this long are dropped.
  std::chrono::milliseconds shutdown_timeout{5000};
};

class EventRecorder {
 public:
  EventRecorder(Client& client, EventRecorderOptions options);
  // Writes what is queued, for at most shutdown_timeout (plus one request in flight), then stops.
  ~EventRecorder();

  void record(const ObjectReference& regarding, EventType type, std::string reason,
              std::string action, std::string note);
  // Waits until everything recorded so far is written (tests, shutdown); false on timeout.
  bool flush(std::chrono::milliseconds timeout);

 private:
  struct Pending {
    ObjectReference regarding;
    EventType type;
    std::string reason, action, note;
    TimePoint at;
  };
  // What was written for one distinct event, so repeats can update it.
  struct Series {
    std::string ns, name;
    int64_t count = 1;
    int64_t written_count = 1;
    TimePoint last_observed;
    std::chrono::steady_clock::time_point last_written;
  };
  void run();
  void handle(const Pending& p);
  Status createEvent(const Pending& p, Series& series);
  Status writeSeries(Series& series);
  void writeDueSeries(bool all);
  bool idleLocked() const;
  std::chrono::milliseconds idleWait() const;
  bool pastShutdownDeadline() const;

  Client& client_;
  EventRecorderOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  std::deque<Pending> queue_;
  std::map<std::string, Series> series_;  // only touched by the writer thread
  bool busy_ = false;
  bool flush_requested_ = false;
  bool stopping_ = false;
  std::atomic<std::chrono::steady_clock::rep> give_up_at_{
      std::numeric_limits<std::chrono::steady_clock::rep>::max()};
  std::thread thread_;
};

}  // namespace su::kube
