// Adversarial end-to-end cases that hold: a converged ServiceUser stays quiet (no status, Secret
// or remote write in 30 s with identity checks every 2 s), and a second rotate request keeps the
// grace period of the identity it replaces.
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
  std::cerr << "identities: " << remoteUsers(ns_ + "-spam-r").size()
            << " live: " << activeRemoteUsers(ns_ + "-spam-r").size() << "\n";
  EXPECT_TRUE(tokenWorks(r2)) << "r2 was retired with no grace period";
}

}  // namespace
}  // namespace su::e2e
