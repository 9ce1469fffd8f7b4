// The Helm chart: linted and rendered by the pinned Helm, installed into the real API server,
// and its RBAC checked by impersonating the operator's ServiceAccount.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "shipping/manifests_fixture.h"
#include "support/control_plane.h"
#include "support/process.h"

namespace su::testing::shipping {
namespace {

namespace fs = std::filesystem;

std::string helm() {
  std::string error;
  std::string path = helmBinary(&error);
  EXPECT_FALSE(path.empty()) << error;
  return path;
}

std::string args(const std::vector<YAML::Node>& deployments) {
  std::string all;
  if (deployments.empty()) return all;
  for (const auto& a : deployments[0]["spec"]["template"]["spec"]["containers"][0]["args"]) {
    all += a.as<std::string>() + " ";
  }
  return all;
}

TEST(HelmChart, PassesHelmLintWithDefaultAndIssuerValues) {
  const std::string chart = chartDir();
  for (const std::string& sets : {
           std::string(),
           std::string(" --set issuer.create=true --set issuer.apiKey.value=k"),
           std::string(" --set issuer.create=true --set issuer.kind=ClusterDigiCertIssuer"
                       " --set issuer.clientCertificate.existingSecret=mtls"),
           std::string(" --set metrics.serviceMonitor.enabled=true --set replicaCount=2"),
       }) {
    CommandResult r = runCommand(helm() + " lint --strict " + chart + sets);
    EXPECT_EQ(r.exit_code, 0) << sets << "\n" << r.output;
  }
}

TEST(HelmChart, ShipsCrdsByteIdenticalToTheRepositoryCrds) {
  std::set<std::string> repo, chart;
  for (const auto& e : fs::directory_iterator(sourceDir() + "/crds")) {
    if (e.path().filename() != "kustomization.yaml") repo.insert(e.path().filename());
  }
  for (const auto& e : fs::directory_iterator(chartDir() + "/crds")) {
    chart.insert(e.path().filename());
  }
  ASSERT_EQ(repo.size(), 3u);
  ASSERT_EQ(chart, repo) << "the chart's crds/ must hold exactly the files of crds/";
  for (const auto& name : repo) {
    EXPECT_EQ(readFile(chartDir() + "/crds/" + name), readFile(sourceDir() + "/crds/" + name))
        << name << " differs; copy it: cp crds/" << name << " charts/serviceuser-operator/crds/";
  }
}

TEST(HelmChart, RendersTheOperatorWithRbacAServiceAndNoIssuerByDefault) {
  Output out = helmTemplate("su", "operators", {});
  ASSERT_EQ(out.exit_code, 0) << out.diagnostics;
  auto docs = parseDocuments(out.stdout_text);

  EXPECT_EQ(documentsOfKind(docs, "Deployment").size(), 1u);
  EXPECT_EQ(documentsOfKind(docs, "ServiceAccount").size(), 1u);
  EXPECT_EQ(documentsOfKind(docs, "ClusterRole").size(), 1u);
  EXPECT_EQ(documentsOfKind(docs, "ClusterRoleBinding").size(), 1u);
  EXPECT_EQ(documentsOfKind(docs, "Role").size(), 1u);
  EXPECT_EQ(documentsOfKind(docs, "RoleBinding").size(), 1u);
  EXPECT_EQ(documentsOfKind(docs, "Service").size(), 1u);
  EXPECT_TRUE(documentsOfKind(docs, "ServiceMonitor").empty());
  EXPECT_TRUE(documentsOfKind(docs, "DigiCertIssuer").empty());
  EXPECT_TRUE(documentsOfKind(docs, "Secret").empty());
  for (const auto& kind : {"ClusterRole", "Role"}) {
    for (const auto& role : documentsOfKind(docs, kind)) expectNoWildcards(role);
  }
}

TEST(HelmChart, HardensTheDeployment) {
  Output out = helmTemplate("su", "operators", {});
  ASSERT_EQ(out.exit_code, 0) << out.diagnostics;
  auto deployments = documentsOfKind(parseDocuments(out.stdout_text), "Deployment");
  ASSERT_EQ(deployments.size(), 1u);
  expectHardenedDeployment(deployments[0]);
}

TEST(HelmChart, TurnsValuesIntoTheOperatorsFlags) {
  Output out =
      helmTemplate("su", "operators",
                   {"watchNamespaces={team-a}", "logging.level=debug", "logging.format=text",
                    "workers=8", "kubeApi.qps=50", "digicertBudget=500/5m",
                    "leaderElection.leaseName=su-lock", "extraArgs={--extra=1}",
                    "extraEnv[0].name=HTTPS_PROXY", "extraEnv[0].value=http://127.0.0.1:3128"});
  ASSERT_EQ(out.exit_code, 0) << out.diagnostics;
  auto docs = parseDocuments(out.stdout_text);
  std::string flags = args(documentsOfKind(docs, "Deployment"));

  for (const char* flag :
       {"--namespace=team-a ", "--log-level=debug ", "--log-format=text ", "--workers=8 ",
        "--kube-api-qps=50 ", "--digicert-budget=500/5m ", "--leader-election-id=su-lock ",
        "--leader-election-namespace=operators ", "--extra=1 "}) {
    EXPECT_NE(flags.find(flag), std::string::npos) << flag << " missing from: " << flags;
  }
  EXPECT_NE(out.stdout_text.find("HTTPS_PROXY"), std::string::npos);
}

TEST(HelmChart, DropsTheLeaseRoleAndMetricsServiceWhenTurnedOff) {
  Output out =
      helmTemplate("su", "operators", {"leaderElection.enabled=false", "metrics.enabled=false"});
  ASSERT_EQ(out.exit_code, 0) << out.diagnostics;
  auto docs = parseDocuments(out.stdout_text);
  std::string flags = args(documentsOfKind(docs, "Deployment"));

  EXPECT_EQ(flags.find("--leader-elect"), std::string::npos) << flags;
  EXPECT_NE(flags.find("--metrics-bind-address=0 "), std::string::npos) << flags;
  EXPECT_TRUE(documentsOfKind(docs, "Role").empty());
  EXPECT_TRUE(documentsOfKind(docs, "Service").empty());
}

TEST(HelmChart, RendersAServiceMonitorOnlyWhenAsked) {
  Output out = helmTemplate(
      "su", "operators",
      {"metrics.serviceMonitor.enabled=true", "metrics.serviceMonitor.labels.release=prometheus"});
  ASSERT_EQ(out.exit_code, 0) << out.diagnostics;
  auto monitors = documentsOfKind(parseDocuments(out.stdout_text), "ServiceMonitor");
  ASSERT_EQ(monitors.size(), 1u);
  EXPECT_EQ(monitors[0]["metadata"]["labels"]["release"].as<std::string>(""), "prometheus");
  EXPECT_EQ(monitors[0]["spec"]["endpoints"][0]["port"].as<std::string>(""), "metrics");
}

TEST(HelmChart, RefusesValuesThatWouldMisconfigureTheOperator) {
  struct Case {
    std::vector<std::string> sets;
    const char* says;
  };
  for (const Case& c : std::vector<Case>{
           {{"issuer.create=true"}, "set exactly one of issuer.apiKey"},
           {{"issuer.create=true", "issuer.apiKey.value=k",
             "issuer.clientCertificate.existingSecret=m"},
            "set exactly one of issuer.apiKey"},
           {{"issuer.create=true", "issuer.apiKey.value=k", "issuer.apiKey.existingSecret=s"},
            "value or existingSecret, not both"},
           {{"issuer.create=true", "issuer.kind=Issuer", "issuer.apiKey.value=k"}, "issuer"},
           {{"replicaCount=2", "leaderElection.enabled=false"}, "leaderElection.enabled"},
           {{"logging.level=loud"}, "logging/level"},
           {{"watchNamespaces={a,b}"}, "watchNamespaces"},
           {{"metrics.enabled=false", "metrics.serviceMonitor.enabled=true"}, "metrics.enabled"},
       }) {
    Output out = helmTemplate("su", "operators", c.sets);
    std::string what;
    for (const auto& s : c.sets) what += s + " ";
    EXPECT_NE(out.exit_code, 0) << what;
    EXPECT_NE(out.diagnostics.find(c.says), std::string::npos) << what << "\n" << out.diagnostics;
  }
}

TEST(HelmChart, CreatesANamespacedIssuerWithItsApiKeySecret) {
  Output out = helmTemplate("su", "operators",
                            {"issuer.create=true", "issuer.name=one", "issuer.apiKey.value=s3cret",
                             "issuer.url=https://demo.one.digicert.com"});
  ASSERT_EQ(out.exit_code, 0) << out.diagnostics;
  auto docs = parseDocuments(out.stdout_text);
  auto issuers = documentsOfKind(docs, "DigiCertIssuer");
  auto secrets = documentsOfKind(docs, "Secret");
  ASSERT_EQ(issuers.size(), 1u);
  ASSERT_EQ(secrets.size(), 1u);

  EXPECT_EQ(issuers[0]["metadata"]["namespace"].as<std::string>(""), "operators");
  EXPECT_EQ(issuers[0]["spec"]["url"].as<std::string>(""), "https://demo.one.digicert.com");
  EXPECT_EQ(issuers[0]["spec"]["apiKeySecretRef"]["name"].as<std::string>(""), "one-api-key");
  EXPECT_EQ(issuers[0]["spec"]["apiKeySecretRef"]["key"].as<std::string>(""), "api-key");
  EXPECT_EQ(secrets[0]["metadata"]["name"].as<std::string>(""), "one-api-key");
  EXPECT_EQ(secrets[0]["data"]["api-key"].as<std::string>(""), "czNjcmV0");  // base64("s3cret")
}

TEST(HelmChart, CreatesAClusterIssuerThatNamesItsSecretsNamespace) {
  Output out = helmTemplate("su", "operators",
                            {"issuer.create=true", "issuer.kind=ClusterDigiCertIssuer",
                             "issuer.apiKey.existingSecret=admin-key"});
  ASSERT_EQ(out.exit_code, 0) << out.diagnostics;
  auto docs = parseDocuments(out.stdout_text);
  auto issuers = documentsOfKind(docs, "ClusterDigiCertIssuer");
  ASSERT_EQ(issuers.size(), 1u);

  EXPECT_FALSE(issuers[0]["metadata"]["namespace"]);
  EXPECT_EQ(issuers[0]["spec"]["apiKeySecretRef"]["name"].as<std::string>(""), "admin-key");
  EXPECT_EQ(issuers[0]["spec"]["apiKeySecretRef"]["namespace"].as<std::string>(""), "operators");
  EXPECT_TRUE(documentsOfKind(docs, "Secret").empty()) << "an existing Secret is not re-created";
}

// The chart rendered into a fresh namespace and applied for real, once for the tests below.
class InstalledChart : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const ControlPlane& cp = ControlPlane::shared();
    ns_ = createNamespace(cp, "ship-helm");
    ASSERT_FALSE(ns_.empty());
    dir_ = makeTempDir("su-ship-helm");
    release_ = "su-" + ns_;
    Output out = helmTemplate(release_, ns_,
                              {"issuer.create=true", "issuer.name=one", "issuer.apiKey.value=k",
                               "issuer.url=https://127.0.0.1:8443"},
                              /*include_crds=*/true);
    ASSERT_EQ(out.exit_code, 0) << out.diagnostics;
    docs_ = parseDocuments(out.stdout_text);
    everything_ = writeTempFile(dir_, "everything.yaml", out.stdout_text);
    // The CRDs are the cluster's own; they are dry-run only, never replaced or deleted here.
    objects_ =
        writeTempFile(dir_, "objects.yaml", withoutKinds(docs_, {"CustomResourceDefinition"}));
    applied_ = runCommand(cp.kubectl() + " apply -f " + objects_);
  }
  static void TearDownTestSuite() {
    const ControlPlane& cp = ControlPlane::shared();
    if (!objects_.empty()) runCommand(cp.kubectl() + " delete --wait=false -f " + objects_);
    if (!ns_.empty()) runCommand(cp.kubectl() + " delete namespace --wait=false " + ns_);
    if (!dir_.empty()) removeTree(dir_);
  }

