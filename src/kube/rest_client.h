// A typed-enough REST client for the Kubernetes API: objects are nlohmann::json, resources are
// named by group/version/plural, failures are su::Error values decoded from the server's Status.
//
//   auto client = su::kube::Client::create(config).value();
//   auto cm = client->get(su::kube::kConfigMaps, "ns", "name");
//   if (!cm && cm.error().kind == su::ErrorKind::kNotFound) ...
//   (*cm)["data"]["k"] = "v";
//   auto updated = client->update(su::kube::kConfigMaps, *cm);  // 409 -> ErrorKind::kConflict
//
// Every request waits for the client-side rate limit (QPS/burst). Transient failures (transport
// errors, 429, 5xx) are retried with backoff, honouring Retry-After, but only for requests that
// are safe to repeat: GET, LIST, PUT carrying a resourceVersion and DELETE with a precondition.
// Creates, patches and unconditional deletes are sent once. Each answer is counted in
// kube_client_requests_total{verb,resource,code}.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/rate_limit.h"
#include "common/result.h"
#include "kube/kubeconfig.h"
#include "kube/watch_event.h"
#include "net/http_client.h"

namespace su::kube {

using Json = nlohmann::json;

struct Resource {
  std::string group;  // "" for the core group
  std::string version;
  std::string plural;
  bool namespaced = true;

  // "/api/v1" or "/apis/<group>/<version>".
  std::string basePath() const;
  // "configmaps" or "leases.coordination.k8s.io", for metrics and messages.
  std::string displayName() const;
};

inline const Resource kNamespaces{"", "v1", "namespaces", false};
inline const Resource kConfigMaps{"", "v1", "configmaps", true};
inline const Resource kSecrets{"", "v1", "secrets", true};
inline const Resource kLeases{"coordination.k8s.io", "v1", "leases", true};
inline const Resource kEvents{"events.k8s.io", "v1", "events", true};
inline const Resource kCustomResourceDefinitions{"apiextensions.k8s.io", "v1",
                                                 "customresourcedefinitions", false};

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  int64_t limit = 0;           // page size; 0: the server's choice (all)
  std::string continue_token;  // from the previous page
  std::string resource_version;
};

struct ObjectList {
  std::vector<Json> items;
  std::string resource_version;  // the list's, to watch from
  std::string continue_token;    // empty on the last page
};

struct DeleteOptions {
  std::string uid;                 // precondition: delete only this incarnation
  std::string resource_version;    // precondition: delete only this version
  std::string propagation_policy;  // "Foreground", "Background", "Orphan" or "" (server default)
  std::optional<int64_t> grace_period_seconds;
};

enum class PatchType { kMerge, kJsonPatch };

struct WatchOptions {
  std::string resource_version;  // where to start; the list's resourceVersion
  std::string label_selector;
  std::string field_selector;
  std::chrono::seconds timeout{300};  // the server ends the watch after this (timeoutSeconds)
  bool bookmarks = true;
};

// How a watch ended when it did not fail.
enum class WatchEnd { kClosed, kStopped };

struct ClientOptions {
  int max_attempts = 5;  // for requests safe to repeat
  std::chrono::milliseconds backoff_base{200};
  std::chrono::milliseconds backoff_cap{10000};
  std::chrono::milliseconds max_retry_after{60000};
  // Silence allowed on a watch stream; must exceed WatchOptions::timeout.
  std::chrono::milliseconds watch_idle_timeout{std::chrono::minutes(6)};
  const Clock* clock = nullptr;  // default: the system clock
};

class Client {
 public:
  static Result<std::unique_ptr<Client>> create(RestConfig config, ClientOptions options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // `ns` is ignored for cluster-scoped resources.
  Result<Json> get(const Resource& r, std::string_view ns, std::string_view name);
  // One page.
  Result<ObjectList> list(const Resource& r, std::string_view ns, const ListOptions& options = {});
  // Every page, following continue tokens; the resourceVersion is the first page's.
  Result<ObjectList> listAll(const Resource& r, std::string_view ns, ListOptions options = {});
  // The same walk, handing each item over as its page arrives, so that no more than one page is
  // held in full; returns the resourceVersion of the list.
  Result<std::string> listEach(const Resource& r, std::string_view ns, ListOptions options,
                               const std::function<void(Json&& item)>& each);

  // The namespace comes from the object's metadata (or `ns` when given).
  Result<Json> create(const Resource& r, const Json& object, std::string_view ns = {});
  // PUT. When metadata.resourceVersion is set the server checks it: stale -> kConflict.
  Result<Json> update(const Resource& r, const Json& object);
  // PUT to the status subresource; same precondition rule.
  Result<Json> updateStatus(const Resource& r, const Json& object);
  Result<Json> patch(const Resource& r, std::string_view ns, std::string_view name, PatchType type,
                     const Json& patch, bool status_subresource = false);
  Status remove(const Resource& r, std::string_view ns, std::string_view name,
                const DeleteOptions& options = {});

  // Streams watch events to on_event until the server ends the watch (kClosed), on_event returns
  // false or cancel fires (kStopped), or it fails (an Error; 410 Gone has http_status 410).
  // Blocks: call it from a thread of its own.
  Result<WatchEnd> watch(const Resource& r, std::string_view ns, const WatchOptions& options,
                         const std::function<bool(WatchEvent&&)>& on_event,
                         net::CancelSource& cancel);

  const RestConfig& config() const { return config_; }

 private:
  Client(RestConfig config, ClientOptions options);
  struct Call;
  Result<net::Response> execute(const Call& call);
  Result<Json> executeJson(const Call& call);
  Result<net::Request> buildRequest(const Call& call) const;

  RestConfig config_;
  ClientOptions options_;
  SystemClock system_clock_;
  std::unique_ptr<TokenBucket> limiter_;
  std::unique_ptr<net::HttpClient> http_;
  std::unique_ptr<net::HttpClient> watch_http_;
};

// "namespace/name", or "name" for cluster-scoped objects: the key caches and queues use.
std::string objectKey(const Json& object);
// Splits a key back; the namespace is empty for cluster-scoped keys.
std::pair<std::string, std::string> splitKey(std::string_view key);

// Kubernetes' MicroTime: "2006-01-02T15:04:05.000000Z".
std::string formatMicroTime(TimePoint t);

// Turns a non-2xx answer into an Error: kind from the status code, message and reason from a
// Kubernetes Status body when there is one, Retry-After kept.
Error errorFromResponse(const net::Response& response, std::string_view what);

}  // namespace su::kube
