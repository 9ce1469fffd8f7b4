// Creation, restarts and edits, driven with kubectl as users drive the operator.
#include <fstream>

#include "e2e/operator_fixture.h"

namespace su::e2e {
namespace {

using su::testing::eventually;

class LifecycleTest : public OperatorTest {};

TEST_F(LifecycleTest, AppliedServiceUserGetsOneIdentityWhoseTokenIsInTheSecret) {
  startOperator();
  apply(serviceUser("builder"));
  Json su = waitReady("builder");

  std::string token = secretValue("builder-token", "token");
  std::vector<Json> remote = remoteUsers(identityPrefix("builder"));
  ASSERT_EQ(remote.size(), 1u);
  EXPECT_EQ(json::getString(remote[0], "status"), "ACTIVE");
  EXPECT_EQ(json::stringAt(su, {"status", "current", "id"}), json::getString(remote[0], "id"));
  EXPECT_EQ(secretValue("builder-token", "identity"), identityName("builder", 1));
  EXPECT_EQ(
      json::stringAt(su, {"metadata", "annotations", "identity.serviceuser.dev/first-identity"}),
      identityName("builder", 1))
      << "the first create's journal entry is written with the finalizer";
  EXPECT_FALSE(token.empty());
  EXPECT_TRUE(tokenWorks(token));
  EXPECT_EQ(json::stringAt(su, {"status", "current", "endDate"}).size(), 10u);
  EXPECT_FALSE(json::stringAt(su, {"status", "nextRotation"}).empty());
}

TEST_F(LifecycleTest, SecretIsOwnedCarriesTemplateMetadataAndNoTrackingLabels) {
  startOperator();
  std::string yaml = serviceUser("tmpl");
  yaml.replace(yaml.find("  secret: {name: tmpl-token}"), 28,
               "  secret:\n    name: tmpl-token\n    labels: {team: ci}\n"
               "    annotations: {note: hello}\n");
  yaml.replace(yaml.find("metadata: {name: tmpl}"), 22,
               "metadata:\n  name: tmpl\n  labels: {app.kubernetes.io/instance: argo-app}");
  apply(yaml);
  Json su = waitReady("tmpl");
  Json secret = get("secret", "tmpl-token");

  EXPECT_EQ(json::stringAt(secret, {"metadata", "labels", "team"}), "ci");
  EXPECT_EQ(json::stringAt(secret, {"metadata", "annotations", "note"}), "hello");
  EXPECT_EQ(json::at(secret, {"metadata", "labels", "app.kubernetes.io/instance"}), nullptr);
  const Json& owner = secret["metadata"]["ownerReferences"][0];
  EXPECT_EQ(owner["uid"], su["metadata"]["uid"]);
  EXPECT_EQ(owner["controller"], true);
  EXPECT_EQ(
      json::stringAt(secret, {"metadata", "annotations", "identity.serviceuser.dev/revision"}),
      "1");
}

TEST_F(LifecycleTest, RestartOfAConvergedOperatorWritesNothing) {
  startOperator();
  apply(serviceUser("steady"));
  waitReady("steady");
  std::string su_version = resourceVersion("serviceuser", "steady");
  std::string secret_version = resourceVersion("secret", "steady-token");
  int64_t writes = remoteWrites();

  restartOperator();
  std::this_thread::sleep_for(std::chrono::seconds(4));  // synced and every key processed

  EXPECT_EQ(resourceVersion("serviceuser", "steady"), su_version)
      << json::dump(get("serviceuser", "steady"));
  EXPECT_EQ(resourceVersion("secret", "steady-token"), secret_version);
  EXPECT_EQ(remoteWrites(), writes);
}

TEST_F(LifecycleTest, ReapplyingTheSameManifestChangesNothing) {
  startOperator();
  apply(serviceUser("same"));
  waitReady("same");
  std::string token = secretValue("same-token", "token");
  int64_t writes = remoteWrites();
  std::string su_version = resourceVersion("serviceuser", "same");

  apply(serviceUser("same"));
  std::this_thread::sleep_for(std::chrono::seconds(2));

  EXPECT_EQ(resourceVersion("serviceuser", "same"), su_version);
  EXPECT_EQ(secretValue("same-token", "token"), token);
  EXPECT_EQ(remoteWrites(), writes);
}

TEST_F(LifecycleTest, LabelAndScheduleEditsMintNoNewToken) {
  startOperator();
  apply(serviceUser("edits", "  lifetime: {duration: 2160h, renewBefore: 360h}\n"));
  waitReady("edits");
  std::string token = secretValue("edits-token", "token");

  kubectl("label serviceuser edits team=payments");
  apply(serviceUser("edits", "  lifetime: {duration: 2160h, renewBefore: 720h}\n"));
  Json su = waitReady("edits");

  EXPECT_EQ(secretValue("edits-token", "token"), token);
  EXPECT_EQ(remoteUsers(identityPrefix("edits")).size(), 1u);
  EXPECT_EQ(json::getInt(su["status"], "revision"), 1);
}

TEST_F(LifecycleTest, DescriptionEditUpdatesTheIdentityInPlace) {
  startOperator();
  apply(serviceUser("desc", "  description: first\n"));
  waitReady("desc");
  std::string token = secretValue("desc-token", "token");

  apply(serviceUser("desc", "  description: second\n"));
  ASSERT_TRUE(eventually([&] {
    auto users = remoteUsers(identityPrefix("desc"));
    return users.size() == 1 && json::getString(users[0], "description") == "second";
  }));
  EXPECT_EQ(secretValue("desc-token", "token"), token);
}

TEST_F(LifecycleTest, BuildPodMountingTheSecretIsAcceptedByTheApiServer) {
  startOperator();
  apply(serviceUser("mounted"));
  waitReady("mounted");

  apply(
      "apiVersion: v1\nkind: Pod\nmetadata: {name: build}\nspec:\n"
      "  containers:\n  - name: build\n    image: debian:bookworm-slim\n"
      "    command: [sh, -c, 'test -s /var/run/digicert/token']\n"
      "    env:\n    - name: DIGICERT_API_KEY\n"
      "      valueFrom: {secretKeyRef: {name: mounted-token, key: token}}\n"
      "    volumeMounts: [{name: token, mountPath: /var/run/digicert, readOnly: true}]\n"
      "  volumes: [{name: token, secret: {secretName: mounted-token}}]\n");
  EXPECT_TRUE(exists("pod", "build"));
}

TEST_F(LifecycleTest, ForeignSecretIsLeftUntouchedAndReported) {
  startOperator();
  kubectl("create secret generic foreign-token --from-literal=token=theirs");
  std::string before = resourceVersion("secret", "foreign-token");
  apply(serviceUser("foreign"));

  ASSERT_TRUE(eventually([&] {
    return conditionReason(get("serviceuser", "foreign"), "Degraded") == "SecretConflict";
  }));
  EXPECT_EQ(resourceVersion("secret", "foreign-token"), before);
  EXPECT_EQ(secretValue("foreign-token", "token"), "theirs");
  EXPECT_TRUE(remoteUsers(identityPrefix("foreign")).empty());
  EXPECT_NE(kubectl("get events.events.k8s.io").find("SecretConflict"), std::string::npos);
}

TEST_F(LifecycleTest, MetricsShowTheIdentityEndDateWithoutTokens) {
  startOperator();
  apply(serviceUser("metered"));
  waitReady("metered");
  std::string token = secretValue("metered-token", "token");

  auto r = su::testing::runCommand("curl -s http://127.0.0.1:" + std::to_string(metrics_port_) +
                                   "/metrics");
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("serviceuser_identity_end_timestamp_seconds{namespace=\"" + ns_ +
                          "\",name=\"metered\"}"),
            std::string::npos);
  EXPECT_NE(r.output.find("serviceuser_reconcile_total{result=\"done\"}"), std::string::npos);
  EXPECT_EQ(r.output.find(token), std::string::npos);
}

TEST_F(LifecycleTest, IssuerReadinessTellsWhetherDigiCertAcceptsItsCredentials) {
  startOperator();
  ASSERT_TRUE(eventually([&] {
    return conditionReason(get("digicertissuer", "digicert"), "Ready") == "CredentialsAccepted";
  }));

  kubectl("create secret generic wrong-key --from-literal=api-key=not-a-key");
  kubectl(
      "patch digicertissuer digicert --type=merge -p "
      "'{\"spec\":{\"apiKeySecretRef\":{\"name\":\"wrong-key\",\"key\":\"api-key\"}}}'");
  ASSERT_TRUE(eventually([&] {
    return conditionReason(get("digicertissuer", "digicert"), "Ready") == "CredentialsRejected";
  }));
  Json issuer = get("digicertissuer", "digicert");
  EXPECT_EQ(json::getInt(issuer["status"], "observedGeneration"),
            json::getInt(issuer["metadata"], "generation"));
  EXPECT_EQ(json::dump(issuer).find("not-a-key"), std::string::npos);
}

}  // namespace
}  // namespace su::e2e
