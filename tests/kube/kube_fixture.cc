#include "kube/kube_fixture.h"

#include <atomic>
#include <random>
#include <thread>

namespace su::kube::testing {

RestConfig configFor(const ControlPlane& cp, const std::string& context) {
  LoadOptions options;
  options.path = cp.kubeconfig();
  options.context = context;
  auto config = loadKubeconfig(options);
  EXPECT_TRUE(config.ok()) << (config.ok() ? "" : config.error().describe());
  return config.ok() ? std::move(config).value() : RestConfig{};
}

std::unique_ptr<Client> clientFor(const ControlPlane& cp, const std::string& context,
                                  ClientOptions options) {
  RestConfig config = configFor(cp, context);
  config.qps = 200;
  config.burst = 400;
  auto client = Client::create(std::move(config), options);
  EXPECT_TRUE(client.ok()) << (client.ok() ? "" : client.error().describe());
  return client.ok() ? std::move(client).value() : nullptr;
}

Client& adminClient() {
  static Client* client = clientFor(ControlPlane::shared()).release();
  return *client;
}

std::string uniqueName(const std::string& prefix) {
  static std::atomic<int> counter{0};
  static const unsigned salt = std::random_device{}() % 100000;
  return prefix + "-" + std::to_string(salt) + "-" + std::to_string(counter++);
}

std::string freshNamespace(const std::string& prefix) {
  std::string name = uniqueName(prefix);
  Json ns = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}}}};
  auto created = adminClient().create(kNamespaces, ns);
  EXPECT_TRUE(created.ok()) << (created.ok() ? "" : created.error().describe());
  return name;
}

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

Json configMap(const std::string& ns, const std::string& name, const Json& data,
               const Json& labels) {
  Json cm = {{"apiVersion", "v1"},
             {"kind", "ConfigMap"},
             {"metadata", {{"name", name}, {"namespace", ns}}},
             {"data", data}};
  if (!labels.empty()) cm["metadata"]["labels"] = labels;
  return cm;
}

}  // namespace su::kube::testing
