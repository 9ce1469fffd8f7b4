#include "digicert/api_mapping.h"

#include <algorithm>
#include <cctype>

#include "net/http_client.h"

namespace su::digicert::mapping {
namespace {

using json::Json;

constexpr size_t kMaxRemoteText = 300;

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Remote text that goes into an error: printable ASCII only, bounded.
std::string cleanRemoteText(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (out.size() >= kMaxRemoteText) break;
    out += (c >= 0x20 && c < 0x7f) ? c : ' ';
  }
  return out;
}

std::string stringOrNumber(const Json& object, std::string_view key) {
  const Json* v = json::find(object, key);
  if (v == nullptr) return {};
  if (v->is_string()) return v->get<std::string>();
  if (v->is_number_integer()) return std::to_string(v->get<int64_t>());
  return {};
}

// "2026-01-12", or the day of an RFC 3339 time.
std::optional<Date> dateField(const Json& object, const std::string& key) {
  auto text = json::getString(object, key);
  if (!text || text->size() < 10) return std::nullopt;
  if (auto date = parseDate(*text)) return date;
  if (auto time = parseRfc3339(*text)) return dateOf(*time);
  return parseDate(std::string_view(*text).substr(0, 10));
}

// Strings, or objects naming the item under one of `keys`.
std::vector<std::string> namesIn(const Json* array, std::initializer_list<std::string_view> keys) {
  std::vector<std::string> out;
  if (array == nullptr || !array->is_array()) return out;
  for (const Json& item : *array) {
    if (item.is_string()) {
      out.push_back(item.get<std::string>());
      continue;
    }
    for (std::string_view key : keys) {
      std::string value = stringOrNumber(item, key);
      if (!value.empty()) {
        out.push_back(value);
        break;
      }
    }
  }
  return out;
}

std::vector<ManagerAccess> accessIn(const Json* array, const ApiCompatibility& compat) {
  std::vector<ManagerAccess> out;
  if (array == nullptr || !array->is_array()) return out;
  for (const Json& item : *array) {
    if (!item.is_object()) continue;
    ManagerAccess access;
    access.manager = json::getString(item, compat.application_name_field).value_or("");
    const Json* roles = json::find(item, compat.roles_field);
    if (roles == nullptr) roles = json::find(item, "permissions");
    access.roles = namesIn(roles, {"name", "id", "code"});
    out.push_back(std::move(access));
  }
  return out;
}

Json accountsJson(const std::vector<std::string>& accounts, const ApiCompatibility& compat) {
  Json out = Json::array();
  for (const auto& id : accounts) {
    out.push_back(compat.accounts_as_objects ? Json{{"id", id}} : Json(id));
  }
  return out;
}

Json accessJson(const std::vector<ManagerAccess>& access, const ApiCompatibility& compat) {
  Json out = Json::array();
  for (const auto& a : access) {
    out.push_back(Json{{compat.application_name_field, a.manager}, {compat.roles_field, a.roles}});
  }
  return out;
}

Json specBody(const ServiceUserSpec& spec, const ApiCompatibility& compat) {
  Json body = Json::object();
  body["friendly_name"] = spec.friendly_name;
  body["description"] = spec.description;
  body["email"] = spec.email;
  body[compat.accounts_field] = accountsJson(spec.accounts, compat);
  body[compat.applications_field] = accessJson(spec.access, compat);
  return body;
}

// The object holding the user: the body itself or a wrapper's member.
const Json& userObject(const Json& body, const ApiCompatibility& compat) {
  for (const auto& key : compat.user_wrapper_keys) {
    const Json* inner = json::find(body, key);
    if (inner != nullptr && inner->is_object() && json::find(*inner, "id") != nullptr) {
      return *inner;
    }
  }
  return body;
}

std::optional<SecretString> tokenIn(const Json& value, const ApiCompatibility& compat) {
  if (value.is_string() && !value.get_ref<const std::string&>().empty()) {
    return SecretString(value.get<std::string>());
  }
  if (!value.is_object()) return std::nullopt;
  for (const auto& key : compat.token_inner_fields) {
    auto inner = json::getString(value, key);
    if (inner && !inner->empty()) return SecretString(std::move(*inner));
  }
  return std::nullopt;
}

std::optional<SecretString> tokenAtLevel(const Json& object, const ApiCompatibility& compat) {
  for (const auto& key : compat.token_fields) {
    const Json* value = json::find(object, key);
    if (value == nullptr) continue;
    if (auto token = tokenIn(*value, compat)) return token;
  }
  return std::nullopt;
}

const Json* listArray(const Json& body, const ApiCompatibility& compat) {
  if (body.is_array()) return &body;
  for (const auto& key : compat.list_wrapper_keys) {
    const Json* inner = json::find(body, key);
    if (inner != nullptr && inner->is_array()) return inner;
  }
  return nullptr;
}

std::optional<int64_t> listTotal(const Json& body) {
  for (std::string_view key : {"total", "total_count", "count"}) {
    if (auto total = json::getInt(body, key)) return total;
  }
  return std::nullopt;
}

std::string firstString(const Json& object, const std::vector<std::string>& keys) {
  for (const auto& key : keys) {
    std::string value = stringOrNumber(object, key);
    if (!value.empty()) return value;
  }
  return {};
}

ApiErrorBody errorFields(const Json& object) {
  ApiErrorBody out;
  out.code = cleanRemoteText(json::getString(object, "code").value_or(""));
  out.message = cleanRemoteText(json::getString(object, "message").value_or(""));
  return out;
}

}  // namespace

