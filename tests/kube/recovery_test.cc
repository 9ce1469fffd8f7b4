// Informers and leader election across what breaks watches in the field: etcd compaction
// (410 Gone) and an API server restart. They run on a private control plane without the watch
// cache and with compaction every 2 s, so a stale resourceVersion is really gone.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "kube/informer.h"
#include "kube/informer_recorder.h"
#include "kube/kube_fixture.h"
#include "kube/leader_election.h"

namespace su::kube {
namespace {

using namespace std::chrono_literals;
using testing::configMap;
using testing::ControlPlane;
using testing::eventually;

class Recovery : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ControlPlane::Options options;
    options.watch_cache = false;
    options.compaction_interval = "2s";
    cp_ = new ControlPlane(options);
    std::string error;
    started_ = cp_->start(&error);
    start_error_ = error;
  }
  static void TearDownTestSuite() {
    delete cp_;
    cp_ = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(started_) << "the private control plane did not start: " << start_error_;
    client_ = testing::clientFor(*cp_);
    ASSERT_NE(client_, nullptr);
  }

  std::string freshNamespace(const std::string& prefix) {
    std::string name = testing::uniqueName(prefix);
    Json ns = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}}}};
    EXPECT_TRUE(client_->create(kNamespaces, ns).ok());
    return name;
  }

  // Writes elsewhere so etcd's revision moves on, and waits until compaction has passed
  // every revision older than now.
  void advancePastCompaction(const std::string& ns) {
    std::string name = testing::uniqueName("filler");
    auto cm = client_->create(kConfigMaps, configMap(ns, name));
    ASSERT_TRUE(cm.ok());
    auto deadline = std::chrono::steady_clock::now() + 7s;
    for (int i = 0; std::chrono::steady_clock::now() < deadline; ++i) {
      ASSERT_TRUE(client_
                      ->patch(kConfigMaps, ns, name, PatchType::kMerge,
                              {{"data", {{"i", std::to_string(i)}}}})
                      .ok());
      std::this_thread::sleep_for(100ms);
    }
  }

  InformerOptions configMapsIn(const std::string& ns) {
    InformerOptions options;
    options.resource = kConfigMaps;
    options.ns = ns;
    options.backoff_base = 200ms;
    options.backoff_cap = 2s;
    return options;
  }

  static ControlPlane* cp_;
  static bool started_;
  static std::string start_error_;
  std::unique_ptr<Client> client_;
};

ControlPlane* Recovery::cp_ = nullptr;
bool Recovery::started_ = false;
std::string Recovery::start_error_;

TEST_F(Recovery, AWatchFromACompactedResourceVersionFailsWith410) {
  std::string ns = freshNamespace("expired");
  auto listed = client_->list(kConfigMaps, ns);
  ASSERT_TRUE(listed.ok());
  advancePastCompaction(freshNamespace("filler"));

  WatchOptions options;
  options.resource_version = listed->resource_version;
  options.timeout = std::chrono::seconds(10);
  net::CancelSource cancel;
  int events = 0;
  auto ended = client_->watch(
      kConfigMaps, ns, options,
      [&](WatchEvent&&) {
        ++events;
        return true;
      },
      cancel);
  ASSERT_FALSE(ended.ok());
  EXPECT_EQ(ended.error().http_status, 410);
  EXPECT_EQ(ended.error().kind, ErrorKind::kTransient);
  EXPECT_EQ(events, 0);
}

