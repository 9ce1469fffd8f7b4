#include "main/flags.h"

#include <charconv>
#include <cstdlib>
#include <functional>
#include <map>

#include "common/time_format.h"

namespace su::app {
namespace {

Error bad(const std::string& flag, const std::string& why) {
  return makeError(ErrorKind::kInvalid, "flag --" + flag + ": " + why);
}

template <typename T>
bool number(const std::string& text, T& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

bool boolean(const std::string& text, bool& out) {
  if (text == "true" || text == "1") return out = true, true;
  if (text == "false" || text == "0") return out = false, true;
  return false;
}

// "1000/5m,100/5s"
bool budget(const std::string& text, std::vector<WindowedBudget::Window>& out) {
  out.clear();
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string part =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    size_t slash = part.find('/');
    int requests = 0;
    if (slash == std::string::npos || !number(part.substr(0, slash), requests) || requests <= 0) {
      return false;
    }
    auto span = parseDuration(part.substr(slash + 1));
    if (!span || span->count() <= 0) return false;
    out.push_back({requests, *span});
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return !out.empty();
}

using Setter = std::function<bool(Flags&, const std::string&)>;

struct Spec {
  Setter set;
  bool takes_value;
  const char* help;
};

const std::map<std::string, Spec>& specs() {
  static const std::map<std::string, Spec> table = {
      {"kubeconfig",
       {[](Flags& f, const std::string& v) {
          f.kubeconfig = v;
          return !v.empty();
        },
        true, "kubeconfig file (default: in-cluster, then $KUBECONFIG, ~/.kube/config)"}},
      {"context",
       {[](Flags& f, const std::string& v) {
          f.context = v;
          return !v.empty();
        },
        true, "kubeconfig context (default: the current one)"}},
      {"namespace",
       {[](Flags& f, const std::string& v) {
          f.namespace_name = v;
          return true;
        },
        true, "watch only this namespace (default: all namespaces)"}},
      {"leader-elect",
       {[](Flags& f, const std::string& v) { return boolean(v, f.leader_elect); }, false,
        "elect one active replica through a Lease"}},
      {"leader-election-id",
       {[](Flags& f, const std::string& v) {
          f.leader_election_id = v;
          return !v.empty();
        },
        true, "name of the Lease (default serviceuser-operator)"}},
      {"leader-election-namespace",
       {[](Flags& f, const std::string& v) {
          f.leader_election_namespace = v;
          return !v.empty();
        },
        true, "namespace of the Lease (default $POD_NAMESPACE, else the kubeconfig's)"}},
      {"metrics-bind-address",
       {[](Flags& f, const std::string& v) {
          f.metrics_bind_address = v;
          return true;
        },
        true, "address of /metrics, \"0\" to turn it off (default :8080)"}},
      {"health-probe-bind-address",
       {[](Flags& f, const std::string& v) {
          f.health_probe_bind_address = v;
          return true;
        },
        true, "address of /healthz and /readyz, \"0\" to turn them off (default :8081)"}},
      {"log-level",
       {[](Flags& f, const std::string& v) {
          auto l = log::parseLevel(v);
          if (l) f.log_level = *l;
          return l.has_value();
        },
        true, "debug, info, warn or error (default info)"}},
      {"log-format",
       {[](Flags& f, const std::string& v) {
          if (v != "json" && v != "text") return false;
          f.log_format = v == "json" ? log::Format::kJson : log::Format::kText;
          return true;
        },
        true, "json (default) or text"}},
      {"workers",
       {[](Flags& f, const std::string& v) {
          return number(v, f.workers) && f.workers >= 1 && f.workers <= 64;
        },
        true, "ServiceUsers reconciled in parallel, 1-64 (default 4)"}},
      {"kube-api-qps",
       {[](Flags& f, const std::string& v) {
          char* end = nullptr;
          f.kube_api_qps = std::strtod(v.c_str(), &end);
          return end && *end == '\0' && f.kube_api_qps > 0;
        },
        true, "requests per second to the API server (default 20)"}},
      {"kube-api-burst",
       {[](Flags& f, const std::string& v) {
          return number(v, f.kube_api_burst) && f.kube_api_burst >= 1;
        },
        true, "burst of requests to the API server (default 30)"}},
      {"digicert-budget",
       {[](Flags& f, const std::string& v) { return budget(v, f.digicert_budget); }, true,
        "requests per DigiCert ONE credential, for issuers without requestBudget "
        "(default 1000/5m,100/5s)"}},
      {"identity-check-interval",
       {[](Flags& f, const std::string& v) {
          auto d = parseDuration(v);
          if (d && d->count() > 0) f.identity_check_interval = *d;
          return d && d->count() > 0;
        },
        true,
        "how often each identity is checked for remote changes "
        "(default 10m)"}},
      {"deletion-timeout",
       {[](Flags& f, const std::string& v) {
          auto d = parseDuration(v);
          if (d) f.deletion_timeout = *d;
          return d.has_value();
        },
        true,
        "how long a deletion waits for DigiCert ONE before it finishes and "
        "records what it left (default 5m)"}},
      {"clock-offset",
       {[](Flags& f, const std::string& v) {
          bool negative = !v.empty() && v[0] == '-';
          auto d = parseDuration(negative ? v.substr(1) : v);
          if (d) f.clock_offset = negative ? -*d : *d;
          return d.has_value();
        },
        true, "testing only: run as if this much later (e.g. 1900h)"}},
  };
  return table;
}

}  // namespace

Result<Flags> parseFlags(int argc, char** argv) {
  Flags f;
  if (const char* ns = std::getenv("POD_NAMESPACE")) f.leader_election_namespace = ns;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      f.help = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0) return bad(arg, "unexpected argument; flags start with --");
    std::string name = arg.substr(2), value;
    bool has_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    auto it = specs().find(name);
    if (it == specs().end()) return bad(name, "unknown flag; see --help");
    if (!has_value && it->second.takes_value) {
      if (i + 1 >= argc) return bad(name, "needs a value");
      value = argv[++i];
    } else if (!has_value) {
      value = "true";
    }
    if (!it->second.set(f, value)) return bad(name, "invalid value \"" + value + "\"");
  }
  return f;
}

std::string usage() {
  std::string out =
      "serviceuser-operator: creates DigiCert ONE service users for ServiceUser resources, "
      "writes each token\ninto its Secret exactly once and rotates it before the end date.\n\n"
      "Usage: serviceuser-operator [flags]\n\nFlags:\n";
  for (const auto& [name, spec] : specs()) {
    std::string left = "  --" + name + (spec.takes_value ? " VALUE" : "");
    left.resize(std::max<size_t>(left.size() + 2, 36), ' ');
    out += left + spec.help + "\n";
  }
  out += "  -h, --help                        this text\n";
  return out;
}

std::optional<std::string> listenerUrl(const std::string& bind_address) {
  if (bind_address == "0" || bind_address.empty()) return std::nullopt;
  size_t colon = bind_address.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  std::string host = bind_address.substr(0, colon);
  int port = 0;
  if (!number(bind_address.substr(colon + 1), port) || port <= 0 || port > 65535) {
    return std::nullopt;
  }
  return "http://" + (host.empty() ? std::string("0.0.0.0") : host) + ":" + std::to_string(port);
}

}  // namespace su::app
