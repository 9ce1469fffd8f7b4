#include "support/control_plane.h"

#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <random>

namespace su::testing {
namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

std::string sourceDir() { return SU_SOURCE_DIR; }
std::string binaryDir() { return SU_BINARY_DIR; }

ControlPlane& ControlPlane::shared() {
  static ControlPlane* cp = new ControlPlane();
  return *cp;
}

ControlPlane::ControlPlane() : ControlPlane(Options{}) {}
ControlPlane::ControlPlane(Options options) : options_(std::move(options)) {
  if (options_.crd_paths.empty()) options_.crd_paths.push_back(sourceDir() + "/crds");
}
ControlPlane::~ControlPlane() { stop(); }

std::string kubeTestenvBinary(std::string* error) {
  if (const char* path = std::getenv("SU_KUBE_TESTENV"); path != nullptr && *path != '\0') {
    return path;
  }
  CommandResult built = runCommand(sourceDir() + "/tools/kube-testenv/build.sh 2>/dev/null");
  std::string path = trim(built.output);
  if (built.exit_code != 0 || path.empty()) {
    *error = "building kube-testenv failed: " + built.output;
    return {};
  }
  return path.substr(path.rfind('\n') + 1);
}

bool ControlPlane::start(std::string* error) {
  if (const char* joined = std::getenv("SU_TEST_KUBECONFIG");
      joined != nullptr && *joined != '\0' && options_.watch_cache &&
      options_.compaction_interval.empty()) {
    kubeconfig_ = joined;
    server_ = trim(runCommand(kubectl() + " config view --minify -o "
                                          "jsonpath='{.clusters[0].cluster.server}'")
                       .output);
    return true;
  }
  std::string binary = kubeTestenvBinary(error);
  if (binary.empty()) return false;
  std::string crds;
  for (const auto& p : options_.crd_paths) crds += (crds.empty() ? "" : ",") + p;
  Process::Options opts;
  opts.argv = {binary, "--crds=" + crds,
               "--watch-cache=" + std::string(options_.watch_cache ? "true" : "false")};
  if (!options_.compaction_interval.empty()) {
    opts.argv.push_back("--etcd-compaction-interval=" + options_.compaction_interval);
  }
  log_path_ = makeTempDir("su-cp-log-") + "/kube-testenv.log";
  opts.stderr_path = log_path_;
  process_ = std::make_unique<Process>(opts);
  if (!process_->start(error)) return false;
  auto ready = process_->waitForLine("READY", std::chrono::minutes(5));
  if (!ready) {
    *error = "the control plane did not print READY; its log:\n" + readFile(log_path_);
    process_.reset();
    return false;
  }
  kubeconfig_ = wordValue(*ready, "kubeconfig");
  server_ = wordValue(*ready, "server");
  return true;
}

void ControlPlane::stop() {
  if (process_) process_->stop();
  process_.reset();
}

bool ControlPlane::restartApiServer(std::string* error) {
  if (!process_) {
    *error = "only a control plane this process started can be restarted";
    return false;
  }
  process_->signal(SIGUSR1);
  if (!process_->waitForLine("RESTARTED", std::chrono::minutes(3))) {
    *error = "the API server did not come back; log:\n" + readFile(log_path_);
    return false;
  }
  return true;
}

std::string ControlPlane::kubectl(const std::string& context) const {
  std::string cmd = "kubectl --kubeconfig " + kubeconfig_;
  if (!context.empty()) cmd += " --context " + context;
  return cmd;
}

std::string createNamespace(const ControlPlane& cp, const std::string& prefix) {
  static std::atomic<int> counter{0};
  std::random_device rd;
  std::string name = prefix + "-" + std::to_string(rd() % 100000) + "-" + std::to_string(counter++);
  CommandResult r = runCommand(cp.kubectl() + " create namespace " + name);
  return r.exit_code == 0 ? name : std::string();
}

}  // namespace su::testing
