// Leader election on a real Lease: one leader at a time, takeover, loss of the Lease.
#include "kube/leader_election.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "kube/kube_fixture.h"

namespace su::kube {
namespace {

using namespace std::chrono_literals;
using testing::ControlPlane;
using testing::eventually;

LeaderElectionOptions fastOptions(const std::string& ns, const std::string& identity) {
  LeaderElectionOptions options;
  options.lease_namespace = ns;
  options.lease_name = "operator";
  options.identity = identity;
  options.lease_duration = 3s;
  options.renew_deadline = 2s;
  options.retry_period = 250ms;
  return options;
}

struct Candidate {
  std::atomic<int> started{0};
  std::atomic<int> stopped{0};
  std::unique_ptr<LeaderElector> elector;

  void make(const std::string& ns, const std::string& identity) {
    LeaderCallbacks callbacks;
    callbacks.on_started_leading = [this] { started++; };
    callbacks.on_stopped_leading = [this] { stopped++; };
    auto made = LeaderElector::create(testing::configFor(ControlPlane::shared()),
                                      fastOptions(ns, identity), callbacks);
    ASSERT_TRUE(made.ok()) << made.error().describe();
    elector = std::move(made).value();
  }
};

TEST(LeaderElection, TwoCandidatesNeverLeadAtOnceAndTheSecondTakesOverWhenTheLeaderStops) {
  std::string ns = testing::freshNamespace("election");
  Candidate a, b;
  a.make(ns, "candidate-a");
  b.make(ns, "candidate-b");
  a.elector->start();
  ASSERT_TRUE(eventually([&] { return a.elector->isLeader(); }));
  b.elector->start();

  // Watch both for a while: only one may lead.
  std::atomic<int> both{0};
  auto watch_for = [&](std::chrono::milliseconds d) {
    auto end = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < end) {
      if (a.elector->isLeader() && b.elector->isLeader()) both++;
      std::this_thread::sleep_for(5ms);
    }
  };
  watch_for(4s);  // longer than the lease: a renews it, b keeps waiting
  EXPECT_TRUE(a.elector->isLeader());
  EXPECT_FALSE(b.elector->isLeader());
  EXPECT_EQ(b.elector->leader(), "candidate-a");

  auto stopped_at = std::chrono::steady_clock::now();
  a.elector->stop();  // releases the Lease
  EXPECT_EQ(a.stopped.load(), 1);
  ASSERT_TRUE(eventually([&] { return b.elector->isLeader(); }, 10s));
  // Released, so b need not wait out the 3 s lease.
  EXPECT_LT(std::chrono::steady_clock::now() - stopped_at, 2s);
  watch_for(500ms);
  EXPECT_EQ(both.load(), 0);

  auto lease = testing::adminClient().get(kLeases, ns, "operator");
  ASSERT_TRUE(lease.ok());
  EXPECT_EQ((*lease)["spec"]["holderIdentity"], "candidate-b");
  EXPECT_EQ((*lease)["spec"]["leaseTransitions"], 1);
}

TEST(LeaderElection, ThreeCandidatesStartingTogetherHandOverOneAtATime) {
  std::string ns = testing::freshNamespace("election-race");
  Candidate c[3];
  for (int i = 0; i < 3; ++i) c[i].make(ns, "racer-" + std::to_string(i));
  for (auto& candidate : c) candidate.elector->start();

  std::atomic<bool> watching{true};
  std::atomic<int> overlaps{0};
  std::thread monitor([&] {
    while (watching) {
      int leaders = 0;
      for (auto& candidate : c) leaders += candidate.elector->isLeader();
      if (leaders > 1) overlaps++;
      std::this_thread::sleep_for(2ms);
    }
  });
  std::set<int> led;
  for (int round = 0; round < 3; ++round) {
    int leader = -1;
    ASSERT_TRUE(eventually(
        [&] {
          for (int i = 0; i < 3; ++i) {
            if (!led.count(i) && c[i].elector->isLeader()) leader = i;
          }
          return leader >= 0;
        },
        15s))
        << "no new leader in round " << round;
    led.insert(leader);
    c[leader].elector->stop();
  }
  watching = false;
  monitor.join();
  EXPECT_EQ(overlaps.load(), 0);
  for (auto& candidate : c) EXPECT_EQ(candidate.started.load(), 1);
}

TEST(LeaderElection, TakesOverALeaseWhoseHolderVanishedWithoutReleasingIt) {
  std::string ns = testing::freshNamespace("election-expiry");
  Json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                {"kind", "Lease"},
                {"metadata", {{"name", "operator"}, {"namespace", ns}}},
                {"spec",
                 {{"holderIdentity", "crashed"},
                  {"leaseDurationSeconds", 3},
                  {"renewTime", formatMicroTime(std::chrono::system_clock::now())}}}};
  ASSERT_TRUE(testing::adminClient().create(kLeases, lease).ok());
  Candidate b;
  b.make(ns, "successor");
  auto start = std::chrono::steady_clock::now();
  b.elector->start();
  ASSERT_TRUE(eventually([&] { return b.elector->isLeader(); }, 10s));
  // Not before the lease it observed could have expired.
  EXPECT_GE(std::chrono::steady_clock::now() - start, 3s);
}