TEST_F(Recovery, RelistsAfterGoneWithoutMissingAnUpdate) {
  std::string ns = freshNamespace("gone");
  std::string filler_ns = freshNamespace("filler");
  for (const char* name : {"keep", "change", "remove"}) {
    ASSERT_TRUE(client_->create(kConfigMaps, configMap(ns, name, {{"v", "0"}})).ok());
  }

  // The informer's first watch waits until the changes below are made and their revisions,
  // with the list's, compacted away: it must start from a resourceVersion that is gone.
  std::atomic<int> watch_starts{0};
  std::atomic<bool> release{false};
  InformerOptions options = configMapsIn(ns);
  options.before_watch = [&] {
    if (watch_starts++ > 0) return;
    while (!release) std::this_thread::sleep_for(10ms);
  };
  testing::HandlerRecorder recorder;
  Informer informer(*client_, options);
  informer.setHandlers(recorder.handlers());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(30s));
  ASSERT_TRUE(eventually([&] { return watch_starts.load() == 1; }));

  ASSERT_TRUE(
      client_->patch(kConfigMaps, ns, "change", PatchType::kMerge, {{"data", {{"v", "1"}}}}).ok());
  ASSERT_TRUE(client_->remove(kConfigMaps, ns, "remove").ok());
  ASSERT_TRUE(client_->create(kConfigMaps, configMap(ns, "new", {{"v", "1"}})).ok());
  advancePastCompaction(filler_ns);
  release = true;

  ASSERT_TRUE(eventually([&] { return informer.relistCount() >= 2; }, 30s))
      << "the watch from a compacted resourceVersion did not end in a relist";
  ASSERT_TRUE(eventually([&] { return recorder.model() == testing::serverModel(*client_, ns); }));
  EXPECT_TRUE(recorder.saw("update " + ns + "/change"));
  EXPECT_TRUE(recorder.saw("delete " + ns + "/remove"));
  EXPECT_TRUE(recorder.saw("add " + ns + "/new"));
  EXPECT_FALSE(recorder.saw("update " + ns + "/keep"));  // unchanged objects stay quiet
  EXPECT_EQ(informer.get(ns + "/remove"), nullptr);
  EXPECT_EQ(informer.keys().size(), 3u);

  // And it keeps watching from the new list.
  ASSERT_TRUE(client_->create(kConfigMaps, configMap(ns, "after", {{"v", "2"}})).ok());
  ASSERT_TRUE(eventually([&] { return recorder.saw("add " + ns + "/after"); }));
}

TEST_F(Recovery, ResumesAfterAnApiServerRestartWithoutMissingAnUpdate) {
  std::string ns = freshNamespace("restart");
  for (const char* name : {"counter", "doomed"}) {
    ASSERT_TRUE(client_->create(kConfigMaps, configMap(ns, name, {{"v", "0"}})).ok());
  }
  testing::HandlerRecorder recorder;
  Informer informer(*client_, configMapsIn(ns));
  informer.setHandlers(recorder.handlers());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(30s));

  // A writer keeps changing one object across the restart; every value it managed to write
  // before stopping must end up in the informer.
  std::atomic<bool> writing{true};
  std::atomic<int> last_written{0};
  std::thread writer([&] {
    for (int i = 1; writing; ++i) {
      auto patched = client_->patch(kConfigMaps, ns, "counter", PatchType::kMerge,
                                    {{"data", {{"v", std::to_string(i)}}}});
      if (patched.ok()) last_written = i;
      std::this_thread::sleep_for(50ms);
    }
  });
  std::this_thread::sleep_for(300ms);
  int64_t watches_before = informer.watchCount();
  std::string error;
  ASSERT_TRUE(cp_->restartApiServer(&error)) << error;

  // Changes made as soon as the server is back, while the informer may still be backing off.
  ASSERT_TRUE(eventually([&] { return client_->remove(kConfigMaps, ns, "doomed").ok(); }, 30s));
  ASSERT_TRUE(client_->create(kConfigMaps, configMap(ns, "born", {{"v", "1"}})).ok());
  std::this_thread::sleep_for(500ms);
  writing = false;
  writer.join();
  ASSERT_GT(last_written.load(), 0);

  ASSERT_TRUE(
      eventually([&] { return recorder.model() == testing::serverModel(*client_, ns); }, 30s));
  EXPECT_EQ(recorder.dataOf(ns + "/counter")["v"], std::to_string(last_written.load()));
  EXPECT_TRUE(recorder.saw("delete " + ns + "/doomed"));
  EXPECT_TRUE(recorder.saw("add " + ns + "/born"));
  EXPECT_GT(informer.watchCount(), watches_before);
}

TEST_F(Recovery, ALeaderThatCannotReachTheApiServerStopsLeading) {
  std::string ns = freshNamespace("lease");
  LeaderElectionOptions options;
  options.lease_namespace = ns;
  options.lease_name = "operator";
  options.identity = "only-candidate";
  options.lease_duration = 2s;
  options.renew_deadline = 1500ms;
  options.retry_period = 250ms;
  std::atomic<bool> started{false}, stopped{false};
  LeaderCallbacks callbacks;
  callbacks.on_started_leading = [&] { started = true; };
  callbacks.on_stopped_leading = [&] { stopped = true; };
  auto elector = LeaderElector::create(testing::configFor(*cp_), options, callbacks);
  ASSERT_TRUE(elector.ok()) << elector.error().describe();
  (*elector)->start();
  ASSERT_TRUE(eventually([&] { return started.load(); }));

  std::string error;
  ASSERT_TRUE(cp_->restartApiServer(&error)) << error;
  EXPECT_TRUE(stopped.load()) << "the leader kept leading while the API server was away";
  EXPECT_FALSE((*elector)->isLeader());
}

}  // namespace
}  // namespace su::kube
