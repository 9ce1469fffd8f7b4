// The plain manifests in operator/, for `kubectl apply -k operator/`: rendered by kubectl's
// kustomize, applied to the real API server through an overlay that moves them into a fresh
// namespace, and their RBAC checked by impersonating the operator's ServiceAccount.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "shipping/manifests_fixture.h"
#include "support/control_plane.h"
#include "support/process.h"

namespace su::testing::shipping {
namespace {

// A YAML value written out the same way whatever its source style (flow or block).
std::string canonical(const YAML::Node& node) {
  if (node.IsSequence()) {
    std::string out = "[";
    for (const auto& item : node) out += canonical(item) + ",";
    return out + "]";
  }
  if (node.IsMap()) {
    std::map<std::string, std::string> fields;
    for (const auto& kv : node) fields[kv.first.as<std::string>()] = canonical(kv.second);
    std::string out = "{";
    for (const auto& [k, v] : fields) out += k + ":" + v + ",";
    return out + "}";
  }
  return node.IsScalar() ? "'" + node.Scalar() + "'" : "~";
}

Output kustomize(const std::string& dir) {
  return runSplit(ControlPlane::shared().kubectl() + " kustomize " + dir);
}

TEST(PlainManifests, RenderTheNamespaceCrdsRbacDeploymentAndMetricsService) {
  Output out = kustomize(operatorDir());
  ASSERT_EQ(out.exit_code, 0) << out.diagnostics;
  auto docs = parseDocuments(out.stdout_text);

  auto namespaces = documentsOfKind(docs, "Namespace");
  ASSERT_EQ(namespaces.size(), 1u);
  EXPECT_EQ(namespaces[0]["metadata"]["name"].as<std::string>(), "serviceuser-system");
  EXPECT_EQ(documentsOfKind(docs, "CustomResourceDefinition").size(), 3u);
  EXPECT_EQ(documentsOfKind(docs, "ServiceAccount").size(), 1u);
  EXPECT_EQ(documentsOfKind(docs, "ClusterRole").size(), 1u);
  EXPECT_EQ(documentsOfKind(docs, "ClusterRoleBinding").size(), 1u);
  EXPECT_EQ(documentsOfKind(docs, "Role").size(), 1u);
  EXPECT_EQ(documentsOfKind(docs, "RoleBinding").size(), 1u);
  EXPECT_EQ(documentsOfKind(docs, "Service").size(), 1u);
  auto deployments = documentsOfKind(docs, "Deployment");
  ASSERT_EQ(deployments.size(), 1u);
  EXPECT_EQ(deployments[0]["spec"]["template"]["spec"]["containers"][0]["image"].as<std::string>(),
            "serviceuser-operator:0.1.0");
  for (const auto& kind : {"ClusterRole", "Role"}) {
    for (const auto& role : documentsOfKind(docs, kind)) expectNoWildcards(role);
  }
}

TEST(PlainManifests, HardenTheDeployment) {
  Output out = kustomize(operatorDir());
  ASSERT_EQ(out.exit_code, 0) << out.diagnostics;
  auto deployments = documentsOfKind(parseDocuments(out.stdout_text), "Deployment");
  ASSERT_EQ(deployments.size(), 1u);
  expectHardenedDeployment(deployments[0]);
}

TEST(PlainManifests, GrantTheSameRulesAsTheHelmChart) {
  Output plain = kustomize(operatorDir());
  Output chart = helmTemplate("su", "operators", {});
  ASSERT_EQ(plain.exit_code, 0) << plain.diagnostics;
  ASSERT_EQ(chart.exit_code, 0) << chart.diagnostics;
  for (const char* kind : {"ClusterRole", "Role"}) {
    auto a = documentsOfKind(parseDocuments(plain.stdout_text), kind);
    auto b = documentsOfKind(parseDocuments(chart.stdout_text), kind);
    ASSERT_EQ(a.size(), 1u);
    ASSERT_EQ(b.size(), 1u);
    EXPECT_EQ(canonical(a[0]["rules"]), canonical(b[0]["rules"])) << kind;
  }
}

// operator/ moved into a fresh namespace by an overlay (the cluster-scoped names get the same
// suffix) and applied for real, once for the tests below.
class AppliedPlainManifests : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const ControlPlane& cp = ControlPlane::shared();
    ns_ = "ship-kust-" + std::to_string(::getpid()) + "-" + std::to_string(std::rand() % 100000);
    dir_ = makeTempDir("su-ship-kust");
    std::string base = std::filesystem::relative(operatorDir(), dir_).string();
    writeTempFile(
        dir_, "kustomization.yaml",
        "resources:\n  - " + base + "\nnamespace: " + ns_ + "\nnameSuffix: -" + ns_ + "\n");
    Output out = kustomize(dir_);
    ASSERT_EQ(out.exit_code, 0) << out.diagnostics;
    docs_ = parseDocuments(out.stdout_text);
    everything_ = writeTempFile(dir_, "everything.yaml", out.stdout_text);
    objects_ = writeTempFile(dir_, "objects.yaml",
                             withoutKinds(docs_, {"CustomResourceDefinition", "Namespace"}));
    namespace_ = writeTempFile(dir_, "namespace.yaml",
                               withoutKinds(docs_, {"CustomResourceDefinition", "ServiceAccount",
                                                    "ClusterRole", "ClusterRoleBinding", "Role",
                                                    "RoleBinding", "Deployment", "Service"}));
    // Namespaced objects can be dry-run only in a namespace that exists.
    namespace_applied_ = runCommand(cp.kubectl() + " apply -f " + namespace_);
    dry_run_ = runCommand(cp.kubectl() + " apply --dry-run=server -f " + everything_);
    applied_ = runCommand(cp.kubectl() + " apply -f " + objects_);
  }
  static void TearDownTestSuite() {
    const ControlPlane& cp = ControlPlane::shared();
    if (!objects_.empty()) runCommand(cp.kubectl() + " delete --wait=false -f " + objects_);
    if (!ns_.empty()) runCommand(cp.kubectl() + " delete namespace --wait=false " + ns_);
    if (!dir_.empty()) removeTree(dir_);
  }

