#include "kube/rest_client.h"

#include <cstdio>
#include <thread>

#include "common/json.h"
#include "common/log.h"
#include "common/metrics.h"

namespace su::kube {
namespace {

metrics::Family<metrics::Counter>& requestCounter() {
  static auto& family = metrics::defaultRegistry().counter(
      "kube_client_requests_total", "Requests sent to the Kubernetes API server, by answer.",
      {"verb", "resource", "code"});
  return family;
}

bool unreserved(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

std::string escape(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (unreserved(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

class Query {
 public:
  Query& add(std::string_view key, std::string_view value) {
    if (value.empty()) return *this;
    text_ += text_.empty() ? "?" : "&";
    text_ += std::string(key) + "=" + escape(value);
    return *this;
  }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

std::string collectionPath(const Resource& r, std::string_view ns) {
  std::string path = r.basePath();
  if (r.namespaced && !ns.empty()) path += "/namespaces/" + escape(ns);
  return path + "/" + r.plural;
}

std::string objectPath(const Resource& r, std::string_view ns, std::string_view name) {
  return collectionPath(r, ns) + "/" + escape(name);
}

bool retryableStatus(int status) {
  return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

std::string metaString(const Json& object, const char* field) {
  return json::stringAt(object, {"metadata", field});
}

// List items come without kind and apiVersion; give them the list's, minus "List".
void fillItemKinds(Json& list) {
  std::string kind = json::getString(list, "kind").value_or("");
  std::string api_version = json::getString(list, "apiVersion").value_or("");
  if (kind.size() > 4 && kind.compare(kind.size() - 4, 4, "List") == 0) {
    kind.resize(kind.size() - 4);
  } else {
    kind.clear();
  }
  Json* items = list.contains("items") ? &list["items"] : nullptr;
  if (items == nullptr || !items->is_array()) return;
  for (Json& item : *items) {
    if (!item.is_object()) continue;
    if (!kind.empty() && !item.contains("kind")) item["kind"] = kind;
    if (!api_version.empty() && !item.contains("apiVersion")) item["apiVersion"] = api_version;
  }
}

}  // namespace

// One API call: what to send, how to name it, and whether it may be sent again.
struct Client::Call {
  Call(std::string v, const Resource& r, std::string m, std::string t)
      : verb(std::move(v)), resource(&r), method(std::move(m)), target(std::move(t)) {}
  std::string verb;  // for metrics: get, list, create, update, patch, delete, watch
  const Resource* resource = nullptr;
  std::string method;
  std::string target;
  std::string body;
  std::string content_type = "application/json";
  bool repeatable = false;  // safe to send again after a transient failure
  std::string what;         // "get configmaps ns/name", for messages
};

std::string Resource::basePath() const {
  return group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
}

std::string Resource::displayName() const { return group.empty() ? plural : plural + "." + group; }

std::string objectKey(const Json& object) {
  std::string ns = metaString(object, "namespace");
  std::string name = metaString(object, "name");
  return ns.empty() ? name : ns + "/" + name;
}

std::pair<std::string, std::string> splitKey(std::string_view key) {
  size_t slash = key.find('/');
  if (slash == std::string_view::npos) return {std::string(), std::string(key)};
  return {std::string(key.substr(0, slash)), std::string(key.substr(slash + 1))};
}

std::string formatMicroTime(TimePoint t) {
  auto micros = std::chrono::time_point_cast<std::chrono::microseconds>(t);
  std::time_t secs = std::chrono::system_clock::to_time_t(
      std::chrono::time_point_cast<std::chrono::seconds>(micros));
  if (micros < std::chrono::time_point_cast<std::chrono::seconds>(micros)) --secs;
  int64_t frac = (micros.time_since_epoch().count() % 1000000 + 1000000) % 1000000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(frac));
  return buf;
}

Error errorFromResponse(const net::Response& response, std::string_view what) {
  Error error;
  error.http_status = response.status;
  error.kind = net::errorKindForStatus(response.status);
  std::string detail = "HTTP " + std::to_string(response.status);
  auto body = json::parse(response.body, "an error answer");
  if (body && body->is_object() && json::getString(*body, "kind") == "Status") {
    if (auto message = json::getString(*body, "message"); message && !message->empty()) {
      detail = *message;
    }
    error.code = json::getString(*body, "reason").value_or("");
    const Json* secs = json::at(*body, {"details", "retryAfterSeconds"});
    if (secs != nullptr && secs->is_number_integer() && secs->get<int64_t>() > 0) {
      error.retry_after = std::chrono::seconds(secs->get<int64_t>());
    }
  }
  if (auto header = response.header("retry-after"); !header.empty()) {
    if (auto after = net::parseRetryAfter(header, std::chrono::system_clock::now())) {
      error.retry_after = after;
    }
  }
  error.message = std::string(what) + ": " + detail;
  return error;
}

Client::Client(RestConfig config, ClientOptions options)
    : config_(std::move(config)), options_(options) {}
Client::~Client() = default;

Result<std::unique_ptr<Client>> Client::create(RestConfig config, ClientOptions options) {
  std::unique_ptr<Client> client(new Client(std::move(config), options));
  const Clock& clock = options.clock != nullptr ? *options.clock : client->system_clock_;
  client->limiter_ =
      std::make_unique<TokenBucket>(client->config_.qps, client->config_.burst, clock);
  net::ClientConfig transport = client->config_.toClientConfig();
  auto http = net::HttpClient::create(transport);
  if (!http) return http.error();
  client->http_ = std::move(http).value();
  transport.idle_timeout = std::max(transport.idle_timeout, options.watch_idle_timeout);
  auto watch_http = net::HttpClient::create(transport);
  if (!watch_http) return watch_http.error();
  client->watch_http_ = std::move(watch_http).value();
  return client;
}

Result<net::Request> Client::buildRequest(const Call& call) const {
  net::Request request;
  request.method = call.method;
  request.target = call.target;
  request.body = call.body;
  request.content_type = call.content_type;
  request.idempotent = call.method != "POST" && call.method != "PATCH";
  auto authorization = config_.authorization();
  if (!authorization) return authorization.error();
  if (authorization->has_value()) {
    request.headers.emplace_back("Authorization", (*authorization)->reveal());
  }
  return request;
}

Result<net::Response> Client::execute(const Call& call) {
  const int attempts = call.repeatable ? std::max(1, options_.max_attempts) : 1;
  bool token_reread = false;
  for (int attempt = 1;; ++attempt) {
    limiter_->take();
    auto request = buildRequest(call);
    if (!request) return request.error();
    auto response = http_->send(*request);
    std::string code = response ? std::to_string(response->status) : "error";
    requestCounter().labels({call.verb, call.resource->displayName(), code}).inc();

    // A rotated token may be newer than the copy in hand; a 401 means nothing was executed,
    // so any request may be sent once more with the file read again.
    if (response && response->status == 401 && config_.token_file && !token_reread) {
      token_reread = true;
      config_.token_file->invalidate();
      --attempt;
      continue;
    }
    std::optional<std::chrono::milliseconds> wait;
    if (!response) {
      if (!response.error().retryable() || attempt >= attempts) {
        Error e = std::move(response).error();
        e.message = call.what + ": " + e.message;
        return e;
      }
    } else if (!retryableStatus(response->status) || attempt >= attempts) {
      return response;
    } else {
      wait = errorFromResponse(*response, call.what).retry_after;
    }
    auto delay = wait
                     ? std::min(*wait, options_.max_retry_after)
                     : exponentialBackoff(attempt - 1, options_.backoff_base, options_.backoff_cap);
    log::debug("retrying kube request", {{"request", call.what},
                                         {"code", code},
                                         {"delay_ms", static_cast<int64_t>(delay.count())}});
    std::this_thread::sleep_for(delay);
  }
}

Result<Json> Client::executeJson(const Call& call) {
  auto response = execute(call);
  if (!response) return response.error();
  if (response->status < 200 || response->status > 299) {
    return errorFromResponse(*response, call.what);
  }
  auto body = json::parse(response->body, call.what + " answer");
  if (!body) return body.error();
  return std::move(body).value();
}

Result<Json> Client::get(const Resource& r, std::string_view ns, std::string_view name) {
  if (name.empty()) return makeError(ErrorKind::kInvalid, "get " + r.displayName() + ": no name");
  Call call("get", r, "GET", objectPath(r, ns, name));
  call.what = "get " + r.displayName() + " " + std::string(ns) + "/" + std::string(name);
  call.repeatable = true;
  return executeJson(call);
}

Result<ObjectList> Client::list(const Resource& r, std::string_view ns,
                                const ListOptions& options) {
  Query q;
  q.add("labelSelector", options.label_selector)
      .add("fieldSelector", options.field_selector)
      .add("limit", options.limit > 0 ? std::to_string(options.limit) : "")
      .add("continue", options.continue_token)
      .add("resourceVersion", options.resource_version);
  Call call("list", r, "GET", collectionPath(r, ns) + q.text());
  call.what = "list " + r.displayName() + (ns.empty() ? "" : " in " + std::string(ns));
  call.repeatable = true;
  auto body = executeJson(call);
  if (!body) return body.error();
  fillItemKinds(*body);
  ObjectList out;
  out.resource_version = metaString(*body, "resourceVersion");
  out.continue_token = metaString(*body, "continue");
  if (auto it = body->find("items"); it != body->end() && it->is_array()) {
    out.items.reserve(it->size());
    for (Json& item : *it) out.items.push_back(std::move(item));
  }
  return out;
}

Result<ObjectList> Client::listAll(const Resource& r, std::string_view ns, ListOptions options) {
  ObjectList all;
  auto version = listEach(r, ns, std::move(options),
                          [&](Json&& item) { all.items.push_back(std::move(item)); });
  if (!version) return version.error();
  all.resource_version = std::move(version).value();
  return all;
}

Result<std::string> Client::listEach(const Resource& r, std::string_view ns, ListOptions options,
                                     const std::function<void(Json&& item)>& each) {
  std::string version;
  for (bool first = true;; first = false) {
    auto page = list(r, ns, options);
    if (!page) return page.error();
    if (first) version = page->resource_version;
    for (Json& item : page->items) each(std::move(item));
    if (page->continue_token.empty()) return version;
    options.continue_token = page->continue_token;
    options.resource_version.clear();  // the server refuses both together
  }
}

Result<Json> Client::create(const Resource& r, const Json& object, std::string_view ns) {
  std::string target_ns = ns.empty() ? metaString(object, "namespace") : std::string(ns);
  if (r.namespaced && target_ns.empty()) {
    return makeError(ErrorKind::kInvalid, "create " + r.displayName() + ": no namespace");
  }
  Call call("create", r, "POST", collectionPath(r, target_ns));
  call.what = "create " + r.displayName() + " " + target_ns + "/" + metaString(object, "name");
  call.body = json::dump(object);
  return executeJson(call);
}

namespace {

Result<std::pair<std::string, std::string>> namespaceAndName(const Resource& r, const Json& object,
                                                             const std::string& verb) {
  std::string ns = metaString(object, "namespace");
  std::string name = metaString(object, "name");
  if (name.empty() || (r.namespaced && ns.empty())) {
    return makeError(ErrorKind::kInvalid,
                     verb + " " + r.displayName() + ": the object has no namespace or name");
  }
  return std::pair{ns, name};
}

}  // namespace

Result<Json> Client::update(const Resource& r, const Json& object) {
  auto id = namespaceAndName(r, object, "update");
  if (!id) return id.error();
  Call call("update", r, "PUT", objectPath(r, id->first, id->second));
  call.what = "update " + r.displayName() + " " + id->first + "/" + id->second;
  call.body = json::dump(object);
  call.repeatable = !metaString(object, "resourceVersion").empty();
  return executeJson(call);
}

Result<Json> Client::updateStatus(const Resource& r, const Json& object) {
  auto id = namespaceAndName(r, object, "update status of");
  if (!id) return id.error();
  Call call("update", r, "PUT", objectPath(r, id->first, id->second) + "/status");
  call.what = "update status of " + r.displayName() + " " + id->first + "/" + id->second;
  call.body = json::dump(object);
  call.repeatable = !metaString(object, "resourceVersion").empty();
  return executeJson(call);
}

Result<Json> Client::patch(const Resource& r, std::string_view ns, std::string_view name,
                           PatchType type, const Json& patch, bool status_subresource) {
  if (name.empty()) return makeError(ErrorKind::kInvalid, "patch " + r.displayName() + ": no name");
  Call call("patch", r, "PATCH", objectPath(r, ns, name) + (status_subresource ? "/status" : ""));
  call.what = "patch " + r.displayName() + " " + std::string(ns) + "/" + std::string(name);
  call.body = json::dump(patch);
  call.content_type =
      type == PatchType::kMerge ? "application/merge-patch+json" : "application/json-patch+json";
  return executeJson(call);
}

Status Client::remove(const Resource& r, std::string_view ns, std::string_view name,
                      const DeleteOptions& options) {
  if (name.empty())
    return makeError(ErrorKind::kInvalid, "delete " + r.displayName() + ": no name");
  Json body = {{"kind", "DeleteOptions"}, {"apiVersion", "v1"}};
  if (!options.uid.empty()) body["preconditions"]["uid"] = options.uid;
  if (!options.resource_version.empty()) {
    body["preconditions"]["resourceVersion"] = options.resource_version;
  }
  if (!options.propagation_policy.empty()) body["propagationPolicy"] = options.propagation_policy;
  if (options.grace_period_seconds) body["gracePeriodSeconds"] = *options.grace_period_seconds;
  Call call("delete", r, "DELETE", objectPath(r, ns, name));
  call.what = "delete " + r.displayName() + " " + std::string(ns) + "/" + std::string(name);
  call.body = json::dump(body);
  call.repeatable = body.contains("preconditions");
  auto response = execute(call);
  if (!response) return response.error();
  if (response->status < 200 || response->status > 299) {
    return errorFromResponse(*response, call.what);
  }
  return Status::success();
}

Result<WatchEnd> Client::watch(const Resource& r, std::string_view ns, const WatchOptions& options,
                               const std::function<bool(WatchEvent&&)>& on_event,
                               net::CancelSource& cancel) {
  Query q;
  q.add("watch", "1")
      .add("resourceVersion", options.resource_version)
      .add("allowWatchBookmarks", options.bookmarks ? "true" : "")
      .add("timeoutSeconds", std::to_string(options.timeout.count()))
      .add("labelSelector", options.label_selector)
      .add("fieldSelector", options.field_selector);
  Call call("watch", r, "GET", collectionPath(r, ns) + q.text());
  call.what = "watch " + r.displayName() + (ns.empty() ? "" : " in " + std::string(ns));
  limiter_->take();
  auto request = buildRequest(call);
  if (!request) return request.error();

  std::optional<Error> failure;
  bool stopped = false;
  auto on_line = [&](std::string&& line) {
    auto event = parseWatchLine(line);
    if (!event) {
      failure = event.error();
      return false;
    }
    if (event->type == WatchEventType::kError) {
      net::Response as_response;
      as_response.status = watchErrorCode(*event);
      as_response.body = json::dump(event->object);
      failure = errorFromResponse(as_response, call.what);
      return false;
    }
    if (!on_event(std::move(event).value())) stopped = true;
    return !stopped;
  };
  auto response = watch_http_->stream(*request, on_line, cancel);
  std::string code = response ? std::to_string(response->status) : "error";
  requestCounter().labels({call.verb, r.displayName(), code}).inc();

  if (!response) {
    Error e = std::move(response).error();
    e.message = call.what + ": " + e.message;
    return e;
  }
  if (failure) return *failure;
  if (stopped || cancel.cancelled()) return WatchEnd::kStopped;
  if (response->status != 200) return errorFromResponse(*response, call.what);
  return WatchEnd::kClosed;
}

}  // namespace su::kube