  static std::string ns_, dir_, release_, everything_, objects_;
  static std::vector<YAML::Node> docs_;
  static CommandResult applied_;
};
std::string InstalledChart::ns_, InstalledChart::dir_, InstalledChart::release_,
    InstalledChart::everything_, InstalledChart::objects_;
std::vector<YAML::Node> InstalledChart::docs_;
CommandResult InstalledChart::applied_;

TEST_F(InstalledChart, RendersManifestsTheApiServerAccepts) {
  const ControlPlane& cp = ControlPlane::shared();
  CommandResult dry = runCommand(cp.kubectl() + " apply --dry-run=server -f " + everything_);
  EXPECT_EQ(dry.exit_code, 0) << dry.output;
  EXPECT_EQ(documentsOfKind(docs_, "CustomResourceDefinition").size(), 3u);

  ASSERT_EQ(applied_.exit_code, 0) << applied_.output;
  CommandResult got = runCommand(cp.kubectl() + " -n " + ns_ +
                                 " get deployment,serviceaccount,service,role,rolebinding,"
                                 "digicertissuer,secret -o name");
  EXPECT_NE(got.output.find("deployment.apps/" + release_ + "-serviceuser-operator"),
            std::string::npos)
      << got.output;
  EXPECT_NE(got.output.find("digicertissuer.identity.serviceuser.dev/one"), std::string::npos);
  EXPECT_NE(got.output.find("secret/one-api-key"), std::string::npos);
}

