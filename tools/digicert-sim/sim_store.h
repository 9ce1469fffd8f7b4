#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/json.h"
#include "common/result.h"

namespace su::sim {

// A service user as the simulator keeps it: the token only as a SHA-256 digest.
struct SimUser {
  std::string id;
  std::string friendly_name;
  std::string description;
  std::string email;
  std::string status = "ACTIVE";  // ACTIVE, DISABLED or DELETED; EXPIRED is derived
  std::optional<std::string> end_date;
  std::vector<std::string> accounts;
  std::vector<std::pair<std::string, std::vector<std::string>>> applications;
  std::string created_at;
  std::string created_by;
  std::string token_sha256;
};

struct SimCertificate {
  std::string id;
  std::string user_id;  // empty: an administrator's certificate issued by the control API
  std::string name;
  std::string serial;
  std::string pem;
  std::string valid_from;
  std::string valid_to;
  bool enabled = true;
};

struct AuditEntry {
  std::string id;
  std::string timestamp;
  std::string user_name;
  std::string action;
  std::string resource_id;
  int status = 0;
};

// Everything that survives a restart, saved as one JSON file after each change.
struct SimState {
  std::vector<SimUser> users;  // in creation order, deleted ones kept as tombstones
  std::vector<SimCertificate> certificates;
  std::vector<AuditEntry> audit;
  std::vector<std::string> generated_api_keys;
  int64_t clock_offset_seconds = 0;
};

json::Json stateToJson(const SimState& state);
Result<SimState> stateFromJson(const json::Json& json);

// Loads <dir>/state.json (an empty state when the file is absent).
Result<SimState> loadState(const std::string& dir);
// Writes through a temporary file and a rename, so a crash leaves the old or the new state.
Status saveState(const std::string& dir, const SimState& state);

}  // namespace su::sim
