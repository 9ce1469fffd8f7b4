#include "digicert/account_manager.h"

#include <arpa/inet.h>
#include <openssl/evp.h>

#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "common/log.h"
#include "common/metrics.h"
#include "digicert/api_mapping.h"
#include "net/http_client.h"
#include "pki/digest.h"

namespace su::digicert {
namespace {

using std::chrono::milliseconds;

// The budget of one credential, shared by every client of the process that uses it. Entries
// live as long as a client holds them; a budget runs on the clock of the client that made it.
class BudgetRegistry {
 public:
  std::shared_ptr<WindowedBudget> forCredential(const std::string& digest,
                                                const std::vector<WindowedBudget::Window>& windows,
                                                const Clock& clock) {
    std::lock_guard lock(mu_);
    if (auto existing = budgets_[digest].lock()) return existing;
    auto budget = std::make_shared<WindowedBudget>(windows, clock);
    budgets_[digest] = budget;
    return budget;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::weak_ptr<WindowedBudget>> budgets_;
};

BudgetRegistry& budgetRegistry() {
  static BudgetRegistry registry;
  return registry;
}

// Identifies a credential without holding it.
std::string credentialDigest(const ClientOptions& options) {
  if (!options.client_cert_pem.empty()) return "cert:" + pki::sha256Hex(options.client_cert_pem);
  return "key:" + pki::sha256Hex(options.api_key.reveal());
}

metrics::Family<metrics::Counter>& requestCounter() {
  static auto& family = metrics::defaultRegistry().counter(
      "digicert_requests_total", "Requests sent to DigiCert ONE by operation and HTTP status",
      {"operation", "code"});
  return family;
}

std::string percentEncode(std::string_view text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

std::string withId(const std::string& path_template, const std::string& id) {
  std::string out = path_template;
  size_t at = out.find("{id}");
  if (at != std::string::npos) out.replace(at, 4, percentEncode(id));
  return out;
}

std::string pathOnly(const std::string& target) { return target.substr(0, target.find('?')); }

// Removes every copy of a credential from text that is about to leave the client.
void scrub(std::string& text, const std::string& secret) {
  if (secret.size() < 4) return;
  for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at)) {
    text.replace(at, secret.size(), "[redacted]");
  }
}

// One call of the API. `safe` calls may be sent again; the others never are.
struct Call {
  std::string operation;
  std::string method;
  std::string target;
  std::string body;
  bool safe = true;
};

class ApiAccountManager final : public AccountManager {
 public:
  ApiAccountManager(ClientOptions options, net::ClientConfig config,
                    std::unique_ptr<net::HttpClient> http, std::shared_ptr<WindowedBudget> budget,
                    const Clock& clock)
      : options_(std::move(options)),
        config_(std::move(config)),
        http_(std::move(http)),
        budget_(std::move(budget)),
        clock_(clock) {}

  Result<CreatedServiceUser> createServiceUser(const ServiceUserSpec& spec) override;
  Result<std::optional<ServiceUser>> findByFriendlyName(const std::string& name) override;
  Result<ServiceUser> getServiceUser(const std::string& id) override;
  Result<std::vector<ServiceUser>> listServiceUsers() override;
  Status updateServiceUser(const std::string& id, const ServiceUserSpec& spec) override;
  Status disableServiceUser(const std::string& id) override;
  Status enableServiceUser(const std::string& id) override;
  Status deleteServiceUser(const std::string& id) override;
  Result<ClientCertificate> requestClientCertificate(const std::string& user_id,
                                                     const std::string& csr_pem,
                                                     const std::string& name,
                                                     std::optional<Date> end_date) override;
  Result<ServiceUser> getCaller();

 private:
  using PageVisitor = std::function<bool(const std::vector<ServiceUser>&)>;

  std::string url(const std::string& path) const { return options_.compat.api_prefix + path; }
  Result<net::Response> execute(const Call& call);
  Result<net::Response> sendOnce(const Call& call);
  Status simpleCall(const Call& call);
  Status forEachPage(const PageVisitor& visit);
  milliseconds retryWait(const net::Response& response, int attempt) const;
  milliseconds backoff(int attempt) const;
  Error clean(Error error) const;
  Error lostCreate(std::string what) const;

