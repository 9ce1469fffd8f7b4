// Deletion of a ServiceUser under each policy, and with DigiCert ONE unreachable.
#include "e2e/operator_fixture.h"

namespace su::e2e {
namespace {

using su::testing::eventually;

class DeletionTest : public OperatorTest {
 protected:
  std::string remoteStatus(const std::string& friendly_name) {
    for (const Json& u : remoteUsers(friendly_name)) {
      if (json::getString(u, "friendly_name") == friendly_name) {
        return json::getString(u, "status").value_or("");
      }
    }
    return "ABSENT";
  }
  void create(const std::string& name, const std::string& policy) {
    apply(serviceUser(name, "  deletionPolicy: " + policy + "\n"));
    waitReady(name);
    identityPrefix(name);  // remembered for after the deletion
    remember(secretValue(name + "-token", "token"));
  }
};

TEST_F(DeletionTest, DeletePolicyDeletesTheIdentityAndTheSecret) {
  startOperator();
  create("gone", "Delete");

  kubectl("delete serviceuser gone --timeout=60s");

  EXPECT_FALSE(exists("serviceuser", "gone"));
  EXPECT_FALSE(exists("secret", "gone-token"));
  EXPECT_EQ(remoteStatus(identityName("gone", 1)), "DELETED");
}

TEST_F(DeletionTest, DisablePolicyDisablesTheIdentity) {
  startOperator();
  create("paused", "Disable");

  kubectl("delete serviceuser paused --timeout=60s");

  EXPECT_FALSE(exists("serviceuser", "paused"));
  EXPECT_FALSE(exists("secret", "paused-token"));
  EXPECT_EQ(remoteStatus(identityName("paused", 1)), "DISABLED");
}

TEST_F(DeletionTest, OrphanPolicyKeepsTheIdentityAndAnUnownedSecret) {
  startOperator();
  create("kept", "Orphan");
  std::string token = secretValue("kept-token", "token");

  kubectl("delete serviceuser kept --timeout=60s");

  EXPECT_FALSE(exists("serviceuser", "kept"));
  Json secret = get("secret", "kept-token");
  ASSERT_FALSE(secret.is_null()) << "the live identity's token must stay somewhere";
  const Json* owners = json::at(secret, {"metadata", "ownerReferences"});
  EXPECT_TRUE(owners == nullptr || owners->empty());
  EXPECT_EQ(secretValue("kept-token", "token"), token);
  EXPECT_EQ(remoteStatus(identityName("kept", 1)), "ACTIVE");
  EXPECT_NE(kubectl("get events.events.k8s.io").find("Orphaned"), std::string::npos);
}

TEST_F(DeletionTest, DeletionFinishesWhenDigiCertIsDownAndRecordsWhatWasLeft) {
  startOperator({"--deletion-timeout", "3s"});
  create("stuck", "Delete");
  sim_->control(
      "POST", "/control/faults",
      Json{{"kind", "error"}, {"count", -1}, {"status", 503}, {"retry_after_seconds", 1}});

  auto started = std::chrono::steady_clock::now();
  kubectl("delete serviceuser stuck --timeout=90s");
  auto took = std::chrono::steady_clock::now() - started;

  EXPECT_FALSE(exists("serviceuser", "stuck"));
  EXPECT_LT(took, std::chrono::seconds(60));
  std::string events = kubectl("get events.events.k8s.io -o json");
  EXPECT_NE(events.find("IdentitiesLeftBehind"), std::string::npos);
  EXPECT_NE(events.find(identityName("stuck", 1)), std::string::npos)
      << "the Event names what was left";
  EXPECT_TRUE(exists("secret", "stuck-token")) << "a live identity's token is kept";
}

}  // namespace
}  // namespace su::e2e
