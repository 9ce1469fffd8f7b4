#include "simulator.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <ctime>

#include "common/log.h"
#include "common/time_format.h"
#include "pki/csr.h"
#include "pki/digest.h"
#include "pki/key.h"
#include "pki/pem.h"

namespace su::sim {
namespace {

using json::Json;

constexpr size_t kMaxAudit = 5000;
constexpr const char* kAccountManager = "Account Manager";

std::string hex(const unsigned char* data, size_t size) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < size; ++i) {
    out += kHex[data[i] >> 4];
    out += kHex[data[i] & 0xf];
  }
  return out;
}

std::string randomHex(size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  RAND_bytes(buf.data(), static_cast<int>(buf.size()));
  return hex(buf.data(), buf.size());
}

std::string uuid() {
  unsigned char b[16];
  RAND_bytes(b, sizeof b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  std::string h = hex(b, sizeof b);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20);
}

bool validFriendlyName(const std::string& name, int max_length) {
  if (name.empty() || static_cast<int>(name.size()) > max_length) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == ' ' || c == '-' || c == '_';
  });
}

bool validEmail(const std::string& email) {
  size_t at = email.find('@');
  return at != std::string::npos && at > 0 && email.find('.', at) != std::string::npos &&
         email.find(' ') == std::string::npos;
}

// "/user/{id}" against "/user/abc": true with id "abc".
bool matchPath(const std::string& pattern, const std::string& path, std::string* id) {
  size_t p = 0, q = 0;
  while (p < pattern.size() && q < path.size()) {
    if (pattern.compare(p, 4, "{id}") == 0) {
      size_t end = path.find('/', q);
      if (end == q) return false;
      *id = path.substr(q, end == std::string::npos ? std::string::npos : end - q);
      q = end == std::string::npos ? path.size() : end;
      p += 4;
      continue;
    }
    if (pattern[p] != path[q]) return false;
    ++p;
    ++q;
  }
  return p == pattern.size() && q == path.size();
}

std::string httpDate(TimePoint t) {
  time_t tt = std::chrono::system_clock::to_time_t(t);
  struct tm tm {};
  gmtime_r(&tt, &tm);
  char buf[64];
  strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

SimResponse jsonAnswer(int status, const Json& body) {
  SimResponse r;
  r.status = status;
  r.body = json::dump(body);
  return r;
}

std::vector<std::string> stringList(const Json* array, bool* ok) {
  std::vector<std::string> out;
  if (array == nullptr || !array->is_array()) {
    *ok = false;
    return out;
  }
  for (const Json& item : *array) {
    if (item.is_string()) {
      out.push_back(item.get<std::string>());
    } else if (auto id = json::getString(item, "id")) {
      out.push_back(*id);
    } else if (auto name = json::getString(item, "name")) {
      out.push_back(*name);
    } else {
      *ok = false;
    }
  }
  return out;
}

size_t queryNumber(const SimRequest& r, const std::string& key, size_t fallback) {
  auto it = r.query.find(key);
  if (it == r.query.end()) return fallback;
  try {
    long long n = std::stoll(it->second);
    return n < 0 ? fallback : static_cast<size_t>(n);
  } catch (const std::exception&) {
    return fallback;
  }
}

}  // namespace

Simulator::Simulator(SimConfig config, SimState state, TlsMaterial tls, std::string state_dir)
    : config_(std::move(config)),
      state_(std::move(state)),
      tls_(std::move(tls)),
      state_dir_(std::move(state_dir)),
      clock_(std::chrono::seconds(state_.clock_offset_seconds)) {
  if (config_.api_keys.empty() && state_.generated_api_keys.empty()) {
    state_.generated_api_keys.push_back("sim-" + randomHex(24));
    persist();
    flush();  // the key is printed next; a restart must still know it
  }
  saver_ = std::thread([this] { saveLoop(); });
}

Simulator::~Simulator() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  save_cv_.notify_all();
  if (saver_.joinable()) saver_.join();
  flush();
}

std::vector<std::string> Simulator::adminKeys() const {
  return config_.api_keys.empty() ? state_.generated_api_keys : config_.api_keys;
}