TEST(LeaderElection, ALeaderWhoseLeaseWasTakenStopsWithinItsRenewDeadline) {
  std::string ns = testing::freshNamespace("election-lost");
  Candidate a;
  a.make(ns, "holder");
  a.elector->start();
  ASSERT_TRUE(eventually([&] { return a.elector->isLeader(); }));

  // Someone else writes the Lease (as a split brain would): the holder's next renewal conflicts.
  Client& client = testing::adminClient();
  auto lease = client.get(kLeases, ns, "operator");
  ASSERT_TRUE(lease.ok());
  (*lease)["spec"]["holderIdentity"] = "intruder";
  (*lease)["spec"]["leaseDurationSeconds"] = 60;
  ASSERT_TRUE(client.update(kLeases, *lease).ok());
  auto taken_at = std::chrono::steady_clock::now();

  ASSERT_TRUE(eventually([&] { return a.stopped.load() == 1; }, 10s));
  EXPECT_LT(std::chrono::steady_clock::now() - taken_at, 3s);
  EXPECT_FALSE(a.elector->isLeader());
  EXPECT_EQ(a.elector->leader(), "intruder");
  a.elector->stop();  // does not release a Lease it does not hold
  auto after = client.get(kLeases, ns, "operator");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ((*after)["spec"]["holderIdentity"], "intruder");
}

TEST(LeaderElection, ACallbackMayStopItsOwnElector) {
  std::string ns = testing::freshNamespace("election-self-stop");
  std::unique_ptr<LeaderElector> elector;
  std::atomic<int> stopped{0};
  LeaderCallbacks callbacks;
  callbacks.on_started_leading = [&] { elector->stop(); };  // on the elector's own thread
  callbacks.on_stopped_leading = [&] { stopped++; };
  auto made = LeaderElector::create(testing::configFor(ControlPlane::shared()),
                                    fastOptions(ns, "quitter"), callbacks);
  ASSERT_TRUE(made.ok());
  elector = std::move(made).value();
  elector->start();
  ASSERT_TRUE(eventually([&] { return stopped.load() == 1; }));
  EXPECT_FALSE(elector->isLeader());
  auto lease = testing::adminClient().get(kLeases, ns, "operator");
  ASSERT_TRUE(lease.ok());
  EXPECT_FALSE((*lease)["spec"].contains("holderIdentity"));  // released on the way out
  elector.reset();                                            // joins the finished thread
}

TEST(LeaderElection, RefusesTimingsThatCannotBeSafe) {
  LeaderElectionOptions options = fastOptions("ns", "x");
  options.renew_deadline = options.lease_duration;
  auto made = LeaderElector::create(testing::configFor(ControlPlane::shared()), options, {});
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.error().kind, ErrorKind::kInvalid);
}

}  // namespace
}  // namespace su::kube
