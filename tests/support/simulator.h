#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/secret.h"
#include "support/process.h"

namespace su::testing {

// A digicert-sim child process and what its READY line said.
class SimProcess {
 public:
  // Starts the simulator with `args` on a state directory (a fresh temporary one when empty).
  static std::unique_ptr<SimProcess> start(std::vector<std::string> args,
                                           std::string state_dir = "");
  ~SimProcess();

  // Stops it (SIGTERM) and starts it again on the same state directory and ports.
  void restart();

  const std::string& url() const { return url_; }
  const std::string& clientAuthUrl() const { return clientauth_; }
  const std::string& caPem() const { return ca_pem_; }
  const SecretString& apiKey() const { return api_key_; }
  const std::string& stderrPath() const { return stderr_path_; }
  const std::string& stateDir() const { return state_dir_; }

  // A call to the control API; the parsed answer (null on failure, with a test failure added).
  json::Json control(const std::string& method, const std::string& path,
                     const json::Json& body = json::Json::object());
  json::Json state() { return control("GET", "/control/state"); }
  int64_t calls(const std::string& action);
  void addFault(json::Json rule) { control("POST", "/control/faults", rule); }

 private:
  bool launch(std::vector<std::string> args);

  std::unique_ptr<Process> process_;
  std::vector<std::string> args_;
  std::string state_dir_, stderr_path_;
  std::string url_, control_, clientauth_, ca_pem_;
  SecretString api_key_;
};

// Path of the digicert-sim binary built with the tests.
std::string simulatorBinary();

}  // namespace su::testing