TEST_F(InstalledChart, GrantsTheServiceAccountExactlyWhatTheOperatorNeeds) {
  ASSERT_EQ(applied_.exit_code, 0) << applied_.output;
  expectExactlyTheOperatorsPermissions(ControlPlane::shared(), ns_,
                                       release_ + "-serviceuser-operator", ns_);
}

TEST(HelmChart, InstallsAndUninstallsWithHelmAgainstTheApiServer) {
  const ControlPlane& cp = ControlPlane::shared();
  std::string ns = createNamespace(cp, "ship-helm-install");
  ASSERT_FALSE(ns.empty());
  std::string release = "su-" + ns;
  std::string base = helm() + " --kubeconfig " + cp.kubeconfig() + " --namespace " + ns + " ";

  CommandResult installed =
      runCommand(base + "install " + release + " " + chartDir() +
                 " --set issuer.create=true --set issuer.kind=ClusterDigiCertIssuer"
                 " --set issuer.name=" +
                 release + " --set issuer.apiKey.value=k");
  EXPECT_EQ(installed.exit_code, 0) << installed.output;
  EXPECT_NE(installed.output.find("NOTES:"), std::string::npos) << installed.output;
  EXPECT_NE(
      installed.output.find("resource.customizations.health.identity.serviceuser.dev_ServiceUser"),
      std::string::npos);
  CommandResult issuer = runCommand(cp.kubectl() + " get clusterdigicertissuer " + release);
  EXPECT_EQ(issuer.exit_code, 0) << issuer.output;

  CommandResult uninstalled = runCommand(base + "uninstall " + release + " --wait=false");
  EXPECT_EQ(uninstalled.exit_code, 0) << uninstalled.output;
  CommandResult role =
      runCommand(cp.kubectl() + " get clusterrole " + release + "-serviceuser-operator");
  EXPECT_NE(role.exit_code, 0) << "uninstall leaves no ClusterRole behind: " << role.output;
  CommandResult crd = runCommand(cp.kubectl() + " get crd serviceusers.identity.serviceuser.dev");
  EXPECT_EQ(crd.exit_code, 0) << "Helm never deletes CRDs, so ServiceUsers survive an uninstall";
  runCommand(cp.kubectl() + " delete namespace --wait=false " + ns);
}

}  // namespace
}  // namespace su::testing::shipping