  static std::string ns_, dir_, everything_, objects_, namespace_;
  static std::vector<YAML::Node> docs_;
  static CommandResult namespace_applied_, dry_run_, applied_;
};
std::string AppliedPlainManifests::ns_, AppliedPlainManifests::dir_,
    AppliedPlainManifests::everything_, AppliedPlainManifests::objects_,
    AppliedPlainManifests::namespace_;
std::vector<YAML::Node> AppliedPlainManifests::docs_;
CommandResult AppliedPlainManifests::namespace_applied_, AppliedPlainManifests::dry_run_,
    AppliedPlainManifests::applied_;

TEST_F(AppliedPlainManifests, AreAcceptedByTheApiServer) {
  EXPECT_EQ(namespace_applied_.exit_code, 0) << namespace_applied_.output;
  EXPECT_EQ(dry_run_.exit_code, 0) << dry_run_.output;
  ASSERT_EQ(applied_.exit_code, 0) << applied_.output;

  CommandResult labels = runCommand(ControlPlane::shared().kubectl() + " get namespace " + ns_ +
                                    " -o jsonpath='{.metadata.labels}'");
  EXPECT_NE(labels.output.find("\"pod-security.kubernetes.io/enforce\":\"restricted\""),
            std::string::npos)
      << labels.output;
}

TEST_F(AppliedPlainManifests, GrantTheServiceAccountExactlyWhatTheOperatorNeeds) {
  ASSERT_EQ(applied_.exit_code, 0) << applied_.output;
  expectExactlyTheOperatorsPermissions(ControlPlane::shared(), ns_, "serviceuser-operator-" + ns_,
                                       ns_);
}

}  // namespace
}  // namespace su::testing::shipping
