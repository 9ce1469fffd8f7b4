#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/result.h"

namespace su::sim {

// Every setting of the simulator. Each has a flag --name-with-dashes and the same key with
// underscores in the --config JSON file; flags win over the file. The API-shape switches match
// su::digicert::ApiCompatibility so a client can be pointed at either form.
struct SimConfig {
  std::string state_dir;
  int port = 0;              // 0: a free loopback port
  int control_port = 0;      // 0: a free loopback port
  int clientauth_port = -1;  // -1: no mutual-TLS listener; 0: a free loopback port
  std::vector<std::string> api_keys;
  std::vector<std::string> accounts;  // empty: any account id is accepted
  std::vector<std::string> managers{"Trust Lifecycle", "CA Manager",     "Software Trust",
                                    "IoT Trust",       "Document Trust", "Account Manager"};
  int max_name_length = 64;
  int max_page_size = 100;
  int threads = 16;

  // API shape.
  std::string api_prefix = "/account/api/v1";
  std::string token_field = "api_token";
  std::string token_shape = "string";  // "string" or "object"
  std::string token_inner_field = "token";
  std::string user_wrapper;         // "": the user object is the body
  std::string list_shape = "bare";  // "bare" or "wrapped"
  std::string list_key = "items";
  std::string offset_param = "offset";
  std::string limit_param = "limit";
  int duplicate_status = 409;
  std::string error_shape = "object";  // "object" ({"error":{}}) or "array" ({"errors":[]})
  std::string end_date_field = "end_date";
  std::string accounts_field = "accounts";
  std::string applications_field = "applications";
  std::string roles_field = "roles";
  std::string update_method = "PUT";
  std::string update_path = "/user/{id}";
  std::string disable_method = "PUT";
  std::string disable_path = "/user/{id}/disable";
  std::string enable_method = "PUT";
  std::string enable_path = "/user/{id}/enable";
  std::string delete_method = "DELETE";
  std::string delete_path = "/user/{id}";
  std::string client_cert_path = "/client-auth-certificate";
  std::string client_cert_user_field = "user_id";
  std::string client_cert_csr_field = "csr";
  std::string client_cert_name_field = "name";
  std::string client_cert_end_date_field = "end_date";
};

// Parses argv (and the file named by --config). An error names the bad flag, never its value.
Result<SimConfig> parseConfig(int argc, char** argv);
std::string usage();

}  // namespace su::sim
