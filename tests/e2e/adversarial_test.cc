// Adversarial end-to-end cases: a converged ServiceUser stays quiet, a second rotate request keeps
// the grace period of the identity it replaces, ServiceUsers whose names read alike never touch
// each other's identities, time edge cases never rotate in a loop, and a Secret restored from an
// old copy is noticed.
#include <fstream>

#include "common/time_format.h"
#include "e2e/operator_fixture.h"

namespace su::e2e {
namespace {

using su::testing::eventually;

class AdversarialTest : public OperatorTest {
 protected:
  Json status(const std::string& name) { return get("serviceuser", name)["status"]; }
};

// A converged ServiceUser makes no writes while nothing changes.
TEST_F(AdversarialTest, ConvergedServiceUserIsQuietForThirtySeconds) {
  startOperator({"--identity-check-interval", "2s"});
  apply(serviceUser("quiet", "  retireGracePeriod: 1h\n"));
  waitReady("quiet");
  std::this_thread::sleep_for(std::chrono::seconds(3));
  std::string su_rv = resourceVersion("serviceuser", "quiet");
  std::string secret_rv = resourceVersion("secret", "quiet-token");
  int64_t writes = remoteWrites();
  std::this_thread::sleep_for(std::chrono::seconds(30));
  EXPECT_EQ(resourceVersion("serviceuser", "quiet"), su_rv);
  EXPECT_EQ(resourceVersion("secret", "quiet-token"), secret_rv);
  EXPECT_EQ(remoteWrites(), writes);
}

// A second rotate request right after the first keeps the first successor's grace period: only
// the older predecessor is retired to make room.
TEST_F(AdversarialTest, SecondRotateRequestKeepsThePredecessorsGracePeriod) {
  startOperator();
  apply(serviceUser("spam", "  retireGracePeriod: 1h\n"));
  waitReady("spam");
  kubectl("annotate serviceuser spam identity.serviceuser.dev/rotate=one");
  ASSERT_TRUE(eventually(
      [&] { return json::getInt(status("spam")["current"], "revision").value_or(0) == 2; }));
  std::string r2 = secretValue("spam-token", "token");
  kubectl("annotate --overwrite serviceuser spam identity.serviceuser.dev/rotate=two");
  ASSERT_TRUE(eventually(
      [&] { return json::getInt(status("spam")["current"], "revision").value_or(0) == 3; }));
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_TRUE(tokenWorks(r2)) << "r2 was retired with no grace period";
}

TEST_F(AdversarialTest, SameFriendlyNameInTwoServiceUsersDoesNotRetireTheOthersIdentity) {
  startOperator();
  apply(serviceUser("alpha", "  friendlyName: ci-signer\n"));
  waitReady("alpha");
  std::string alpha_token = secretValue("alpha-token", "token");
  apply(serviceUser("beta", "  friendlyName: ci-signer\n"));
  waitReady("beta");
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_TRUE(tokenWorks(alpha_token));
  EXPECT_TRUE(tokenWorks(secretValue("beta-token", "token")));
  EXPECT_EQ(remoteUsers("ci-signer-").size(), 2u);
}

TEST_F(AdversarialTest, DerivedFriendlyNamesOfDotAndDashNamesDoNotCollide) {
  startOperator();
  apply(serviceUser("x-y"));
  waitReady("x-y");
  std::string token = secretValue("x-y-token", "token");
  apply(serviceUser("x.y"));
  waitReady("x.y");
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_TRUE(tokenWorks(token));
  EXPECT_TRUE(tokenWorks(secretValue("x.y-token", "token")));
}

TEST_F(AdversarialTest, RenewBeforeCloseToTheLifetimeDoesNotRotateInALoopNearMidnight) {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto offset = duration_cast<seconds>((floor<days>(now) + days(1) - seconds(50)) - now);
  sim_->control("POST", "/control/clock", Json{{"offset_seconds", offset.count()}});
  startOperator({"--clock-offset", std::to_string(offset.count()) + "s"});
  apply(serviceUser("loop",
                    "  lifetime: {duration: 24h, renewBefore: 22h}\n"
                    "  retireGracePeriod: 1h\n"));
  waitReady("loop");
  std::this_thread::sleep_for(seconds(20));
  EXPECT_EQ(remoteUsers(identityPrefix("loop")).size(), 1u);
}

TEST_F(AdversarialTest, RenewBeforeLeavingLessThanTwoHoursIsRefusedAtApply) {
  std::string path = dir_ + "/tight.yaml";
  std::ofstream(path) << serviceUser("tight", "  lifetime: {duration: 24h, renewBefore: 23h}\n");
  std::string out = kubectl("apply -f " + path, false);
  EXPECT_NE(out.find("at least 2h shorter"), std::string::npos) << out;
  EXPECT_FALSE(exists("serviceuser", "tight"));
}

TEST_F(AdversarialTest, AfterTheHardEndDateAnExpiredIdentityIsNotReplaced) {
  std::string today = formatDate(dateOf(std::chrono::system_clock::now()));
  startOperator();
  apply(serviceUser("hard", "  lifetime: {notAfter: \"" + today + "\"}\n"));
  waitReady("hard");
  int64_t posts = sim_->calls("POST /account/api/v1/user");
  sim_->control("POST", "/control/clock", Json{{"offset_seconds", 48 * 3600}});
  restartOperator({"--clock-offset", "48h", "--identity-check-interval", "2s"});
  ASSERT_TRUE(eventually([&] {
    return conditionReason(get("serviceuser", "hard"), "Degraded") == "HardEndDatePassed";
  }));
  std::this_thread::sleep_for(std::chrono::seconds(5));  // several identity checks later
  EXPECT_EQ(conditionReason(get("serviceuser", "hard"), "Degraded"), "HardEndDatePassed")
      << "the report must not flap between checks";
  EXPECT_EQ(sim_->calls("POST /account/api/v1/user"), posts);
}

TEST_F(AdversarialTest, LongestFriendlyNamesTheCrdAcceptsBecomeReady) {
  startOperator();
  apply(serviceUser("long", "  friendlyName: " + std::string(40, 'f') + "\n"));
  EXPECT_EQ(conditionReason(waitReady("long", std::chrono::seconds(30)), "Ready"), "Issued");
  std::string name(60, 'n');
  apply(serviceUser(name));
  EXPECT_EQ(conditionReason(waitReady(name, std::chrono::seconds(30)), "Ready"), "Issued");
}

TEST_F(AdversarialTest, SecretRestoredToARetiredRevisionIsReissued) {
  startOperator();
  apply(serviceUser("restore", "  retireGracePeriod: 0s\n"));
  waitReady("restore");
  Json old_secret = get("secret", "restore-token");
  std::string old_token = secretValue("restore-token", "token");
  kubectl("annotate serviceuser restore identity.serviceuser.dev/rotate=one");
  ASSERT_TRUE(eventually([&] {
    return json::getInt(status("restore")["current"], "revision").value_or(0) == 2 &&
           json::at(status("restore"), {"predecessor"}) == nullptr;
  }));
  Json patch{{"metadata", {{"annotations", old_secret["metadata"]["annotations"]}}},
             {"data", old_secret["data"]}};
  std::ofstream(dir_ + "/patch.json") << json::dump(patch);
  kubectl("patch secret restore-token --type merge --patch-file " + dir_ + "/patch.json");

  ASSERT_TRUE(eventually(
      [&] { return json::getInt(status("restore")["current"], "revision").value_or(0) == 3; }));
  waitReady("restore");
  EXPECT_TRUE(tokenWorks(secretValue("restore-token", "token")));
}

}  // namespace
}  // namespace su::e2e
