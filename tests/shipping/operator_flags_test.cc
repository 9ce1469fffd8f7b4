// The flags the chart and the plain manifests pass must be ones the operator program accepts: a
// flag it does not know makes it exit with code 2 and the pod crash-loop.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "shipping/manifests_fixture.h"
#include "support/control_plane.h"
#include "support/process.h"

namespace su::testing::shipping {
namespace {

std::vector<std::string> containerArgs(const std::string& manifests) {
  std::vector<std::string> args;
  auto deployments = documentsOfKind(parseDocuments(manifests), "Deployment");
  if (deployments.size() != 1) return args;
  for (const auto& a : deployments[0]["spec"]["template"]["spec"]["containers"][0]["args"]) {
    args.push_back(a.as<std::string>());
  }
  return args;
}

// Runs the operator with `args`, then overrides that keep it off the network: the listeners on
// loopback port 0 and a kubeconfig that does not exist, so it stops right after parsing.
CommandResult runOperator(const std::vector<std::string>& args) {
  std::string command =
      "POD_NAMESPACE=serviceuser-system POD_NAME=operator-0 timeout 20 " + operatorBinary();
  for (const auto& a : args) command += " '" + a + "'";
  command +=
      " --metrics-bind-address=127.0.0.1:0 --health-probe-bind-address=127.0.0.1:0"
      " --kubeconfig=/nonexistent/kubeconfig";
  return runCommand(command);
}

void expectAccepted(const std::string& what, const std::vector<std::string>& args) {
  ASSERT_FALSE(args.empty()) << what << " renders no Deployment args";
  CommandResult r = runOperator(args);
  EXPECT_NE(r.exit_code, 2) << what << ": the operator refused its flags\n" << r.output;
  EXPECT_NE(r.output.find("/nonexistent/kubeconfig"), std::string::npos)
      << what << ": the operator stopped before reading its kubeconfig\n"
      << r.output;
}

class OperatorFlags : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(operatorBinary()))
        << operatorBinary() << " is missing: build the serviceuser-operator target, or name "
        << "the binary in SU_OPERATOR_BINARY";
  }
};

TEST_F(OperatorFlags, RefusesAnUnknownFlagWithExitCodeTwo) {
  CommandResult r = runOperator({"--no-such-flag=1"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
}

TEST_F(OperatorFlags, AcceptsEveryFlagThePlainManifestsPass) {
  Output out = runSplit(ControlPlane::shared().kubectl() + " kustomize " + operatorDir());
  ASSERT_EQ(out.exit_code, 0) << out.diagnostics;
  expectAccepted("operator/", containerArgs(out.stdout_text));
}

TEST_F(OperatorFlags, AcceptsEveryFlagTheHelmChartPasses) {
  for (const std::vector<std::string>& sets : std::vector<std::vector<std::string>>{
           {},
           {"watchNamespaces={team-a}", "logging.level=debug", "logging.format=text", "workers=8",
            "kubeApi.qps=50", "kubeApi.burst=60", "digicertBudget=500/5m\\,50/5s"},
           {"leaderElection.enabled=false", "metrics.enabled=false"},
       }) {
    Output out = helmTemplate("su", "operators", sets);
    ASSERT_EQ(out.exit_code, 0) << out.diagnostics;
    std::string what = "the chart with";
    for (const auto& s : sets) what += " " + s;
    expectAccepted(what, containerArgs(out.stdout_text));
  }
}

}  // namespace
}  // namespace su::testing::shipping