void Simulator::persist() {
  state_.clock_offset_seconds =
      std::chrono::duration_cast<std::chrono::seconds>(clock_.offset()).count();
  dirty_ = true;
}

void Simulator::flush() {
  std::lock_guard saving(save_mu_);
  SimState copy;
  {
    std::lock_guard lock(mu_);
    if (!dirty_) return;
    copy = state_;
    dirty_ = false;
  }
  Status s = saveState(state_dir_, copy);
  if (!s) log::error("cannot save state", {{"error", s.error().message}});
}

void Simulator::saveLoop() {
  constexpr auto kSaveInterval = std::chrono::milliseconds(200);
  std::unique_lock lock(mu_);
  while (!stopping_) {
    save_cv_.wait_for(lock, kSaveInterval, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    flush();
    lock.lock();
  }
}

// ---- routing -------------------------------------------------------------------------------

std::vector<Simulator::Route> Simulator::routes() const {
  const SimConfig& c = config_;
  return {
      {"GET", "/user/me", &Simulator::getMe, true},
      {"GET", "/user", &Simulator::listUsers, false},
      {"POST", "/user", &Simulator::createUser, false},
      {c.disable_method, c.disable_path, &Simulator::disableUser, false},
      {c.enable_method, c.enable_path, &Simulator::enableUser, false},
      {c.update_method, c.update_path, &Simulator::updateUser, false},
      {c.delete_method, c.delete_path, &Simulator::deleteUser, false},
      {"GET", "/user/{id}", &Simulator::getUser, false},
      {"POST", c.client_cert_path, &Simulator::requestCertificate, true},
      {"PUT", c.client_cert_path + "/{id}/enable", &Simulator::enableCertificate, false},
      {"PUT", c.client_cert_path + "/{id}/disable", &Simulator::disableCertificate, false},
      {"GET", "/audit-log", &Simulator::auditLog, false},
  };
}

SimResponse Simulator::handleApi(const SimRequest& request) {
  std::lock_guard lock(mu_);
  if (request.body.find("PRIVATE KEY") != std::string::npos) private_key_seen_ = true;

  int latency_ms = 0;
  std::optional<SimResponse> fault = injectedFault(request, &latency_ms);
  std::string action = actionOf(request);
  calls_[action]++;
  std::string resource;
  Caller caller;
  SimResponse response;
  if (fault) {
    response = *fault;
  } else if (auto refused = authenticate(request, &caller)) {
    response = *refused;
  } else {
    response = dispatch(request, caller, &resource);
  }
  audit(caller, action, resource, response.drop ? 0 : response.status);
  response.latency_ms += latency_ms;
  log::info("api call", {{"action", action},
                         {"status", response.status},
                         {"caller", caller.name},
                         {"dropped", response.drop ? "true" : "false"}});
  return response;
}

std::string Simulator::actionOf(const SimRequest& request) const {
  const std::string& prefix = config_.api_prefix;
  if (request.path.compare(0, prefix.size(), prefix) == 0) {
    std::string rest = request.path.substr(prefix.size());
    for (const Route& route : routes()) {
      std::string id;
      if (route.method == request.method && matchPath(route.path, rest, &id)) {
        return request.method + " " + prefix + route.path;
      }
    }
  }
  return request.method + " " + request.path;
}

SimResponse Simulator::dispatch(const SimRequest& request, const Caller& caller,
                                std::string* resource) {
  const std::string& prefix = config_.api_prefix;
  if (request.path.compare(0, prefix.size(), prefix) != 0) {
    return apiError(404, "resource_not_found", "no such resource");
  }
  std::string rest = request.path.substr(prefix.size());
  for (const Route& route : routes()) {
    std::string id;
    if (route.method != request.method || !matchPath(route.path, rest, &id)) continue;
    *resource = id;
    if (!caller.admin && !route.service_user_allowed) {
      SimUser* self = findUser(caller.user_id);
      bool manages = self != nullptr &&
                     std::any_of(self->applications.begin(), self->applications.end(),
                                 [](const auto& app) { return app.first == kAccountManager; });
      if (!manages) return apiError(403, "access_denied", "the caller may not do this");
    }
    return (this->*route.handler)(request, caller, id);
  }
  return apiError(404, "resource_not_found", "no such resource");
}

std::optional<SimResponse> Simulator::injectedFault(const SimRequest& request, int* latency_ms) {
  std::optional<SimResponse> out;
  for (FaultRule& rule : faults_) {
    if (rule.remaining == 0 || rule.kind == "lose_create") continue;
    if (!rule.method.empty() && rule.method != request.method) continue;
    if (request.path.compare(0, rule.path_prefix.size(), rule.path_prefix) != 0) continue;
    if (rule.kind == "latency") {
      *latency_ms += rule.latency_ms;
    } else if (out) {
      continue;  // one answer per request; later rules wait for later requests
    } else if (rule.kind == "throttle") {
      out = apiError(rule.status != 0 ? rule.status : 429, "too_many_requests", "slow down");
      std::string value = rule.retry_after_as_date
                              ? httpDate(std::chrono::system_clock::now() +
                                         std::chrono::seconds(rule.retry_after_seconds))
                              : std::to_string(rule.retry_after_seconds);
      out->headers.emplace_back("Retry-After", value);
    } else if (rule.kind == "error") {
      out = apiError(rule.status != 0 ? rule.status : 500, "internal_error", "injected failure");
    } else if (rule.kind == "drop") {
      out = SimResponse{};
      out->drop = true;
    } else {
      continue;
    }
    if (rule.remaining > 0) --rule.remaining;
  }
  std::erase_if(faults_, [](const FaultRule& r) { return r.remaining == 0; });
  return out;
}

bool Simulator::takeLoseCreate() {
  for (FaultRule& rule : faults_) {
    if (rule.kind != "lose_create" || rule.remaining == 0) continue;
    if (rule.remaining > 0) --rule.remaining;
    std::erase_if(faults_, [](const FaultRule& r) { return r.remaining == 0; });
    return true;
  }
  return false;
}

std::optional<SimResponse> Simulator::authenticate(const SimRequest& request, Caller* caller) {
  if (request.client_auth) {
    *caller = {true, "", "clientauth administrator"};
    return std::nullopt;
  }
  auto header = request.headers.find("x-api-key");
  if (header == request.headers.end() || header->second.empty()) {
    return apiError(401, "invalid_api_key", "an API key is required");
  }
  for (const auto& key : adminKeys()) {
    if (key == header->second) {
      *caller = {true, "", "administrator"};
      return std::nullopt;
    }
  }
  SimUser* user = findByTokenDigest(pki::sha256Hex(header->second));
  if (user == nullptr || effectiveStatus(*user) != "ACTIVE") {
    return apiError(401, "invalid_api_key", "the API key is not valid");
  }
  *caller = {false, user->id, user->friendly_name};
  return std::nullopt;
}

// ---- users ---------------------------------------------------------------------------------

SimUser* Simulator::findUser(const std::string& id) {
  for (SimUser& u : state_.users) {
    if (u.id == id && u.status != "DELETED") return &u;
  }
  return nullptr;
}

SimUser* Simulator::findByTokenDigest(const std::string& digest) {
  for (SimUser& u : state_.users) {
    if (u.token_sha256 == digest) return &u;
  }
  return nullptr;
}

bool Simulator::expired(const SimUser& user) const {
  if (!user.end_date) return false;
  auto date = parseDate(*user.end_date);
  return date && floorSeconds(clock_.now()) > endOfDay(*date);
}

std::string Simulator::effectiveStatus(const SimUser& user) const {
  if (user.status == "DELETED") return "DELETED";
  if (expired(user)) return "EXPIRED";
  return user.status;
}

Json Simulator::userJson(const SimUser& u) const {
  Json apps = Json::array();
  for (const auto& [name, roles] : u.applications) {
    apps.push_back({{"id", pki::sha256Hex(name).substr(0, 8)},
                    {"name", name},
                    {config_.roles_field, roles},
                    {"permissions", Json::array()}});
  }
  return {{"id", u.id},
          {"friendly_name", u.friendly_name},
          {"description", u.description},
          {"email", u.email},
          {"status", effectiveStatus(u)},
          {"user_type", "service"},
          {"locale", "en_US"},
          {"primary_account_id", u.accounts.empty() ? "" : u.accounts.front()},
          {"access_scope", "account"},
          {"created_at", u.created_at},
          {"created_by", u.created_by},
          {config_.end_date_field, u.end_date ? Json(*u.end_date) : Json(nullptr)},
          {config_.accounts_field, u.accounts},
          {config_.applications_field, apps}};
}

SimResponse Simulator::userAnswer(int status, const SimUser& user, const Json* extra) const {
  Json object = userJson(user);
  if (extra != nullptr) object.update(*extra);
  if (!config_.user_wrapper.empty()) object = Json{{config_.user_wrapper, object}};
  return jsonAnswer(status, object);
}

SimResponse Simulator::apiError(int status, const std::string& code,
                                const std::string& message) const {
  Json detail = {{"code", code}, {"message", message}};
  if (config_.error_shape == "array") return jsonAnswer(status, {{"errors", {detail}}});
  return jsonAnswer(status, {{"error", detail}});
}

SimResponse Simulator::listAnswer(Json items, size_t total, size_t offset, size_t limit) const {
  if (config_.list_shape == "bare") return jsonAnswer(200, items);
  return jsonAnswer(200, {{config_.list_key, std::move(items)},
                          {"total", total},
                          {"offset", offset},
                          {"limit", limit}});
}

std::optional<SimResponse> Simulator::readUserBody(const Json& body, SimUser* user,
                                                   const std::string& self_id) {
  auto bad = [this](const std::string& m) { return apiError(400, "invalid_request", m); };
  if (!body.is_object()) return bad("the body must be a JSON object");
  user->friendly_name = json::getString(body, "friendly_name").value_or("");
  if (!validFriendlyName(user->friendly_name, config_.max_name_length)) {
    return bad("friendly_name must be 1-" + std::to_string(config_.max_name_length) +
               " letters, digits, spaces, dashes or underscores");
  }
  user->description = json::getString(body, "description").value_or("");
  user->email = json::getString(body, "email").value_or("");
  if (!validEmail(user->email)) return bad("email must be an e-mail address");

  user->end_date.reset();
  if (const Json* end = json::find(body, config_.end_date_field)) {
    auto date = end->is_string() ? parseDate(end->get<std::string>()) : std::nullopt;
    if (!date) return bad(config_.end_date_field + " must be a date YYYY-MM-DD");
    if (*date < dateOf(clock_.now())) return bad(config_.end_date_field + " is in the past");
    user->end_date = formatDate(*date);
  }

  bool ok = true;
  user->accounts = stringList(json::find(body, config_.accounts_field), &ok);
  if (!ok || user->accounts.empty()) return bad(config_.accounts_field + " needs an account");
  for (const auto& account : user->accounts) {
    if (!config_.accounts.empty() && std::find(config_.accounts.begin(), config_.accounts.end(),
                                               account) == config_.accounts.end()) {
      return bad("unknown account " + account);
    }
  }

  user->applications.clear();
  const Json* apps = json::find(body, config_.applications_field);
  if (apps == nullptr || !apps->is_array() || apps->empty()) {
    return bad(config_.applications_field + " needs a manager");
  }
  for (const Json& app : *apps) {
    std::string name = json::getString(app, "name").value_or("");
    if (std::find(config_.managers.begin(), config_.managers.end(), name) ==
        config_.managers.end()) {
      return bad("unknown manager " + name);
    }
    std::vector<std::string> roles = stringList(json::find(app, config_.roles_field), &ok);
    if (!ok || roles.empty()) return bad("manager " + name + " needs roles");
    user->applications.emplace_back(name, roles);
  }

  for (const SimUser& other : state_.users) {
    if (other.status != "DELETED" && other.id != self_id &&
        other.friendly_name == user->friendly_name) {
      return apiError(config_.duplicate_status, "duplicate_error",
                      "a service user with this friendly name exists");
    }
  }
  return std::nullopt;
}

SimResponse Simulator::createUser(const SimRequest& r, const Caller& c, const std::string&) {
  auto body = json::parse(r.body, "the request");
  if (!body) return apiError(400, "invalid_request", "the body is not JSON");
  auto type = json::getString(*body, "user_type");
  if (type && *type != "service")
    return apiError(400, "invalid_request", "user_type must be service");

  SimUser user;
  if (auto refused = readUserBody(*body, &user, "")) return *refused;
  std::string token = randomHex(32);
  user.id = uuid();
  user.created_at = formatRfc3339(clock_.now());
  user.created_by = c.name;
  user.token_sha256 = pki::sha256Hex(token);
  state_.users.push_back(user);
  ++creates_committed_;
  persist();

  Json token_value = config_.token_shape == "object"
                         ? Json{{"id", uuid()}, {config_.token_inner_field, token}}
                         : Json(token);
  Json extra = {{config_.token_field, token_value}};
  SimResponse answer = userAnswer(201, user, &extra);
  if (takeLoseCreate()) {
    answer = SimResponse{};
    answer.drop = true;
  }
  return answer;
}

SimResponse Simulator::getMe(const SimRequest&, const Caller& c, const std::string&) {
  if (c.admin) {
    return jsonAnswer(200, {{"id", "00000000-0000-4000-8000-000000000001"},
                            {"friendly_name", c.name},
                            {"user_type", "standard"},
                            {"status", "ACTIVE"}});
  }
  SimUser* user = findUser(c.user_id);
  if (user == nullptr) return apiError(401, "invalid_api_key", "the API key is not valid");
  return userAnswer(200, *user);
}

SimResponse Simulator::getUser(const SimRequest&, const Caller&, const std::string& id) {
  SimUser* user = findUser(id);
  if (user == nullptr) return apiError(404, "resource_not_found", "no such user");
  return userAnswer(200, *user);
}

SimResponse Simulator::listUsers(const SimRequest& r, const Caller&, const std::string&) {
  auto type = r.query.find("user_type");
  bool service = type == r.query.end() || type->second == "service";
  size_t offset = queryNumber(r, config_.offset_param, 0);
  size_t limit = std::min<size_t>(queryNumber(r, config_.limit_param, config_.max_page_size),
                                  static_cast<size_t>(config_.max_page_size));
  std::vector<const SimUser*> live;
  for (const SimUser& u : state_.users) {
    if (service && u.status != "DELETED") live.push_back(&u);
  }
  Json items = Json::array();
  for (size_t i = offset; i < live.size() && i < offset + limit; ++i) {
    items.push_back(userJson(*live[i]));
  }
  return listAnswer(std::move(items), live.size(), offset, limit);
}

SimResponse Simulator::updateUser(const SimRequest& r, const Caller&, const std::string& id) {
  SimUser* user = findUser(id);
  if (user == nullptr) return apiError(404, "resource_not_found", "no such user");
  if (expired(*user)) return apiError(400, "invalid_request", "an expired user cannot change");
  auto body = json::parse(r.body, "the request");
  if (!body) return apiError(400, "invalid_request", "the body is not JSON");
  SimUser changed = *user;
  if (auto refused = readUserBody(*body, &changed, id)) return *refused;
  *user = changed;
  persist();
  return userAnswer(200, *user);
}

SimResponse Simulator::disableUser(const SimRequest&, const Caller&, const std::string& id) {
  SimUser* user = findUser(id);
  if (user == nullptr) return apiError(404, "resource_not_found", "no such user");
  user->status = "DISABLED";
  persist();
  return userAnswer(200, *user);
}

SimResponse Simulator::enableUser(const SimRequest&, const Caller&, const std::string& id) {
  SimUser* user = findUser(id);
  if (user == nullptr) return apiError(404, "resource_not_found", "no such user");
  if (expired(*user)) return apiError(400, "invalid_request", "an expired user cannot be enabled");
  user->status = "ACTIVE";
  persist();
  return userAnswer(200, *user);
}

SimResponse Simulator::deleteUser(const SimRequest&, const Caller&, const std::string& id) {
  SimUser* user = findUser(id);
  if (user == nullptr) return apiError(404, "resource_not_found", "no such user");
  user->status = "DELETED";
  for (SimCertificate& cert : state_.certificates) {
    if (cert.user_id == id) cert.enabled = false;
  }
  persist();
  SimResponse gone;
  gone.status = 204;
  return gone;
}

// ---- client authentication certificates ----------------------------------------------------

SimResponse Simulator::requestCertificate(const SimRequest& r, const Caller& c,
                                          const std::string&) {
  auto bad = [this](const std::string& m) { return apiError(400, "invalid_request", m); };
  if (r.body.find("PRIVATE KEY") != std::string::npos) return bad("send a CSR, not a key");
  auto body = json::parse(r.body, "the request");
  if (!body || !body->is_object()) return bad("the body is not a JSON object");
  std::string user_id = json::getString(*body, config_.client_cert_user_field).value_or("");
  if (!c.admin && !user_id.empty() && user_id != c.user_id) {
    return apiError(403, "access_denied", "a service user may only certify itself");
  }
  if (!c.admin) user_id = c.user_id;
  SimUser* user = findUser(user_id);
  if (user == nullptr) return apiError(404, "resource_not_found", "no such user");
  if (effectiveStatus(*user) != "ACTIVE") return bad("the user is not active");

  auto csr = pki::parseCsr(json::getString(*body, config_.client_cert_csr_field).value_or(""));
  if (!csr) return bad("csr must be a PEM certificate request with a valid signature");
  Date today = dateOf(clock_.now());
  std::optional<Date> end;
  if (auto text = json::getString(*body, config_.client_cert_end_date_field)) {
    end = parseDate(*text);
    if (!end || *end < today) return bad(config_.client_cert_end_date_field + " is not valid");
  }
  std::optional<Date> user_end = user->end_date ? parseDate(*user->end_date) : std::nullopt;
  if (end && user_end && *end > *user_end) {
    return bad("a certificate cannot outlive its service user");
  }
  if (!end) end = user_end ? *user_end : dateOf(clock_.now() + std::chrono::hours(24 * 365));

  auto issued = signClientCertificate(tls_, csr->get(), clock_.now() - std::chrono::minutes(5),
                                      endOfDay(*end));
  if (!issued) return apiError(500, "internal_error", "could not sign");
  SimCertificate cert{uuid(),
                      user_id,
                      json::getString(*body, config_.client_cert_name_field).value_or(""),
                      issued->serial,
                      issued->pem,
                      formatRfc3339(issued->not_before),
                      formatRfc3339(issued->not_after),
                      true};
  state_.certificates.push_back(cert);
  persist();
  return jsonAnswer(201, {{"id", cert.id},
                          {"name", cert.name},
                          {"user_id", cert.user_id},
                          {"certificate", cert.pem},
                          {"serial_number", cert.serial},
                          {"valid_from", cert.valid_from},
                          {"valid_to", cert.valid_to},
                          {"status", "ACTIVE"}});
}

SimResponse Simulator::enableCertificate(const SimRequest&, const Caller&, const std::string& id) {
  for (SimCertificate& cert : state_.certificates) {
    if (cert.id != id) continue;
    cert.enabled = true;
    persist();
    return jsonAnswer(200, {{"id", cert.id}, {"status", "ACTIVE"}});
  }
  return apiError(404, "resource_not_found", "no such certificate");
}

SimResponse Simulator::disableCertificate(const SimRequest&, const Caller&, const std::string& id) {
  for (SimCertificate& cert : state_.certificates) {
    if (cert.id != id) continue;
    cert.enabled = false;
    persist();
    return jsonAnswer(200, {{"id", cert.id}, {"status", "DISABLED"}});
  }
  return apiError(404, "resource_not_found", "no such certificate");
}

bool Simulator::acceptClientCertificate(const std::string& serial_hex) {
  std::lock_guard lock(mu_);
  for (const SimCertificate& cert : state_.certificates) {
    if (cert.serial != serial_hex || !cert.enabled) continue;
    if (cert.user_id.empty()) return true;
    SimUser* user = findUser(cert.user_id);
    return user != nullptr && effectiveStatus(*user) == "ACTIVE";
  }
  return false;
}

// ---- audit ---------------------------------------------------------------------------------

void Simulator::audit(const Caller& caller, const std::string& action, const std::string& resource,
                      int status) {
  state_.audit.push_back(
      {uuid(), formatRfc3339(clock_.now()), caller.name, action, resource, status});
  if (state_.audit.size() > kMaxAudit) state_.audit.erase(state_.audit.begin());
  // Reads change nothing but the audit trail, which the next write saves with it: rewriting the
  // whole state file on every read made large lists cost more than everything else together.
  if (action.rfind("GET ", 0) != 0) persist();
}

SimResponse Simulator::auditLog(const SimRequest& r, const Caller&, const std::string&) {
  auto filter = [&r](const char* key) {
    auto it = r.query.find(key);
    return it == r.query.end() ? std::string() : it->second;
  };
  std::string user_name = filter("user_name"), resource = filter("resource_id");
  auto from = parseRfc3339(filter("from"));
  auto to = parseRfc3339(filter("to"));
  Json items = Json::array();
  for (const AuditEntry& a : state_.audit) {
    auto when = parseRfc3339(a.timestamp);
    if (!user_name.empty() && a.user_name != user_name) continue;
    if (!resource.empty() && a.resource_id != resource) continue;
    if (when && from && *when < *from) continue;
    if (when && to && *when > *to) continue;
    items.push_back({{"id", a.id},
                     {"timestamp", a.timestamp},
                     {"user_name", a.user_name},
                     {"action", a.action},
                     {"resource_id", a.resource_id},
                     {"status", a.status}});
  }
  size_t total = items.size();
  return listAnswer(std::move(items), total, 0, total);
}

// ---- control -------------------------------------------------------------------------------

SimResponse Simulator::handleControl(const SimRequest& r) {
  if (r.method == "GET" && r.path == "/control/state") return controlState();
  if (r.path == "/control/faults" && (r.method == "POST" || r.method == "DELETE")) {
    return controlFaults(r);
  }
  if (r.path == "/control/clock" && (r.method == "POST" || r.method == "GET")) {
    return controlClock(r);
  }
  if (r.method == "POST" && r.path == "/control/reset") return controlReset();
  if (r.method == "POST" && r.path == "/control/client-certificate") {
    return controlClientCertificate(r);
  }
  return jsonAnswer(404, {{"error", "no such control endpoint"}});
}

SimResponse Simulator::controlState() {
  std::lock_guard lock(mu_);
  Json users = Json::array();
  for (const SimUser& u : state_.users) {
    Json j = userJson(u);
    j["stored_status"] = u.status;
    users.push_back(j);
  }
  Json certs = Json::array();
  for (const SimCertificate& c : state_.certificates) {
    certs.push_back({{"id", c.id},
                     {"user_id", c.user_id},
                     {"name", c.name},
                     {"serial", c.serial},
                     {"valid_to", c.valid_to},
                     {"enabled", c.enabled}});
  }
  Json faults = Json::array();
  for (const FaultRule& f : faults_)
    faults.push_back({{"kind", f.kind}, {"remaining", f.remaining}});
  return jsonAnswer(200,
                    {{"now", formatRfc3339(clock_.now())},
                     {"clock_offset_seconds",
                      std::chrono::duration_cast<std::chrono::seconds>(clock_.offset()).count()},
                     {"users", users},
                     {"client_certificates", certs},
                     {"calls", calls_},
                     {"creates_committed", creates_committed_},
                     {"private_key_material_seen", private_key_seen_},
                     {"audit_entries", state_.audit.size()},
                     {"faults", faults}});
}

SimResponse Simulator::controlFaults(const SimRequest& r) {
  std::lock_guard lock(mu_);
  if (r.method == "DELETE") {
    faults_.clear();
    return jsonAnswer(200, {{"ok", true}});
  }
  auto body = json::parse(r.body, "the fault");
  if (!body || !body->is_object()) return jsonAnswer(400, {{"error", "body must be an object"}});
  FaultRule rule;
  rule.kind = json::getString(*body, "kind").value_or("");
  static const std::vector<std::string> kKinds{"latency", "throttle", "error", "drop",
                                               "lose_create"};
  if (std::find(kKinds.begin(), kKinds.end(), rule.kind) == kKinds.end()) {
    return jsonAnswer(400,
                      {{"error", "kind must be latency, throttle, error, drop or lose_create"}});
  }
  rule.remaining = static_cast<int>(json::getInt(*body, "count").value_or(1));
  rule.status = static_cast<int>(json::getInt(*body, "status").value_or(0));
  rule.retry_after_seconds =
      static_cast<int>(json::getInt(*body, "retry_after_seconds").value_or(1));
  rule.retry_after_as_date = json::getBool(*body, "retry_after_as_date").value_or(false);
  rule.latency_ms = static_cast<int>(json::getInt(*body, "latency_ms").value_or(0));
  rule.method = json::getString(*body, "method").value_or("");
  rule.path_prefix = json::getString(*body, "path_prefix").value_or("");
  if (rule.remaining == 0) return jsonAnswer(400, {{"error", "count must not be 0"}});
  faults_.push_back(rule);
  return jsonAnswer(200, {{"ok", true}});
}

SimResponse Simulator::controlClock(const SimRequest& r) {
  std::lock_guard lock(mu_);
  if (r.method == "POST") {
    auto body = json::parse(r.body, "the clock");
    if (!body || !body->is_object()) return jsonAnswer(400, {{"error", "body must be an object"}});
    if (auto offset = json::getInt(*body, "offset_seconds")) {
      clock_.setOffset(std::chrono::seconds(*offset));
    } else if (auto now = parseRfc3339(json::getString(*body, "now").value_or(""))) {
      clock_.setOffset(std::chrono::duration_cast<std::chrono::seconds>(
          *now - std::chrono::system_clock::now()));
    } else {
      return jsonAnswer(400, {{"error", "give offset_seconds or now (RFC 3339)"}});
    }
    persist();
  }
  return jsonAnswer(200,
                    {{"now", formatRfc3339(clock_.now())},
                     {"offset_seconds",
                      std::chrono::duration_cast<std::chrono::seconds>(clock_.offset()).count()}});
}

SimResponse Simulator::controlReset() {
  std::lock_guard lock(mu_);
  std::vector<std::string> keys = state_.generated_api_keys;
  state_ = SimState{};
  state_.generated_api_keys = keys;
  faults_.clear();
  calls_.clear();
  creates_committed_ = 0;
  private_key_seen_ = false;
  clock_.setOffset(Duration::zero());
  persist();
  return jsonAnswer(200, {{"ok", true}});
}

// An administrator's certificate for the mutual-TLS listener: from the CSR in the body, or from a
// key made here and returned with it (a local test credential).
SimResponse Simulator::controlClientCertificate(const SimRequest& r) {
  auto body = json::parse(r.body.empty() ? "{}" : r.body, "the request");
  if (!body || !body->is_object()) return jsonAnswer(400, {{"error", "body must be an object"}});
  std::string key_pem;
  std::string csr_pem = json::getString(*body, "csr").value_or("");
  if (csr_pem.empty()) {
    auto key = pki::generateKey(pki::KeyType::kEcP256);
    if (!key) return jsonAnswer(500, {{"error", "key generation failed"}});
    auto pem = pki::privateKeyToPem(key->get());
    pki::CsrSubject subject;
    subject.common_name = "sim-admin";
    auto made = pki::makeCsrPem(key->get(), subject);
    if (!pem || !made) return jsonAnswer(500, {{"error", "CSR generation failed"}});
    key_pem = *pem;
    csr_pem = *made;
  }
  auto csr = pki::parseCsr(csr_pem);
  if (!csr) return jsonAnswer(400, {{"error", "csr is not a valid certificate request"}});
  int days = static_cast<int>(json::getInt(*body, "days").value_or(30));
  TimePoint now = std::chrono::system_clock::now();
  auto issued = signClientCertificate(tls_, csr->get(), now - std::chrono::minutes(5),
                                      now + std::chrono::hours(24 * days));
  if (!issued) return jsonAnswer(500, {{"error", "could not sign"}});

  std::lock_guard lock(mu_);
  state_.certificates.push_back({uuid(), "", "control", issued->serial, issued->pem,
                                 formatRfc3339(issued->not_before),
                                 formatRfc3339(issued->not_after), true});
  persist();
  Json answer = {{"certificate_pem", issued->pem}, {"serial", issued->serial}};
  if (!key_pem.empty()) answer["key_pem"] = key_pem;
  return jsonAnswer(200, answer);
}

}  // namespace su::sim
