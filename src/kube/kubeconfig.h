// Where the operator finds the API server and its credentials.
//
//   auto config = su::kube::loadKubeconfig({.context = "admin"});  // or inClusterConfig()
//   if (!config) return config.error();  // names the file and the field, never key material
//   auto client = su::kube::Client::create(*config);
//
// Kubeconfig files are read the way kubectl reads them: an explicit path, else every file in
// KUBECONFIG (':'-separated, the first file to define a name or the current context wins), else
// ~/.kube/config. Relative file references resolve against the file that names them. Exec and
// auth-provider plugins, basic auth and proxies are refused with a message saying so.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/secret.h"
#include "net/http_client.h"

namespace su::kube {

// A bearer token read from a file (a projected service-account token or a kubeconfig
// tokenFile), read again when the file changes, so rotated tokens are picked up.
class TokenFile {
 public:
  explicit TokenFile(std::string path) : path_(std::move(path)) {}
  // The current token; the previous one when the file cannot be read now.
  Result<SecretString> current();
  // Makes the next current() read the file whatever its timestamps say (after a 401).
  void invalidate();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::mutex mu_;
  SecretString token_;
  int64_t seen_mtime_ns_ = -1;
  int64_t seen_size_ = -1;
  std::chrono::steady_clock::time_point checked_{};
};

struct RestConfig {
  std::string server;  // https://host:port, no path
  std::string ca_pem;  // empty: the system roots
  std::string client_cert_pem;
  SecretString client_key_pem;
  SecretString bearer_token;
  std::shared_ptr<TokenFile> token_file;  // when set, wins over bearer_token
  std::string tls_server_name;            // default: the server URL's host
  bool insecure_skip_verify = false;
  std::string default_namespace = "default";  // the context's namespace
  std::string context;                        // the context used; empty in cluster

  double qps = 20;  // client-side rate limit; <= 0 turns it off
  int burst = 30;
  std::string user_agent = "serviceuser-operator";
  std::chrono::milliseconds timeout{30000};  // silence allowed on a request

  // The transport settings (no credentials but the client certificate and key).
  net::ClientConfig toClientConfig() const;
  // The "Bearer ..." value to send, or nullopt when the config uses no token.
  Result<std::optional<SecretString>> authorization() const;
};

struct LoadOptions {
  std::string path;     // explicit file; empty: KUBECONFIG, then ~/.kube/config
  std::string context;  // empty: current-context
};

Result<RestConfig> loadKubeconfig(const LoadOptions& options = {});

// Parses one kubeconfig document already in memory; `origin` names it in errors and is the base
// for relative paths (its directory). Used by loadKubeconfig and the fuzz test.
Result<RestConfig> parseKubeconfig(std::string_view text, std::string_view origin,
                                   std::string_view context = {});

// Inside a pod: KUBERNETES_SERVICE_HOST/PORT, the service-account CA, token (re-read when it
// rotates) and namespace. `root` replaces the service-account folder in tests.
Result<RestConfig> inClusterConfig(
    std::string_view root = "/var/run/secrets/kubernetes.io/serviceaccount");

}  // namespace su::kube
