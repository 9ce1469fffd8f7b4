// Kills of the operator at each step of creation and rotation. After a restart the four
// exactly-once rules must hold, checked against the simulator's state, the Secret and status.
#include "e2e/operator_fixture.h"

namespace su::e2e {
namespace {

using su::testing::eventually;

class CrashTest : public OperatorTest {
 protected:
  // Rule 1 and 2: exactly one live identity besides a predecessor in its grace period, its token
  // is the Secret's, and every other identity this ServiceUser made is retired. Rule 3: the
  // Secret's token belongs to the current identity and works.
  void expectExactlyOnce(const std::string& name) {
    Json su = waitReady(name);
    std::string current = json::stringAt(su, {"status", "current", "id"});
    std::string predecessor = json::stringAt(su, {"status", "predecessor", "id"});
    int live = 0;
    for (const Json& user : remoteUsers(identityPrefix(name))) {
      std::string id = json::getString(user, "id").value_or("");
      bool active = json::getString(user, "status") == "ACTIVE";
      if (id == current) {
        EXPECT_TRUE(active) << "the current identity is not active";
        ++live;
      } else if (id != predecessor) {
        EXPECT_FALSE(active) << "identity " << json::getString(user, "friendly_name").value_or("")
                             << " is live but neither current nor predecessor";
      }
    }
    EXPECT_EQ(live, 1);
    Json secret = get("secret", name + "-token");
    EXPECT_EQ(
        json::stringAt(secret, {"metadata", "annotations", "identity.serviceuser.dev/identity-id"}),
        current);
    std::string token = secretValue(name + "-token", "token");
    EXPECT_TRUE(tokenWorks(token)) << "the Secret's token does not authenticate";
  }

  Json faultOn(const std::string& kind, const std::string& method, int latency_ms = 0) {
    return Json{{"kind", kind},
                {"count", 1},
                {"method", method},
                {"path_prefix", "/account/api/v1/user"},
                {"latency_ms", latency_ms}};
  }
};

TEST_F(CrashTest, KillBeforeTheCreateIsSentResumesWithOneIdentity) {
  // The first create is throttled (not processed) and waits for Retry-After: killed meanwhile.
  sim_->addFault(Json{{"kind", "throttle"},
                      {"count", 1},
                      {"method", "POST"},
                      {"path_prefix", "/account/api/v1/user"},
                      {"retry_after_seconds", 30}});
  startOperator();
  apply(serviceUser("early"));
  ASSERT_TRUE(eventually([&] { return sim_->calls("POST /account/api/v1/user") > 0; },
                         std::chrono::seconds(20), std::chrono::milliseconds(10)));
  killOperator();
  sim_->control("DELETE", "/control/faults");

  startOperator();
  expectExactlyOnce("early");
  EXPECT_EQ(remoteUsers(identityPrefix("early")).size(), 1u);
}

TEST_F(CrashTest, KillWhileTheCreateIsInFlightLeavesNoLiveOrphan) {
  sim_->addFault(faultOn("latency", "POST", 3000));  // committed after the operator died
  startOperator();
  apply(serviceUser("inflight"));
  ASSERT_TRUE(eventually([&] { return sim_->calls("POST /account/api/v1/user") > 0; },
                         std::chrono::seconds(20), std::chrono::milliseconds(10)));
  killOperator();
  std::this_thread::sleep_for(std::chrono::seconds(4));  // the simulator commits it

  startOperator();
  expectExactlyOnce("inflight");
}

TEST_F(CrashTest, LostCreateResponseIsResolvedWithoutDuplicateOrOrphan) {
  sim_->addFault(Json{{"kind", "lose_create"}, {"count", 1}});
  startOperator();
  apply(serviceUser("lost"));

  expectExactlyOnce("lost");
  // The lost identity could not deliver its token: it was retired and r2 made instead.
  auto users = remoteUsers(identityPrefix("lost"));
  EXPECT_EQ(users.size(), 2u);
  EXPECT_NE(kubectl("get events.events.k8s.io").find("RetiredStranded"), std::string::npos);
}

TEST_F(CrashTest, KillAfterTheSecretIsWrittenAdoptsTheDeliveredIdentity) {
  startOperator();
  apply(serviceUser("written"));
  ASSERT_TRUE(eventually([&] { return exists("secret", "written-token"); },
                         std::chrono::seconds(20), std::chrono::milliseconds(5)));
  killOperator();
  std::string token = secretValue("written-token", "token");

  startOperator();
  expectExactlyOnce("written");
  EXPECT_EQ(secretValue("written-token", "token"), token) << "a delivered token was replaced";
  EXPECT_EQ(remoteUsers(identityPrefix("written")).size(), 1u);
}

// spec.friendlyName may be set on a ServiceUser that had none, here while its first create is in
// flight. The identity committed under the old name is found by the name journaled with the
// finalizer, and retired, instead of living on unseen.
TEST_F(CrashTest, AFriendlyNameSetDuringTheFirstCreateLeavesNoLiveOrphan) {
  sim_->addFault(faultOn("latency", "POST", 3000));  // committed after the operator died
  startOperator();
  apply(serviceUser("renamed"));
  ASSERT_TRUE(eventually([&] { return sim_->calls("POST /account/api/v1/user") > 0; },
                         std::chrono::seconds(20), std::chrono::milliseconds(10)));
  killOperator();
  std::string first_prefix = identityPrefix("renamed");
  kubectl(R"(patch serviceuser renamed --type merge -p '{"spec":{"friendlyName":"new-name"}}')");
  std::this_thread::sleep_for(std::chrono::seconds(4));
  ASSERT_EQ(remoteUsers(first_prefix).size(), 1u) << "the create was committed under the old name";

  startOperator();
  Json su = waitReady("renamed");
  std::string current = json::stringAt(su, {"status", "current", "id"});
  int live = 0;
  for (const std::string& prefix : {first_prefix, std::string("new-name-")}) {
    for (const Json& user : remoteUsers(prefix)) {
      bool active = json::getString(user, "status") == "ACTIVE";
      if (json::getString(user, "id") == current) {
        EXPECT_TRUE(active);
      } else {
        EXPECT_FALSE(active) << json::getString(user, "friendly_name").value_or("")
                             << " is live but not current";
      }
      live += active;
    }
  }
  EXPECT_EQ(live, 1);
  EXPECT_EQ(json::stringAt(su, {"status", "current", "friendlyName"}).rfind("new-name-", 0), 0u);
  EXPECT_TRUE(tokenWorks(secretValue("renamed-token", "token")));
}

TEST_F(CrashTest, KillDuringRotationKeepsOneCurrentAndOnePredecessor) {
  startOperator();
  apply(serviceUser("rot", "  retireGracePeriod: 1h\n"));
  waitReady("rot");
  std::string first = secretValue("rot-token", "token");

  sim_->addFault(faultOn("latency", "POST", 3000));
  kubectl("annotate serviceuser rot identity.serviceuser.dev/rotate=kill-test");
  ASSERT_TRUE(eventually([&] { return sim_->calls("POST /account/api/v1/user") > 1; },
                         std::chrono::seconds(20), std::chrono::milliseconds(10)));
  killOperator();
  std::this_thread::sleep_for(std::chrono::seconds(4));

  startOperator();
  ASSERT_TRUE(eventually([&] {
    return json::getInt(get("serviceuser", "rot")["status"]["current"], "revision") >= 2;
  }));
  expectExactlyOnce("rot");
  EXPECT_NE(secretValue("rot-token", "token"), first);
  EXPECT_TRUE(tokenWorks(first)) << "the predecessor must work through its grace period";
}

}  // namespace
}  // namespace su::e2e
