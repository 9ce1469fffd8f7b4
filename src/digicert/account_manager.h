#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/rate_limit.h"
#include "common/result.h"
#include "common/secret.h"
#include "common/time_format.h"

namespace su::digicert {

// One DigiCert ONE manager (an application such as "Trust Lifecycle") and the roles the service
// user holds in it.
struct ManagerAccess {
  std::string manager;
  std::vector<std::string> roles;

  bool operator==(const ManagerAccess&) const = default;
};

// What the operator asks DigiCert ONE to hold for one service user.
struct ServiceUserSpec {
  std::string friendly_name;
  std::string description;
  std::string email;
  std::optional<Date> end_date;
  std::vector<std::string> accounts;
  std::vector<ManagerAccess> access;
};

enum class UserStatus { kActive, kDisabled, kExpired, kDeleted, kUnknown };

const char* userStatusName(UserStatus status);

// A service user as DigiCert ONE reports it. Never holds its token.
struct ServiceUser {
  std::string id;
  std::string friendly_name;
  std::string description;
  std::string email;
  UserStatus status = UserStatus::kUnknown;
  std::optional<Date> end_date;
  std::vector<std::string> accounts;
  std::vector<ManagerAccess> access;
  std::string created_at;
};

// The answer to a create: the only moment the token is ever visible.
struct CreatedServiceUser {
  ServiceUser user;
  SecretString token;
};

struct ClientCertificate {
  std::string id;
  std::string certificate_pem;
  std::string serial;
  std::string not_after;  // as the server wrote it (RFC 3339 or a date)
};

// The Account Manager calls the operator needs. Abstract so controllers can be tested with fakes.
// Every error is a value: kNotFound, kConflict (duplicate friendly name), kUnauthorized,
// kForbidden, kInvalid, kTransient (retry later; retry_after set when the server said so),
// kUnknownOutcome (a create was sent and its answer lost: look it up by friendly name).
class AccountManager {
 public:
  virtual ~AccountManager() = default;

  // Never resent by the client. kConflict when the friendly name exists; kUnknownOutcome when
  // the answer was lost, in which case the user may or may not exist.
  virtual Result<CreatedServiceUser> createServiceUser(const ServiceUserSpec& spec) = 0;
  // Pages through the service-user list; nullopt when no user has that name.
  virtual Result<std::optional<ServiceUser>> findByFriendlyName(const std::string& name) = 0;
  virtual Result<ServiceUser> getServiceUser(const std::string& id) = 0;  // kNotFound
  virtual Result<std::vector<ServiceUser>> listServiceUsers() = 0;        // every page
  virtual Status updateServiceUser(const std::string& id, const ServiceUserSpec& spec) = 0;
  virtual Status disableServiceUser(const std::string& id) = 0;
  virtual Status enableServiceUser(const std::string& id) = 0;
  virtual Status deleteServiceUser(const std::string& id) = 0;  // kNotFound if gone
  // Asks for a client authentication certificate for the user from a CSR made by the caller;
  // the private key never leaves the caller.
  virtual Result<ClientCertificate> requestClientCertificate(const std::string& user_id,
                                                             const std::string& csr_pem,
                                                             const std::string& name,
                                                             std::optional<Date> end_date) = 0;
};

// Every point of the API that DigiCert's public pages do not show, as a setting. Defaults follow
// docs/digicert-one-api.md; the simulator has a matching switch for each (see
// tools/digicert-sim/README.md). Lists are searched in order; the first hit wins.
struct ApiCompatibility {
  std::string api_prefix = "/account/api/v1";

  // Create response: where the token is. Each field may hold a string or an object; in an object
  // the token is looked up under token_inner_fields. Searched at the top level, then inside
  // user_wrapper_keys.
  std::vector<std::string> token_fields{"api_token", "token", "token_id", "api_key"};
  std::vector<std::string> token_inner_fields{"token", "value", "api_key", "key", "token_id"};
  // A single user may come wrapped ({"user": {...}}) or bare.
  std::vector<std::string> user_wrapper_keys{"user", "data"};

