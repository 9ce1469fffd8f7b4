// Two operator replicas with leader election: one acts, the other takes over when it dies.
#include <signal.h>

#include "e2e/operator_fixture.h"

namespace su::e2e {
namespace {

using su::testing::eventually;

class LeaderElectionTest : public OperatorTest {
 protected:
  std::unique_ptr<su::testing::Process> startReplica(const std::string& name) {
    su::testing::Process::Options options;
    options.argv = operatorArgv("0", {"--leader-elect", "--leader-election-namespace", ns_});
    options.env = {{"POD_NAME", name}};
    options.stderr_path = dir_ + "/" + name + ".log";
    auto replica = std::make_unique<su::testing::Process>(options);
    std::string error;
    EXPECT_TRUE(replica->start(&error)) << error;
    return replica;
  }
  std::string holder() {
    return json::stringAt(get("lease", "serviceuser-operator"), {"spec", "holderIdentity"});
  }
};

TEST_F(LeaderElectionTest, OnlyTheLeaderActsAndAStandbyTakesOverWhenItDies) {
  auto a = startReplica("replica-a");
  auto b = startReplica("replica-b");
  ASSERT_TRUE(eventually([&] { return !holder().empty(); }));
  std::string leader = holder();

  apply(serviceUser("elected"));
  waitReady("elected");
  EXPECT_EQ(remoteUsers(identityPrefix("elected")).size(), 1u) << "two replicas created identities";
  remember(secretValue("elected-token", "token"));

  auto& dead = leader == "replica-a" ? a : b;
  dead->signal(SIGKILL);
  dead->wait(std::chrono::seconds(10));
  ASSERT_TRUE(eventually([&] { return !holder().empty() && holder() != leader; },
                         std::chrono::seconds(60), std::chrono::milliseconds(500)));

  apply(serviceUser("after-failover"));
  waitReady("after-failover");
  EXPECT_EQ(remoteUsers(identityPrefix("elected")).size(), 1u) << "the new leader re-minted";
  EXPECT_EQ(remoteUsers(identityPrefix("after-failover")).size(), 1u);
  remember(secretValue("after-failover-token", "token"));
  a->stop();
  b->stop();
}

}  // namespace
}  // namespace su::e2e