UserStatus parseUserStatus(std::string_view text) {
  std::string s = upper(text);
  if (s == "ACTIVE" || s == "ENABLED") return UserStatus::kActive;
  if (s == "DISABLED" || s == "INACTIVE" || s == "LOCKED") return UserStatus::kDisabled;
  if (s == "EXPIRED") return UserStatus::kExpired;
  if (s == "DELETED") return UserStatus::kDeleted;
  return UserStatus::kUnknown;
}

Json createBody(const ServiceUserSpec& spec, const ApiCompatibility& compat) {
  Json body = specBody(spec, compat);
  body[compat.user_type_field] = compat.user_type_value;
  if (spec.end_date) body[compat.end_date_field] = formatDate(*spec.end_date);
  return body;
}

Json updateBody(const ServiceUserSpec& spec, const ApiCompatibility& compat) {
  Json body = specBody(spec, compat);
  body[compat.end_date_field] = spec.end_date ? Json(formatDate(*spec.end_date)) : Json(nullptr);
  return body;
}

Json clientCertificateBody(const std::string& user_id, const std::string& csr_pem,
                           const std::string& name, std::optional<Date> end_date,
                           const ApiCompatibility& compat) {
  Json body = Json::object();
  if (!compat.client_cert_user_field.empty()) body[compat.client_cert_user_field] = user_id;
  body[compat.client_cert_csr_field] = csr_pem;
  body[compat.client_cert_name_field] = name;
  if (end_date) body[compat.client_cert_end_date_field] = formatDate(*end_date);
  return body;
}

Result<ServiceUser> userFromJson(const Json& object, const ApiCompatibility& compat) {
  if (!object.is_object()) return makeError(ErrorKind::kInternal, "a user is not a JSON object");
  ServiceUser user;
  user.id = stringOrNumber(object, "id");
  if (user.id.empty()) return makeError(ErrorKind::kInternal, "a user has no id");
  user.friendly_name = json::getString(object, "friendly_name").value_or("");
  user.description = json::getString(object, "description").value_or("");
  user.email = json::getString(object, "email").value_or("");
  user.status = parseUserStatus(json::getString(object, "status").value_or(""));
  user.end_date = dateField(object, compat.end_date_field);
  user.accounts = namesIn(json::find(object, compat.accounts_field), {"id", "name"});
  user.access = accessIn(json::find(object, compat.applications_field), compat);
  user.created_at = json::getString(object, "created_at").value_or("");
  return user;
}

Result<ServiceUser> parseUser(std::string_view body, const ApiCompatibility& compat) {
  auto parsed = json::parse(body, "a user answer");
  if (!parsed) return parsed.error();
  return userFromJson(userObject(*parsed, compat), compat);
}

