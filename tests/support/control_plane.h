#pragma once

#include <memory>
#include <string>
#include <vector>

#include "support/process.h"

namespace su::testing {

// A real kube-apiserver with etcd (tools/kube-testenv), started for a test binary or joined when
// SU_TEST_KUBECONFIG names one that is already running.
class ControlPlane {
 public:
  struct Options {
    std::vector<std::string> crd_paths;  // default: the repository's crds/
    bool watch_cache = true;
    std::string compaction_interval;  // e.g. "2s" to provoke 410 Gone; empty: the default
  };

  // The control plane shared by every test of this binary; set up by the test main.
  static ControlPlane& shared();

  ControlPlane();
  explicit ControlPlane(Options options);
  ~ControlPlane();

  // Starts (or joins) it; false with a message when it cannot.
  bool start(std::string* error);
  void stop();
  // Restarts kube-apiserver on the same port and data, as a crash and restart would. Only for a
  // control plane this process started.
  bool restartApiServer(std::string* error);

  bool owned() const { return process_ != nullptr; }
  const std::string& kubeconfig() const { return kubeconfig_; }
  const std::string& server() const { return server_; }
  // "kubectl --kubeconfig <file>", with --context when given.
  std::string kubectl(const std::string& context = "") const;

 private:
  Options options_;
  std::unique_ptr<Process> process_;
  std::string kubeconfig_;
  std::string server_;
  std::string log_path_;
};

// Path of the kube-testenv binary: SU_KUBE_TESTENV, or built (cached) by its build script.
std::string kubeTestenvBinary(std::string* error);
// A new namespace with a unique name made from `prefix`, created with kubectl.
std::string createNamespace(const ControlPlane& cp, const std::string& prefix);
std::string sourceDir();
std::string binaryDir();

}  // namespace su::testing