  // List: a bare array or an object holding the array under one of these keys.
  std::vector<std::string> list_wrapper_keys{"items", "users", "data", "results"};
  std::string list_filter = "user_type=service";
  std::string offset_param = "offset";
  std::string limit_param = "limit";
  int page_size = 100;
  int max_pages = 1000;  // a guard against a server that ignores paging

  // Field names of the user object and the create/update bodies.
  std::string end_date_field = "end_date";
  std::string accounts_field = "accounts";
  std::string applications_field = "applications";
  std::string application_name_field = "name";
  std::string roles_field = "roles";
  std::string user_type_field = "user_type";
  std::string user_type_value = "service";
  // Accounts sent as ["id", ...] (false) or [{"id": "..."}, ...] (true); both are read.
  bool accounts_as_objects = false;

  // Duplicate friendly name: any answer with this code, or with one of these statuses, is
  // kConflict (the code decides when a 400 carries another code).
  std::string duplicate_code = "duplicate_error";
  std::vector<int> duplicate_statuses{409};

  // Paths below api_prefix; {id} is replaced with the escaped user id.
  std::string user_path = "/user";
  std::string update_method = "PUT";
  std::string update_path = "/user/{id}";
  std::string disable_method = "PUT";
  std::string disable_path = "/user/{id}/disable";
  std::string enable_method = "PUT";
  std::string enable_path = "/user/{id}/enable";
  std::string delete_method = "DELETE";
  std::string delete_path = "/user/{id}";
  std::string me_path = "/user/me";

  // Client authentication certificates.
  std::string client_cert_path = "/client-auth-certificate";
  std::string client_cert_user_field = "user_id";
  std::string client_cert_csr_field = "csr";
  std::string client_cert_name_field = "name";
  std::string client_cert_end_date_field = "end_date";
  std::vector<std::string> client_cert_pem_fields{"certificate", "pem", "certificate_pem"};
  std::vector<std::string> client_cert_serial_fields{"serial_number", "serial"};
  std::vector<std::string> client_cert_not_after_fields{"valid_to", "not_after", "expiration_date",
                                                        "end_date"};
};

struct ClientOptions {
  // https://host[:port], no path. Never defaulted: a caller always names the tenant.
  std::string base_url;
  // Sent as x-api-key. Empty when authenticating by client certificate.
  SecretString api_key;
  // Mutual TLS (use clientAuthUrl(base_url)); no x-api-key header is sent when set.
  std::string client_cert_pem;
  SecretString client_key_pem;
  // Replaces the system roots when set.
  std::string ca_pem;
  // The request budget of the credential, shared by every client in the process that uses the
  // same key or certificate.
  std::vector<WindowedBudget::Window> budget{{1000, std::chrono::seconds(300)},
                                             {100, std::chrono::seconds(5)}};
  ApiCompatibility compat;
  // An idle timeout (cpprestsdk re-arms it on every read).
  std::chrono::milliseconds timeout{30000};
  std::string user_agent = "serviceuser-operator";

  // Safe calls (GET, PUT, DELETE) are tried at most this often on transient failures.
  int max_attempts = 4;
  std::chrono::milliseconds backoff_base{200};
  std::chrono::milliseconds backoff_cap{5000};
  // A Retry-After longer than this is not waited for in the call: the call fails kTransient
  // with retry_after set, and the key's budget stays paused until then.
  std::chrono::milliseconds max_retry_after_wait{120000};
};

Result<std::unique_ptr<AccountManager>> makeAccountManager(const ClientOptions& options,
                                                           const Clock& clock);

// GET /user/me with the options' credentials: who the key or certificate belongs to. Used to
// check an issuer's credentials and, in tests, whether a service user's token still works.
Result<ServiceUser> fetchCaller(const ClientOptions& options, const Clock& clock);

// The mutual-TLS host of a DigiCert ONE URL: "https://one.digicert.com" becomes
// "https://clientauth.one.digicert.com". IP literals, "localhost" and hosts that already start
// with "clientauth." are returned unchanged.
std::string clientAuthUrl(const std::string& base_url);

enum class Region { kUnitedStates, kSwitzerland, kNetherlands, kJapan };
// The documented DigiCert ONE host of a region, production or demo tenant.
std::string regionBaseUrl(Region region, bool demo);

}  // namespace su::digicert
