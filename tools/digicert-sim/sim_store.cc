#include "sim_store.h"

#include <cstdio>
#include <fstream>
#include <sstream>

namespace su::sim {
namespace {

using json::Json;

Json userToJson(const SimUser& u) {
  Json apps = Json::array();
  for (const auto& [name, roles] : u.applications)
    apps.push_back({{"name", name}, {"roles", roles}});
  return {{"id", u.id},
          {"friendly_name", u.friendly_name},
          {"description", u.description},
          {"email", u.email},
          {"status", u.status},
          {"end_date", u.end_date ? Json(*u.end_date) : Json(nullptr)},
          {"accounts", u.accounts},
          {"applications", apps},
          {"created_at", u.created_at},
          {"created_by", u.created_by},
          {"token_sha256", u.token_sha256}};
}

std::vector<std::string> strings(const Json& object, std::string_view key) {
  std::vector<std::string> out;
  const Json* array = json::find(object, key);
  if (array == nullptr || !array->is_array()) return out;
  for (const Json& item : *array) {
    if (item.is_string()) out.push_back(item.get<std::string>());
  }
  return out;
}

SimUser userFromJson(const Json& j) {
  SimUser u;
  u.id = json::getString(j, "id").value_or("");
  u.friendly_name = json::getString(j, "friendly_name").value_or("");
  u.description = json::getString(j, "description").value_or("");
  u.email = json::getString(j, "email").value_or("");
  u.status = json::getString(j, "status").value_or("ACTIVE");
  u.end_date = json::getString(j, "end_date");
  u.accounts = strings(j, "accounts");
  if (const Json* apps = json::find(j, "applications"); apps != nullptr && apps->is_array()) {
    for (const Json& a : *apps) {
      u.applications.emplace_back(json::getString(a, "name").value_or(""), strings(a, "roles"));
    }
  }
  u.created_at = json::getString(j, "created_at").value_or("");
  u.created_by = json::getString(j, "created_by").value_or("");
  u.token_sha256 = json::getString(j, "token_sha256").value_or("");
  return u;
}

Json certToJson(const SimCertificate& c) {
  return {{"id", c.id},
          {"user_id", c.user_id},
          {"name", c.name},
          {"serial", c.serial},
          {"pem", c.pem},
          {"valid_from", c.valid_from},
          {"valid_to", c.valid_to},
          {"enabled", c.enabled}};
}

SimCertificate certFromJson(const Json& j) {
  SimCertificate c;
  c.id = json::getString(j, "id").value_or("");
  c.user_id = json::getString(j, "user_id").value_or("");
  c.name = json::getString(j, "name").value_or("");
  c.serial = json::getString(j, "serial").value_or("");
  c.pem = json::getString(j, "pem").value_or("");
  c.valid_from = json::getString(j, "valid_from").value_or("");
  c.valid_to = json::getString(j, "valid_to").value_or("");
  c.enabled = json::getBool(j, "enabled").value_or(true);
  return c;
}

Json auditToJson(const AuditEntry& a) {
  return {{"id", a.id},         {"timestamp", a.timestamp},     {"user_name", a.user_name},
          {"action", a.action}, {"resource_id", a.resource_id}, {"status", a.status}};
}

AuditEntry auditFromJson(const Json& j) {
  AuditEntry a;
  a.id = json::getString(j, "id").value_or("");
  a.timestamp = json::getString(j, "timestamp").value_or("");
  a.user_name = json::getString(j, "user_name").value_or("");
  a.action = json::getString(j, "action").value_or("");
  a.resource_id = json::getString(j, "resource_id").value_or("");
  a.status = static_cast<int>(json::getInt(j, "status").value_or(0));
  return a;
}

template <typename T, typename F>
std::vector<T> listOf(const Json& j, std::string_view key, F&& convert) {
  std::vector<T> out;
  const Json* array = json::find(j, key);
  if (array == nullptr || !array->is_array()) return out;
  for (const Json& item : *array) out.push_back(convert(item));
  return out;
}

}  // namespace

Json stateToJson(const SimState& s) {
  Json users = Json::array(), certs = Json::array(), audit = Json::array();
  for (const auto& u : s.users) users.push_back(userToJson(u));
  for (const auto& c : s.certificates) certs.push_back(certToJson(c));
  for (const auto& a : s.audit) audit.push_back(auditToJson(a));
  return {{"users", users},
          {"certificates", certs},
          {"audit", audit},
          {"generated_api_keys", s.generated_api_keys},
          {"clock_offset_seconds", s.clock_offset_seconds}};
}

Result<SimState> stateFromJson(const Json& j) {
  if (!j.is_object()) return makeError(ErrorKind::kInternal, "state is not a JSON object");
  SimState s;
  s.users = listOf<SimUser>(j, "users", userFromJson);
  s.certificates = listOf<SimCertificate>(j, "certificates", certFromJson);
  s.audit = listOf<AuditEntry>(j, "audit", auditFromJson);
  s.generated_api_keys = strings(j, "generated_api_keys");
  s.clock_offset_seconds = json::getInt(j, "clock_offset_seconds").value_or(0);
  return s;
}

Result<SimState> loadState(const std::string& dir) {
  std::ifstream in(dir + "/state.json");
  if (!in) return SimState{};
  std::stringstream buffer;
  buffer << in.rdbuf();
  auto parsed = json::parse(buffer.str(), "state.json");
  if (!parsed) return parsed.error();
  return stateFromJson(*parsed);
}

Status saveState(const std::string& dir, const SimState& state) {
  std::string path = dir + "/state.json";
  std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << json::dump(stateToJson(state));
    if (!out) return makeError(ErrorKind::kInternal, "cannot write " + temp);
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    return makeError(ErrorKind::kInternal, "cannot replace " + path);
  }
  return Status::success();
}

}  // namespace su::sim
