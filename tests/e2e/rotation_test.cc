// Rotation before the end date under a moved clock, rotation on request, and replacement after
// drift: the Secret deleted, or the identity disabled in DigiCert ONE behind the operator's back.
#include "common/time_format.h"
#include "e2e/operator_fixture.h"

namespace su::e2e {
namespace {

using su::testing::eventually;

class RotationTest : public OperatorTest {
 protected:
  int64_t revision(const std::string& name) {
    return json::getInt(get("serviceuser", name)["status"]["current"], "revision").value_or(0);
  }
  bool retired(const std::string& friendly_name) {
    for (const Json& u : remoteUsers(friendly_name)) {
      if (json::getString(u, "friendly_name") == friendly_name) {
        return json::getString(u, "status") != "ACTIVE";
      }
    }
    return false;
  }
};

TEST_F(RotationTest, RotatesBeforeEndDateAndRetiresPredecessorAfterGrace) {
  startOperator();
  apply(serviceUser("sched",
                    "  lifetime: {duration: 48h, renewBefore: 24h}\n"
                    "  retireGracePeriod: 15s\n"));
  Json su = waitReady("sched");
  std::string first = secretValue("sched-token", "token");
  auto due = parseRfc3339(json::stringAt(su, {"status", "nextRotation"}));
  ASSERT_TRUE(due.has_value());
  auto offset =
      std::chrono::duration_cast<std::chrono::seconds>(*due - std::chrono::system_clock::now()) +
      std::chrono::seconds(30);

  sim_->control("POST", "/control/clock", Json{{"offset_seconds", offset.count()}});
  restartOperator({"--clock-offset", formatDuration(offset)});
  ASSERT_TRUE(eventually([&] { return revision("sched") == 2; }));

  Json rotated = waitReady("sched");
  std::string second = secretValue("sched-token", "token");
  EXPECT_NE(second, first);
  EXPECT_TRUE(tokenWorks(second));
  EXPECT_TRUE(tokenWorks(first)) << "the predecessor is retired only after the grace period";
  EXPECT_EQ(json::stringAt(rotated, {"status", "predecessor", "friendlyName"}),
            identityName("sched", 1));
  ASSERT_TRUE(
      eventually([&] { return retired(identityName("sched", 1)); }, std::chrono::seconds(60)));
  EXPECT_FALSE(tokenWorks(first));
  EXPECT_TRUE(eventually([&] {
    return json::at(get("serviceuser", "sched"), {"status", "predecessor"}) == nullptr;
  }));
}

TEST_F(RotationTest, RotateAnnotationRotatesExactlyOncePerValue) {
  startOperator();
  apply(serviceUser("manual", "  retireGracePeriod: 1h\n"));
  waitReady("manual");

  kubectl("annotate serviceuser manual identity.serviceuser.dev/rotate=first");
  ASSERT_TRUE(eventually([&] { return revision("manual") == 2; }));
  waitReady("manual");
  kubectl("label serviceuser manual touched=yes");  // another edit: the same request stays done
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_EQ(revision("manual"), 2);
  EXPECT_EQ(remoteUsers(identityPrefix("manual")).size(), 2u);

  kubectl("annotate --overwrite serviceuser manual identity.serviceuser.dev/rotate=second");
  ASSERT_TRUE(eventually([&] { return revision("manual") == 3; }));
  Json su = waitReady("manual");
  EXPECT_EQ(json::stringAt(su, {"status", "lastRotateRequest"}), "second");
  EXPECT_TRUE(retired(identityName("manual", 1))) << "at most one predecessor is kept";
  EXPECT_EQ(json::stringAt(su, {"status", "predecessor", "friendlyName"}),
            identityName("manual", 2));
}

TEST_F(RotationTest, DeletedSecretIsReissuedAndItsIdentityRetired) {
  startOperator();
  apply(serviceUser("lostsecret", "  retireGracePeriod: 2s\n"));
  waitReady("lostsecret");
  std::string first = secretValue("lostsecret-token", "token");

  kubectl("delete secret lostsecret-token");
  ASSERT_TRUE(eventually([&] { return revision("lostsecret") == 2; }));
  waitReady("lostsecret");

  std::string second = secretValue("lostsecret-token", "token");
  EXPECT_NE(second, first);
  EXPECT_TRUE(tokenWorks(second));
  EXPECT_TRUE(eventually([&] { return retired(identityName("lostsecret", 1)); }));
  EXPECT_NE(kubectl("get events.events.k8s.io").find("SecretLost"), std::string::npos);
}

TEST_F(RotationTest, IdentityDisabledInDigiCertIsNoticedAndReplaced) {
  startOperator({"--identity-check-interval", "1s"});
  apply(serviceUser("disabled"));
  Json su = waitReady("disabled");
  std::string id = json::stringAt(su, {"status", "current", "id"});

  ASSERT_TRUE(adminClient()->disableServiceUser(id).ok());
  ASSERT_TRUE(eventually([&] { return revision("disabled") == 2; }));
  waitReady("disabled");

  EXPECT_TRUE(tokenWorks(secretValue("disabled-token", "token")));
  EXPECT_EQ(activeRemoteUsers(identityPrefix("disabled")).size(), 1u);
  EXPECT_NE(kubectl("get events.events.k8s.io").find("IdentityLost"), std::string::npos);
}

TEST_F(RotationTest, PredecessorDigiCertRefusesToRetireIsListedAsStranded) {
  startOperator();
  apply(serviceUser("refused", "  retireGracePeriod: 1s\n"));
  waitReady("refused");
  sim_->addFault(Json{{"kind", "error"},
                      {"count", -1},
                      {"status", 403},
                      {"method", "DELETE"},
                      {"path_prefix", "/account/api/v1/user"}});

  kubectl("annotate serviceuser refused identity.serviceuser.dev/rotate=once");
  ASSERT_TRUE(eventually([&] {
    return json::at(get("serviceuser", "refused"), {"status", "stranded"}) != nullptr;
  }));

  Json su = waitReady("refused");
  EXPECT_EQ(su["status"]["stranded"][0]["friendlyName"], identityName("refused", 1));
  EXPECT_EQ(json::at(su, {"status", "predecessor"}), nullptr);
  EXPECT_NE(kubectl("get events.events.k8s.io").find("RetireFailed"), std::string::npos);
}

}  // namespace
}  // namespace su::e2e