std::optional<SecretString> findToken(const Json& body, const ApiCompatibility& compat) {
  if (auto token = tokenAtLevel(body, compat)) return token;
  for (const auto& key : compat.user_wrapper_keys) {
    const Json* inner = json::find(body, key);
    if (inner == nullptr || !inner->is_object()) continue;
    if (auto token = tokenAtLevel(*inner, compat)) return token;
  }
  return std::nullopt;
}

Result<CreatedServiceUser> parseCreated(std::string_view body, const ApiCompatibility& compat) {
  auto parsed = json::parse(body, "the create answer");
  if (!parsed) return parsed.error();
  auto user = userFromJson(userObject(*parsed, compat), compat);
  if (!user) return user.error();
  auto token = findToken(*parsed, compat);
  if (!token) return makeError(ErrorKind::kInternal, "the create answer holds no token");
  return CreatedServiceUser{std::move(user).value(), std::move(*token)};
}

Result<UserPage> parseUserPage(std::string_view body, const ApiCompatibility& compat) {
  auto parsed = json::parse(body, "a user list");
  if (!parsed) return parsed.error();
  const Json* items = listArray(*parsed, compat);
  if (items == nullptr) return makeError(ErrorKind::kInternal, "a user list holds no array");
  UserPage page;
  page.total = listTotal(*parsed);
  for (const Json& item : *items) {
    auto user = userFromJson(item, compat);
    if (!user) return user.error();
    page.users.push_back(std::move(user).value());
  }
  return page;
}

Result<ClientCertificate> parseClientCertificate(std::string_view body,
                                                 const ApiCompatibility& compat) {
  auto parsed = json::parse(body, "the client certificate answer");
  if (!parsed) return parsed.error();
  const Json& object = *parsed;
  if (!object.is_object()) {
    return makeError(ErrorKind::kInternal, "the client certificate answer is not an object");
  }
  ClientCertificate cert;
  cert.id = stringOrNumber(object, "id");
  cert.certificate_pem = firstString(object, compat.client_cert_pem_fields);
  cert.serial = firstString(object, compat.client_cert_serial_fields);
  cert.not_after = firstString(object, compat.client_cert_not_after_fields);
  if (cert.certificate_pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    return makeError(ErrorKind::kInternal, "the client certificate answer holds no PEM");
  }
  return cert;
}

ApiErrorBody parseErrorBody(std::string_view body) {
  auto parsed = json::parse(body, "an error answer");
  if (!parsed || !parsed->is_object()) return {};
  if (const Json* error = json::find(*parsed, "error"); error != nullptr) {
    if (error->is_object()) return errorFields(*error);
    if (error->is_string()) return {cleanRemoteText(error->get<std::string>()), ""};
  }
  if (const Json* errors = json::find(*parsed, "errors"); errors != nullptr) {
    if (errors->is_array() && !errors->empty() && (*errors)[0].is_object()) {
      return errorFields((*errors)[0]);
    }
  }
  return errorFields(*parsed);
}

Error errorFromResponse(std::string_view operation, int http_status, std::string_view body,
                        const ApiCompatibility& compat,
                        std::optional<std::chrono::milliseconds> retry_after) {
  ApiErrorBody remote = parseErrorBody(body);
  ErrorKind kind = net::errorKindForStatus(http_status);
  bool listed = std::find(compat.duplicate_statuses.begin(), compat.duplicate_statuses.end(),
                          http_status) != compat.duplicate_statuses.end();
  bool duplicate = (!compat.duplicate_code.empty() && remote.code == compat.duplicate_code) ||
                   (listed && remote.code.empty());
  if (duplicate) kind = ErrorKind::kConflict;

  std::string message = std::string(operation) + " answered " + std::to_string(http_status);
  if (!remote.message.empty()) message += ": " + remote.message;
  Error error = makeError(kind, std::move(message), http_status, remote.code);
  error.retry_after = retry_after;
  return error;
}

}  // namespace su::digicert::mapping
