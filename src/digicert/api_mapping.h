#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/result.h"
#include "digicert/account_manager.h"

// The JSON of the Account Manager API, as pure functions: no I/O, no logging, no exceptions.
// They accept every shape the documentation allows (see ApiCompatibility) and never put response
// text that could hold a token into an error.
namespace su::digicert::mapping {

UserStatus parseUserStatus(std::string_view text);

// Request bodies.
json::Json createBody(const ServiceUserSpec& spec, const ApiCompatibility& compat);
json::Json updateBody(const ServiceUserSpec& spec, const ApiCompatibility& compat);
json::Json clientCertificateBody(const std::string& user_id, const std::string& csr_pem,
                                 const std::string& name, std::optional<Date> end_date,
                                 const ApiCompatibility& compat);

// Response bodies.
Result<ServiceUser> parseUser(std::string_view body, const ApiCompatibility& compat);
Result<ServiceUser> userFromJson(const json::Json& object, const ApiCompatibility& compat);
Result<CreatedServiceUser> parseCreated(std::string_view body, const ApiCompatibility& compat);

struct UserPage {
  std::vector<ServiceUser> users;
  std::optional<int64_t> total;  // when a wrapped list says how many there are in all
};
Result<UserPage> parseUserPage(std::string_view body, const ApiCompatibility& compat);
Result<ClientCertificate> parseClientCertificate(std::string_view body,
                                                 const ApiCompatibility& compat);

// The token in a create answer, wherever compat allows it; nullopt when there is none.
std::optional<SecretString> findToken(const json::Json& body, const ApiCompatibility& compat);

// The remote reason of an error answer: {"error": {...}}, {"errors": [...]}, or a flat object.
struct ApiErrorBody {
  std::string code;
  std::string message;
};
ApiErrorBody parseErrorBody(std::string_view body);

// An error value for a non-2xx answer. The message names the operation and the remote reason
// (cut short and stripped of control characters), never the body itself.
Error errorFromResponse(std::string_view operation, int http_status, std::string_view body,
                        const ApiCompatibility& compat,
                        std::optional<std::chrono::milliseconds> retry_after);

}  // namespace su::digicert::mapping
