#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/log.h"
#include "common/rate_limit.h"
#include "common/result.h"

namespace su::app {

struct Flags {
  std::string kubeconfig;
  std::string context;
  std::string namespace_name;  // empty: all
  bool leader_elect = false;
  std::string leader_election_id = "serviceuser-operator";
  std::string leader_election_namespace;
  std::string metrics_bind_address = ":8080";
  std::string health_probe_bind_address = ":8081";
  log::Level log_level = log::Level::kInfo;
  log::Format log_format = log::Format::kJson;
  int workers = 4;
  double kube_api_qps = 20;
  int kube_api_burst = 30;
  std::vector<WindowedBudget::Window> digicert_budget{{1000, std::chrono::seconds(300)},
                                                      {100, std::chrono::seconds(5)}};
  std::chrono::seconds identity_check_interval{600};
  std::chrono::seconds deletion_timeout{300};
  std::chrono::seconds clock_offset{0};
  bool help = false;
};

// Parses the command line. Errors name the flag; the caller exits with status 2.
Result<Flags> parseFlags(int argc, char** argv);
std::string usage();

// ":8080" or "0.0.0.0:8080" as a listener URL; nullopt for "0" (off) or a malformed address.
std::optional<std::string> listenerUrl(const std::string& bind_address);

}  // namespace su::app
