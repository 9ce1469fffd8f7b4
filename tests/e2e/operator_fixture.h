// The end-to-end fixture: the real API server (shared by the binary), a DigiCert ONE simulator, a
// namespace with an issuer for it, and the operator program as a child process that tests kill,
// restart and inspect the way an operator's users would, with kubectl.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/json.h"
#include "digicert/account_manager.h"
#include "support/control_plane.h"
#include "support/process.h"
#include "support/simulator.h"
#include "support/wait.h"

namespace su::e2e {

using json::Json;

class OperatorTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // The operator, started with the fixture's namespace and these extra flags.
  void startOperator(std::vector<std::string> extra = {});
  // The operator's command line for the fixture's namespace, with `extra` flags appended.
  std::vector<std::string> operatorArgv(const std::string& metrics_address,
                                        const std::vector<std::string>& extra);
  void killOperator();  // SIGKILL, no clean-up
  void stopOperator();  // SIGTERM
  void restartOperator(std::vector<std::string> extra = {});

  // kubectl in the test namespace; fails the test when the command fails and `must` is set.
  std::string kubectl(const std::string& args, bool must = true);
  void apply(const std::string& yaml);
  Json get(const std::string& kind, const std::string& name);  // null when absent
  bool exists(const std::string& kind, const std::string& name);

  // A ServiceUser manifest for the fixture's issuer; `extra_spec` is YAML indented by two spaces
  // appended to spec.
  std::string serviceUser(const std::string& name, const std::string& extra_spec = "") const;
  // Waits until Ready is True for the current generation.
  Json waitReady(const std::string& name, std::chrono::seconds timeout = std::chrono::seconds(60));
  std::string conditionReason(const Json& su, const std::string& type);

  // The Secret's decoded value at `key` ("" when absent). A value under "token" is remembered
  // for the leak scan.
  std::string secretValue(const std::string& secret, const std::string& key);
  std::string resourceVersion(const std::string& kind, const std::string& name);

  // What every identity of ServiceUser `name` is called in DigiCert ONE: the prefix of all its
  // revisions, and the name of one revision (the ServiceUser must exist, or have existed in this
  // test: names are remembered).
  std::string identityPrefix(const std::string& name);
  std::string identityName(const std::string& name, int64_t revision);

  // The simulator's users whose friendly name starts with `prefix`.
  std::vector<Json> remoteUsers(const std::string& prefix);
  std::vector<Json> activeRemoteUsers(const std::string& prefix);
  // Writes the simulator saw (creates, updates, disables, deletes).
  int64_t remoteWrites();
  // Whether `token` authenticates against the simulator right now.
  bool tokenWorks(const std::string& token);
  std::unique_ptr<digicert::AccountManager> adminClient();

  // Every token seen during the test, for the leak scan in TearDown.
  void remember(const std::string& token) { tokens_.push_back(token); }

  su::testing::ControlPlane& cp() { return su::testing::ControlPlane::shared(); }

  std::string ns_;
  std::string dir_;
  std::unique_ptr<su::testing::SimProcess> sim_;
  std::unique_ptr<su::testing::Process> operator_;
  std::vector<std::string> operator_flags_;
  int operator_runs_ = 0;
  int metrics_port_ = 0;
  std::vector<std::string> tokens_;
  std::map<std::string, std::string> bases_;  // ServiceUser name -> friendly name base
};

// The operator binary built with the tests.
std::string operatorBinary();
int freePort();

}  // namespace su::e2e