  ClientOptions options_;
  net::ClientConfig config_;
  std::unique_ptr<net::HttpClient> http_;
  std::shared_ptr<WindowedBudget> budget_;
  const Clock& clock_;
};

Error ApiAccountManager::clean(Error error) const {
  scrub(error.message, options_.api_key.reveal());
  scrub(error.code, options_.api_key.reveal());
  return error;
}

Error ApiAccountManager::lostCreate(std::string what) const {
  return makeError(ErrorKind::kUnknownOutcome,
                   "create " + what + "; the user may exist: look it up by friendly name");
}

milliseconds ApiAccountManager::backoff(int attempt) const {
  return exponentialBackoff(attempt - 1, options_.backoff_base, options_.backoff_cap);
}

milliseconds ApiAccountManager::retryWait(const net::Response& response, int attempt) const {
  auto header = net::parseRetryAfter(response.header("retry-after"), clock_.now());
  return header ? *header : backoff(attempt);
}

Result<net::Response> ApiAccountManager::sendOnce(const Call& call) {
  net::Request request;
  request.method = call.method;
  request.target = call.target;
  request.body = call.body;
  request.idempotent = call.safe;
  if (options_.client_cert_pem.empty()) {
    request.headers.emplace_back("x-api-key", options_.api_key.reveal());
  }
  if (call.safe) return http_->send(request);
  // NB: cpprestsdk silently sends a request again when a pooled connection turns out dead,
  // POST included. A call that must never be repeated gets a connection of its own.
  auto fresh = net::HttpClient::create(config_);
  if (!fresh) return fresh.error();
  return fresh.value()->send(request);
}

Result<net::Response> ApiAccountManager::execute(const Call& call) {
  for (int attempt = 1;; ++attempt) {
    budget_->take();
    auto started = std::chrono::steady_clock::now();
    auto sent = sendOnce(call);
    bool last = !call.safe || attempt >= options_.max_attempts;
    auto elapsed =
        std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - started);

    if (!sent) {
      requestCounter().labels({call.operation, "transport"}).inc();
      log::debug("digicert call failed", {{"operation", call.operation},
                                          {"path", pathOnly(call.target)},
                                          {"attempt", attempt},
                                          {"error", sent.error().message}});
      if (last || !sent.error().retryable()) return clean(std::move(sent).error());
      std::this_thread::sleep_for(backoff(attempt));
      continue;
    }

    net::Response& response = sent.value();
    requestCounter().labels({call.operation, std::to_string(response.status)}).inc();
    log::debug("digicert call", {{"operation", call.operation},
                                 {"method", call.method},
                                 {"path", pathOnly(call.target)},
                                 {"status", response.status},
                                 {"attempt", attempt},
                                 {"duration_ms", static_cast<int64_t>(elapsed.count())}});
    if (response.status >= 200 && response.status < 300) return std::move(response);

    if (response.status == 429 || response.status == 503) {
      milliseconds wait = retryWait(response, attempt);
      budget_->pauseUntil(clock_.now() + wait);
      if (last || wait > options_.max_retry_after_wait) {
        return clean(mapping::errorFromResponse(call.operation, response.status, response.body,
                                                options_.compat, wait));
      }
      log::warn("digicert asked to wait", {{"operation", call.operation},
                                           {"status", response.status},
                                           {"wait_ms", static_cast<int64_t>(wait.count())}});
      continue;  // the paused budget holds the next attempt back
    }
    if (response.status >= 500 && !call.safe) {
      return lostCreate("answered " + std::to_string(response.status));
    }
    if (response.status >= 500 && !last) {
      log::warn("digicert server error, retrying",
                {{"operation", call.operation}, {"status", response.status}});
      std::this_thread::sleep_for(backoff(attempt));
      continue;
    }
    return clean(mapping::errorFromResponse(call.operation, response.status, response.body,
                                            options_.compat, std::nullopt));
  }
}

Status ApiAccountManager::simpleCall(const Call& call) {
  auto response = execute(call);
  if (!response) return std::move(response).error();
  return Status::success();
}

Result<CreatedServiceUser> ApiAccountManager::createServiceUser(const ServiceUserSpec& spec) {
  Call call{"create", "POST", url(options_.compat.user_path),
            json::dump(mapping::createBody(spec, options_.compat)), false};
  auto response = execute(call);
  if (!response) {
    if (response.error().kind == ErrorKind::kUnknownOutcome) {
      return lostCreate("got no answer (" + response.error().message + ")");
    }
    return std::move(response).error();
  }
  auto created = mapping::parseCreated(response->body, options_.compat);
  if (!created) return lostCreate("answer could not be read (" + created.error().message + ")");
  log::info("digicert service user created",
            {{"name", created->user.friendly_name}, {"id", created->user.id}});
  return created;
}

Result<ServiceUser> ApiAccountManager::getServiceUser(const std::string& id) {
  if (id.empty()) return makeError(ErrorKind::kInvalid, "a service user id is empty");
  auto response =
      execute({"get", "GET", url(options_.compat.user_path + "/" + percentEncode(id)), "", true});
  if (!response) return std::move(response).error();
  return mapping::parseUser(response->body, options_.compat);
}

Result<ServiceUser> ApiAccountManager::getCaller() {
  auto response = execute({"me", "GET", url(options_.compat.me_path), "", true});
  if (!response) return std::move(response).error();
  return mapping::parseUser(response->body, options_.compat);
}

// Pages until an empty page, the announced total, or a page with nothing new. A short page is not
// taken as the end: a server may cap the page size below what was asked for.
Status ApiAccountManager::forEachPage(const PageVisitor& visit) {
  const ApiCompatibility& c = options_.compat;
  std::set<std::string> seen;
  int64_t offset = 0;
  for (int page = 0; page < c.max_pages; ++page) {
    std::string target = url(c.user_path) + "?" + c.list_filter +
                         (c.list_filter.empty() ? "" : "&") + c.offset_param + "=" +
                         std::to_string(offset) + "&" + c.limit_param + "=" +
                         std::to_string(c.page_size);
    auto response = execute({"list", "GET", target, "", true});
    if (!response) return std::move(response).error();
    auto parsed = mapping::parseUserPage(response->body, c);
    if (!parsed) return std::move(parsed).error();

    size_t fresh = 0;
    for (const auto& user : parsed->users) fresh += seen.insert(user.id).second ? 1 : 0;
    if (fresh > 0 && !visit(parsed->users)) return Status::success();
    offset += static_cast<int64_t>(parsed->users.size());
    bool complete = parsed->total && offset >= *parsed->total;
    if (fresh == 0 || complete) return Status::success();
  }
  return makeError(ErrorKind::kInternal, "the user list has more pages than allowed");
}

Result<std::vector<ServiceUser>> ApiAccountManager::listServiceUsers() {
  std::vector<ServiceUser> users;
  std::set<std::string> ids;
  Status status = forEachPage([&](const std::vector<ServiceUser>& page) {
    for (const auto& user : page) {
      if (ids.insert(user.id).second) users.push_back(user);
    }
    return true;
  });
  if (!status) return status.error();
  return users;
}

Result<std::optional<ServiceUser>> ApiAccountManager::findByFriendlyName(const std::string& name) {
  std::optional<ServiceUser> found;
  Status status = forEachPage([&](const std::vector<ServiceUser>& page) {
    for (const auto& user : page) {
      if (user.friendly_name == name) found = user;
    }
    return !found.has_value();
  });
  if (!status) return status.error();
  return found;
}

Status ApiAccountManager::updateServiceUser(const std::string& id, const ServiceUserSpec& spec) {
  if (id.empty()) return makeError(ErrorKind::kInvalid, "a service user id is empty");
  const ApiCompatibility& c = options_.compat;
  return simpleCall({"update", c.update_method, url(withId(c.update_path, id)),
                     json::dump(mapping::updateBody(spec, c)), true});
}

Status ApiAccountManager::disableServiceUser(const std::string& id) {
  if (id.empty()) return makeError(ErrorKind::kInvalid, "a service user id is empty");
  const ApiCompatibility& c = options_.compat;
  return simpleCall({"disable", c.disable_method, url(withId(c.disable_path, id)), "", true});
}

Status ApiAccountManager::enableServiceUser(const std::string& id) {
  if (id.empty()) return makeError(ErrorKind::kInvalid, "a service user id is empty");
  const ApiCompatibility& c = options_.compat;
  return simpleCall({"enable", c.enable_method, url(withId(c.enable_path, id)), "", true});
}

Status ApiAccountManager::deleteServiceUser(const std::string& id) {
  if (id.empty()) return makeError(ErrorKind::kInvalid, "a service user id is empty");
  const ApiCompatibility& c = options_.compat;
  return simpleCall({"delete", c.delete_method, url(withId(c.delete_path, id)), "", true});
}

Result<ClientCertificate> ApiAccountManager::requestClientCertificate(
    const std::string& user_id, const std::string& csr_pem, const std::string& name,
    std::optional<Date> end_date) {
  if (csr_pem.find("PRIVATE KEY") != std::string::npos) {
    return makeError(ErrorKind::kInvalid, "refusing to send private key material as a CSR");
  }
  const ApiCompatibility& c = options_.compat;
  std::string body =
      json::dump(mapping::clientCertificateBody(user_id, csr_pem, name, end_date, c));
  auto response = execute({"client_certificate", "POST", url(c.client_cert_path), body, false});
  if (!response) return std::move(response).error();
  return mapping::parseClientCertificate(response->body, c);
}

Result<std::unique_ptr<ApiAccountManager>> makeClient(const ClientOptions& options,
                                                      const Clock& clock) {
  if (options.base_url.empty()) return makeError(ErrorKind::kInvalid, "no DigiCert ONE URL set");
  if (options.api_key.empty() && options.client_cert_pem.empty()) {
    return makeError(ErrorKind::kInvalid, "neither an API key nor a client certificate is set");
  }
  if (options.compat.page_size <= 0 || options.max_attempts <= 0) {
    return makeError(ErrorKind::kInvalid, "page size and attempts must be positive");
  }
  net::ClientConfig config;
  config.base_url = options.base_url;
  config.tls.ca_pem = options.ca_pem;
  config.tls.client_cert_pem = options.client_cert_pem;
  config.tls.client_key_pem = options.client_key_pem.reveal();
  config.idle_timeout = options.timeout;
  config.user_agent = options.user_agent;
  auto http = net::HttpClient::create(config);
  if (!http) return http.error();
  auto budget = budgetRegistry().forCredential(credentialDigest(options), options.budget, clock);
  return std::make_unique<ApiAccountManager>(options, std::move(config), std::move(http).value(),
                                             std::move(budget), clock);
}

bool isIpLiteral(const std::string& host) {
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace

const char* userStatusName(UserStatus status) {
  switch (status) {
    case UserStatus::kActive:
      return "ACTIVE";
    case UserStatus::kDisabled:
      return "DISABLED";
    case UserStatus::kExpired:
      return "EXPIRED";
    case UserStatus::kDeleted:
      return "DELETED";
    case UserStatus::kUnknown:
      break;
  }
  return "UNKNOWN";
}

Result<std::unique_ptr<AccountManager>> makeAccountManager(const ClientOptions& options,
                                                           const Clock& clock) {
  auto client = makeClient(options, clock);
  if (!client) return client.error();
  return std::unique_ptr<AccountManager>(std::move(client).value());
}

Result<ServiceUser> fetchCaller(const ClientOptions& options, const Clock& clock) {
  auto client = makeClient(options, clock);
  if (!client) return client.error();
  return client.value()->getCaller();
}

std::string clientAuthUrl(const std::string& base_url) {
  size_t scheme_end = base_url.find("://");
  size_t host_start = scheme_end == std::string::npos ? 0 : scheme_end + 3;
  size_t host_end = base_url.find_first_of(":/", host_start);
  if (base_url.compare(host_start, 1, "[") == 0) return base_url;  // IPv6 literal
  std::string host = base_url.substr(
      host_start, host_end == std::string::npos ? std::string::npos : host_end - host_start);
  if (host.empty() || host == "localhost" || isIpLiteral(host) ||
      host.rfind("clientauth.", 0) == 0) {
    return base_url;
  }
  return base_url.substr(0, host_start) + "clientauth." + base_url.substr(host_start);
}

std::string regionBaseUrl(Region region, bool demo) {
  std::string host;
  switch (region) {
    case Region::kUnitedStates:
      host = "one.digicert.com";
      break;
    case Region::kSwitzerland:
      host = "one.ch.digicert.com";
      break;
    case Region::kNetherlands:
      host = "one.nl.digicert.com";
      break;
    case Region::kJapan:
      host = "one.digicert.co.jp";
      break;
  }
  return "https://" + std::string(demo ? "demo." : "") + host;
}

}  // namespace su::digicert
