// Events written to the real API server: one object per distinct event, repeats as a series.
#include "kube/events.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "common/metrics.h"
#include "kube/kube_fixture.h"

namespace su::kube {
namespace {

using namespace std::chrono_literals;
using testing::adminClient;

std::vector<Json> eventsIn(const std::string& ns) {
  auto listed = adminClient().list(kEvents, ns);
  EXPECT_TRUE(listed.ok()) << (listed.ok() ? "" : listed.error().describe());
  return listed.ok() ? listed->items : std::vector<Json>{};
}

EventRecorderOptions recorderOptions() {
  EventRecorderOptions options;
  options.controller = "serviceuser.dev/kube-tests";
  options.instance = "test-instance";
  options.series_interval = 0ms;
  return options;
}

TEST(Events, AggregatesRepeatsIntoOneEventWithASeries) {
  std::string ns = testing::freshNamespace("events");
  auto subject = adminClient().create(kConfigMaps, testing::configMap(ns, "subject"));
  ASSERT_TRUE(subject.ok());
  ObjectReference ref = ObjectReference::of(*subject);
  EXPECT_EQ(ref.kind, "ConfigMap");

  EventRecorder recorder(adminClient(), recorderOptions());
  for (int i = 0; i < 5; ++i) {
    recorder.record(ref, EventType::kWarning, "IssuerNotReady", "Reconcile", "issuer x is down");
    ASSERT_TRUE(recorder.flush(10s));
  }
  recorder.record(ref, EventType::kNormal, "Issued", "Reconcile", "token delivered");
  ASSERT_TRUE(recorder.flush(10s));

  std::vector<Json> events = eventsIn(ns);
  ASSERT_EQ(events.size(), 2u);
  for (const Json& e : events) {
    EXPECT_EQ(e["regarding"]["uid"], ref.uid);
    EXPECT_EQ(e["reportingController"], "serviceuser.dev/kube-tests");
    if (e["reason"] == "IssuerNotReady") {
      EXPECT_EQ(e["type"], "Warning");
      EXPECT_EQ(e["note"], "issuer x is down");
      EXPECT_EQ(e["series"]["count"], 5);
      EXPECT_TRUE(e["series"].contains("lastObservedTime"));
    } else {
      EXPECT_EQ(e["reason"], "Issued");
      EXPECT_FALSE(e.contains("series"));
    }
  }
}

TEST(Events, FoldsRepeatsWithinTheIntervalIntoOneWrite) {
  std::string ns = testing::freshNamespace("events-fold");
  auto subject = adminClient().create(kConfigMaps, testing::configMap(ns, "subject"));
  ASSERT_TRUE(subject.ok());
  EventRecorderOptions options = recorderOptions();
  options.series_interval = 1h;  // nothing but the final flush writes the series
  double before = metrics::defaultRegistry()
                      .counter("kube_client_requests_total", "", {"verb", "resource", "code"})
                      .labels({"patch", "events.events.k8s.io", "200"})
                      .value();
  {
    EventRecorder recorder(adminClient(), options);
    for (int i = 0; i < 50; ++i) {
      recorder.record(ObjectReference::of(*subject), EventType::kNormal, "Synced", "Reconcile",
                      "all good");
    }
  }  // the destructor writes what is pending
  double patches = metrics::defaultRegistry()
                       .counter("kube_client_requests_total", "", {"verb", "resource", "code"})
                       .labels({"patch", "events.events.k8s.io", "200"})
                       .value() -
                   before;
  EXPECT_EQ(patches, 1.0);
  std::vector<Json> events = eventsIn(ns);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["series"]["count"], 50);
}

TEST(Events, RecordingNeverWaitsForTheApiServer) {
  RestConfig config = testing::configFor(testing::ControlPlane::shared());
  config.server = "https://127.0.0.1:1";  // unreachable
  auto client = Client::create(config).value();
  EventRecorderOptions options = recorderOptions();
  options.queue_capacity = 10;
  auto& dropped = metrics::defaultRegistry().counter("kube_events_dropped_total", "");
  double before = dropped.labels({}).value();
  auto start = std::chrono::steady_clock::now();
  {
    EventRecorder recorder(*client, options);
    ObjectReference ref;
    ref.kind = "ConfigMap";
    ref.ns = "default";
    ref.name = "x";
    for (int i = 0; i < 2000; ++i) {
      recorder.record(ref, EventType::kNormal, "R", "A", "note " + std::to_string(i));
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, 500ms);
  }
  EXPECT_GT(dropped.labels({}).value() - before, 0.0);
}

double cpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
         (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

TEST(Events, AnIdleRecorderDoesNotSpin) {
  EventRecorder recorder(adminClient(), recorderOptions());  // a zero series interval
  double before = cpuSeconds();
  std::this_thread::sleep_for(1s);
  EXPECT_LT(cpuSeconds() - before,
            0.05);  // a spinning writer burns far more, even on a busy machine
}

// A socket that takes connections into its backlog and never answers: every request hangs
// until the client's timeout.
class Blackhole {
 public:
  Blackhole() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len), 0);
    EXPECT_EQ(::listen(fd_, 64), 0);
    EXPECT_EQ(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    port_ = ntohs(addr.sin_port);
  }
  ~Blackhole() { ::close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(Events, GivesUpOnQueuedEventsWithinTheShutdownTimeout) {
  Blackhole hole;
  RestConfig config = testing::configFor(testing::ControlPlane::shared());
  config.server = "https://127.0.0.1:" + std::to_string(hole.port());
  config.timeout = 1s;
  auto client = Client::create(config).value();
  EventRecorderOptions options = recorderOptions();
  options.shutdown_timeout = 1500ms;
  auto& dropped = metrics::defaultRegistry().counter("kube_events_dropped_total", "");
  double before = dropped.labels({}).value();
  auto recorder = std::make_unique<EventRecorder>(*client, options);
  ObjectReference ref;
  ref.kind = "ConfigMap";
  ref.ns = "default";
  ref.name = "x";
  for (int i = 0; i < 20; ++i) {
    recorder->record(ref, EventType::kNormal, "R", "A", "hanging " + std::to_string(i));
  }
  auto start = std::chrono::steady_clock::now();
  recorder.reset();  // 20 requests of 1 s each would take 20 s
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);
  EXPECT_GT(dropped.labels({}).value() - before, 10.0);
}

}  // namespace
}  // namespace su::kube
