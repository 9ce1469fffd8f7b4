// serviceuser-operator: wires the Kubernetes client, the ServiceUser controller, leader election
// and the probe and metrics endpoints, then waits for SIGTERM or SIGINT.
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "common/log.h"
#include "common/metrics.h"
#include "kube/kubeconfig.h"
#include "kube/leader_election.h"
#include "main/endpoints.h"
#include "main/flags.h"
#include "net/http_client.h"
#include "serviceuser/controller.h"
#include "serviceuser/controller_metrics.h"

namespace {

using su::app::Flags;

constexpr int kExitUsage = 2;

sigset_t blockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

su::Result<su::kube::RestConfig> restConfig(const Flags& flags) {
  if (flags.kubeconfig.empty() && std::getenv("KUBERNETES_SERVICE_HOST") != nullptr &&
      std::getenv("KUBECONFIG") == nullptr) {
    return su::kube::inClusterConfig();
  }
  return su::kube::loadKubeconfig({flags.kubeconfig, flags.context});
}

std::string podName() {
  if (const char* name = std::getenv("POD_NAME")) return name;
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return std::string(host) + "-" + std::to_string(getpid());
}

struct Program {
  Flags flags;
  su::OffsetClock clock;
  std::unique_ptr<su::kube::Client> client;
  std::unique_ptr<su::serviceuser::Controller> controller;
  std::unique_ptr<su::kube::LeaderElector> elector;
  std::vector<std::unique_ptr<su::app::Endpoints>> endpoints;
  std::atomic<bool> stopping{false};
  std::atomic<bool> lost_leadership{false};

  su::Status wire();
  su::Status serve();
  void startControllers();
  bool ready() const;
  void shutdown();
};

su::Status Program::wire() {
  clock.setOffset(flags.clock_offset);
  auto config = restConfig(flags);
  if (!config) return config.error();
  config->qps = flags.kube_api_qps;
  config->burst = flags.kube_api_burst;
  config->user_agent = "serviceuser-operator/0.1.0";
  auto made = su::kube::Client::create(*config);
  if (!made) return made.error();
  client = std::move(made).value();

  su::serviceuser::ControllerOptions options;
  options.namespace_name = flags.namespace_name;
  options.workers = flags.workers;
  options.instance = podName();
  options.reconciler.identity_check_interval = flags.identity_check_interval;
  options.reconciler.deletion_timeout = flags.deletion_timeout;
  options.issuers.default_budget = flags.digicert_budget;
  controller = std::make_unique<su::serviceuser::Controller>(*client, clock, options);
  su::serviceuser::ControllerMetrics::get();

  if (!flags.leader_elect) return su::Status::success();
  std::string ns = flags.leader_election_namespace.empty() ? config->default_namespace
                                                           : flags.leader_election_namespace;
  auto elector_made = su::kube::LeaderElector::create(
      *config,
      {.lease_namespace = ns, .lease_name = flags.leader_election_id, .identity = podName()},
      {.on_started_leading = [this] { startControllers(); },
       .on_stopped_leading =
           [this] {
             if (stopping.load()) return;
             lost_leadership = true;
             su::log::error("leadership lost; exiting so a fresh process can compete again");
             kill(getpid(), SIGTERM);
           },
       .on_new_leader = {}});
  if (!elector_made) return elector_made.error();
  elector = std::move(elector_made).value();
  return su::Status::success();
}

su::Status Program::serve() {
  auto metrics_url = su::app::listenerUrl(flags.metrics_bind_address);
  auto probe_url = su::app::listenerUrl(flags.health_probe_bind_address);
  if (!metrics_url && flags.metrics_bind_address != "0") {
    return su::makeError(su::ErrorKind::kInvalid, "flag --metrics-bind-address: use host:port");
  }
  if (!probe_url && flags.health_probe_bind_address != "0") {
    return su::makeError(su::ErrorKind::kInvalid,
                         "flag --health-probe-bind-address: use host:port");
  }
  auto metrics = [] { return su::metrics::defaultRegistry().expose(); };
  auto healthy = [this] { return !stopping.load(); };
  auto ready = [this] { return this->ready(); };
  if (probe_url && metrics_url && *probe_url == *metrics_url) {
    auto ep = su::app::Endpoints::start(*probe_url, {healthy, ready, metrics});
    if (!ep) return ep.error();
    endpoints.push_back(std::move(ep).value());
    return su::Status::success();
  }
  if (probe_url) {
    auto ep = su::app::Endpoints::start(*probe_url, {healthy, ready, {}});
    if (!ep) return ep.error();
    endpoints.push_back(std::move(ep).value());
  }
  if (metrics_url) {
    auto ep = su::app::Endpoints::start(*metrics_url, {healthy, ready, metrics});
    if (!ep) return ep.error();
    endpoints.push_back(std::move(ep).value());
  }
  return su::Status::success();
}

void Program::startControllers() {
  controller->start();
  su::log::info("controller started", {{"controller", su::serviceuser::kControllerName}});
}

bool Program::ready() const {
  if (stopping.load()) return false;
  // A standby replica is ready to take over; the leader is ready once its caches are synced.
  if (elector && !elector->isLeader()) return true;
  return controller && controller->synced();
}

void Program::shutdown() {
  stopping = true;
  su::log::info("stopping");
  if (controller) controller->stop();
  if (elector) elector->stop();  // releases the Lease after the work has stopped
  for (auto& ep : endpoints) ep->close();
}

}  // namespace

int main(int argc, char** argv) {
  // glibc gives threads that allocate arenas of their own, which keep freed memory apart; with
  // the HTTP pool's threads that held 6 MiB more at 10,000 ServiceUsers (bench/README.md).
  mallopt(M_ARENA_MAX, 2);
  sigset_t stop_signals = blockStopSignals();
  auto flags = su::app::parseFlags(argc, argv);
  if (!flags) {
    std::cerr << "serviceuser-operator: " << flags.error().message << "\n";
    return kExitUsage;
  }
  if (flags->help) {
    std::cout << su::app::usage();
    return 0;
  }
  su::Status roots = su::net::preloadSystemRoots();  // before any thread starts
  su::net::initialize(static_cast<size_t>(std::max(8, flags->workers * 2 + 4)));
  su::log::init(flags->log_level, flags->log_format, "serviceuser-operator");
  if (!roots) {
    su::log::warn("system CA bundle not preloaded", {{"error", roots.error().describe()}});
  }

  Program program;
  program.flags = flags.value();
  su::Status ok = program.wire();
  if (ok) ok = program.serve();
  if (!ok) {
    su::log::error("cannot start", {{"error", ok.error().describe()}});
    su::log::shutdown();
    return 1;
  }
  if (program.elector) {
    program.elector->start();
  } else {
    program.startControllers();
  }

  int sig = 0;
  sigwait(&stop_signals, &sig);
  program.shutdown();
  su::log::info("stopped", {{"signal", sig}});
  su::log::shutdown();
  return program.lost_leadership ? 1 : 0;
}
