// Adversarial end-to-end cases: inputs and timings chosen to break the exactly-once rules.
#include "common/time_format.h"
#include "e2e/operator_fixture.h"

namespace su::e2e {
namespace {

using su::testing::eventually;

class AdversarialTest : public OperatorTest {
 protected:
  Json status(const std::string& name) { return get("serviceuser", name)["status"]; }
};

// Two ServiceUsers whose friendly names collide (same spec.friendlyName) must not destroy each
// other's identities: the first one's token has to keep working.
TEST_F(AdversarialTest, SameFriendlyNameInTwoServiceUsersDoesNotRetireTheOthersIdentity) {
  startOperator();
  apply(serviceUser("alpha", "  friendlyName: ci-signer\n"));
  waitReady("alpha");
  std::string alpha_token = secretValue("alpha-token", "token");
  ASSERT_TRUE(tokenWorks(alpha_token));

  apply(serviceUser("beta", "  friendlyName: ci-signer\n"));
  std::this_thread::sleep_for(std::chrono::seconds(15));

  EXPECT_TRUE(tokenWorks(alpha_token))
      << "alpha's token was killed by beta: " << json::dump(status("alpha")) << "\n"
      << kubectl("get events.events.k8s.io");
  EXPECT_LE(remoteUsers("ci-signer-r").size(), 2u) << "identities churned";
}

// The derived friendly name "<namespace>-<name>" with '.' mapped to '-' collides for "a.b" and
// "a-b" in one namespace.
TEST_F(AdversarialTest, DerivedFriendlyNamesOfDotAndDashNamesDoNotCollide) {
  startOperator();
  apply(serviceUser("x-y"));
  waitReady("x-y");
  std::string token = secretValue("x-y-token", "token");
  ASSERT_TRUE(tokenWorks(token));

  apply(serviceUser("x.y"));
  std::this_thread::sleep_for(std::chrono::seconds(15));
  EXPECT_TRUE(tokenWorks(token)) << "x-y's token was killed by x.y: "
                                 << kubectl("get events.events.k8s.io");
}

// A friendlyName the CRD accepts (64 characters, the schema's maxLength) must not fail forever.
TEST_F(AdversarialTest, LongestFriendlyNameTheCrdAcceptsBecomesReady) {
  startOperator();
  apply(serviceUser("long", "  friendlyName: " + std::string(64, 'f') + "\n"));
  Json su = waitReady("long", std::chrono::seconds(30));
  EXPECT_EQ(conditionReason(su, "Ready"), "Issued") << json::dump(su["status"]);
}

// A long ServiceUser name (derived friendly name) must not fail forever either.
TEST_F(AdversarialTest, LongDerivedFriendlyNameBecomesReady) {
  startOperator();
  std::string name(60, 'n');
  apply(serviceUser(name));
  Json su = waitReady(name, std::chrono::seconds(30));
  EXPECT_EQ(conditionReason(su, "Ready"), "Issued") << json::dump(su["status"]);
}

// A converged ServiceUser is quiet: no status write, no Secret write and no remote write.
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


uint64_t jitterSeconds(const std::string& uid, std::chrono::seconds renew_before) {
  uint64_t hash = 1469598103934665603ull;
  for (char c : uid) hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  auto max_jitter = std::min<std::chrono::seconds>(renew_before / 10, std::chrono::hours(1));
  return max_jitter.count() > 0 ? hash % max_jitter.count() : 0;
}

// renewBefore just below the lifetime is accepted by the CRD. Near midnight UTC every new
// identity gets the same end date as the one it replaces, so it is due at once again.
TEST_F(AdversarialTest, RenewBeforeJustBelowTheLifetimeDoesNotRotateInALoopNearMidnight) {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto midnight = floor<days>(now) + days(1);
  auto offset = duration_cast<seconds>((midnight - seconds(50)) - now);
  ASSERT_GT(offset.count(), 0);
  sim_->control("POST", "/control/clock", Json{{"offset_seconds", offset.count()}});
  startOperator({"--clock-offset", std::to_string(offset.count()) + "s"});
  apply(serviceUser("loop",
                    "  lifetime: {duration: 24h, renewBefore: 23h59m59s}\n"
                    "  retireGracePeriod: 1h\n"));
  std::string uid = json::stringAt(get("serviceuser", "loop"), {"metadata", "uid"});
  uint64_t jitter = jitterSeconds(uid, hours(23) + minutes(59) + seconds(59));
  std::cerr << "jitter for " << uid << ": " << jitter << "s\n";
  std::this_thread::sleep_for(seconds(40));  // still before midnight (as the operator sees it)
  EXPECT_LE(remoteUsers(ns_ + "-loop-r").size(), 2u)
      << "identities minted in 40 s: " << remoteUsers(ns_ + "-loop-r").size()
      << "; status: " << json::dump(status("loop"));
}

// Past spec.lifetime.notAfter nothing is created; an identity that expired with the hard end
// date must not make the operator try to create a successor with an end date in the past.
TEST_F(AdversarialTest, AfterTheHardEndDateAnExpiredIdentityIsNotReplaced) {
  using namespace std::chrono;
  std::string today = formatDate(dateOf(system_clock::now()));
  startOperator();
  apply(serviceUser("hard", "  lifetime: {notAfter: \"" + today + "\"}\n"));
  waitReady("hard");
  int64_t posts = sim_->calls("POST /account/api/v1/user");
  sim_->control("POST", "/control/clock", Json{{"offset_seconds", 48 * 3600}});
  restartOperator({"--clock-offset", "48h", "--identity-check-interval", "2s"});
  std::this_thread::sleep_for(seconds(20));
  EXPECT_EQ(sim_->calls("POST /account/api/v1/user"), posts)
      << "a create was attempted after notAfter: " << json::dump(status("hard"));
  Json su = get("serviceuser", "hard");
  EXPECT_NE(conditionReason(su, "Ready"), "RemoteRejected") << json::dump(su["status"]);
}

// Two operator processes without leader election: the resourceVersion preconditions should
// still leave one live identity per ServiceUser whose token is in the Secret.
TEST_F(AdversarialTest, TwoOperatorsWithoutLeaderElectionLeaveOneWorkingIdentityEach) {
  startOperator();
  su::testing::Process::Options o;
  o.argv = {operatorBinary(), "--kubeconfig", cp().kubeconfig(), "--namespace", ns_,
            "--metrics-bind-address", "127.0.0.1:" + std::to_string(freePort()),
            "--health-probe-bind-address", "0", "--log-level", "debug"};
  o.stderr_path = dir_ + "/operator-second.log";
  su::testing::Process second(o);
  std::string error;
  ASSERT_TRUE(second.start(&error)) << error;
  std::this_thread::sleep_for(std::chrono::seconds(3));
  const int n = 6;
  for (int i = 0; i < n; ++i) apply(serviceUser("dup" + std::to_string(i)));
  for (int i = 0; i < n; ++i) waitReady("dup" + std::to_string(i));
  std::this_thread::sleep_for(std::chrono::seconds(10));
  for (int i = 0; i < n; ++i) {
    std::string name = "dup" + std::to_string(i);
    Json su = waitReady(name);
    std::string current = json::stringAt(su, {"status", "current", "id"});
    std::string token = secretValue(name + "-token", "token");
    EXPECT_TRUE(tokenWorks(token)) << name;
    int live = 0;
    for (const Json& u : activeRemoteUsers(ns_ + "-" + name + "-r")) {
      ++live;
      EXPECT_EQ(json::getString(u, "id").value_or(""), current) << name << " has a live orphan";
    }
    EXPECT_EQ(live, 1) << name;
    EXPECT_EQ(remoteUsers(ns_ + "-" + name + "-r").size(), 1u)
        << name << ": identities minted: " << remoteUsers(ns_ + "-" + name + "-r").size();
  }
  std::string logs = su::testing::readFile(dir_ + "/operator-second.log");
  for (const std::string& t : tokens_) EXPECT_EQ(logs.find(t), std::string::npos);
  second.stop();
}

}  // namespace
}  // namespace su::e2e
