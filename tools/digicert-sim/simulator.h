#pragma once

#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/json.h"
#include "sim_config.h"
#include "sim_store.h"
#include "sim_tls.h"

namespace su::sim {

// One HTTP request, already taken out of the listener.
struct SimRequest {
  std::string method;
  std::string path;  // decoded, without the query
  std::map<std::string, std::string> query;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  bool client_auth = false;  // arrived on the mutual-TLS listener
};

struct SimResponse {
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  bool drop = false;   // break the connection instead of answering
  int latency_ms = 0;  // wait this long before answering
};

// A misbehaviour for the next `remaining` matching API requests (-1: until cleared).
struct FaultRule {
  std::string kind;  // latency, throttle, error, drop, lose_create
  int remaining = 1;
  int status = 0;
  int retry_after_seconds = 1;
  bool retry_after_as_date = false;
  int latency_ms = 0;
  std::string method;       // empty: any method
  std::string path_prefix;  // empty: any path
};

struct Caller {
  bool admin = false;
  std::string user_id;
  std::string name;
};

// The Account Manager API as the simulator plays it, and its control interface. Thread-safe: the
// listener calls it from many pool threads.
class Simulator {
 public:
  Simulator(SimConfig config, SimState state, TlsMaterial tls, std::string state_dir);
  ~Simulator();  // saves what is not saved yet
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // Writes the state now if it changed since the last save (before the process exits).
  void flush();

  SimResponse handleApi(const SimRequest& request);
  SimResponse handleControl(const SimRequest& request);

  // Whether a client certificate that chains to the simulator's CA may use the mutual-TLS
  // listener: it must be one the simulator issued and still enabled.
  bool acceptClientCertificate(const std::string& serial_hex);
  std::vector<std::string> adminKeys() const;
  const TlsMaterial& tls() const { return tls_; }

 private:
  using Handler = SimResponse (Simulator::*)(const SimRequest&, const Caller&, const std::string&);
  struct Route {
    std::string method;
    std::string path;  // below the API prefix; {id} matches one segment
    Handler handler;
    bool service_user_allowed;
  };

  std::vector<Route> routes() const;
  std::optional<SimResponse> injectedFault(const SimRequest& request, int* latency_ms);
  bool takeLoseCreate();
  std::optional<SimResponse> authenticate(const SimRequest& request, Caller* caller);
  std::string actionOf(const SimRequest& request) const;
  SimResponse dispatch(const SimRequest& request, const Caller& caller, std::string* resource);

  SimResponse listUsers(const SimRequest& r, const Caller& c, const std::string& id);
  SimResponse createUser(const SimRequest& r, const Caller& c, const std::string& id);
  SimResponse getMe(const SimRequest& r, const Caller& c, const std::string& id);
  SimResponse getUser(const SimRequest& r, const Caller& c, const std::string& id);
  SimResponse updateUser(const SimRequest& r, const Caller& c, const std::string& id);
  SimResponse disableUser(const SimRequest& r, const Caller& c, const std::string& id);
  SimResponse enableUser(const SimRequest& r, const Caller& c, const std::string& id);
  SimResponse deleteUser(const SimRequest& r, const Caller& c, const std::string& id);
  SimResponse requestCertificate(const SimRequest& r, const Caller& c, const std::string& id);
  SimResponse enableCertificate(const SimRequest& r, const Caller& c, const std::string& id);
  SimResponse disableCertificate(const SimRequest& r, const Caller& c, const std::string& id);
  SimResponse auditLog(const SimRequest& r, const Caller& c, const std::string& id);

  SimResponse controlState();
  SimResponse controlFaults(const SimRequest& r);
  SimResponse controlClock(const SimRequest& r);
  SimResponse controlReset();
  SimResponse controlClientCertificate(const SimRequest& r);

  // Validation and rendering.
  std::optional<SimResponse> readUserBody(const json::Json& body, SimUser* user,
                                          const std::string& self_id);
  std::string effectiveStatus(const SimUser& user) const;
  bool expired(const SimUser& user) const;
  json::Json userJson(const SimUser& user) const;
  SimResponse userAnswer(int status, const SimUser& user, const json::Json* extra = nullptr) const;
  SimResponse apiError(int status, const std::string& code, const std::string& message) const;
  SimResponse listAnswer(json::Json items, size_t total, size_t offset, size_t limit) const;
  SimUser* findUser(const std::string& id);
  SimUser* findByTokenDigest(const std::string& digest);
  void audit(const Caller& caller, const std::string& action, const std::string& resource,
             int status);
  // Marks the state changed (under mu_). A saver thread writes it at most every kSaveInterval:
  // rewriting the whole file on every change made the simulator, not the clients, the limit of
  // a run with thousands of service users.
  void persist();
  void saveLoop();

  SimConfig config_;
  SimState state_;
  TlsMaterial tls_;
  std::string state_dir_;
  OffsetClock clock_;
  std::vector<FaultRule> faults_;
  std::map<std::string, int64_t> calls_;
  int64_t creates_committed_ = 0;
  bool private_key_seen_ = false;
  std::mutex mu_;
  bool dirty_ = false;     // under mu_
  bool stopping_ = false;  // under mu_
  std::condition_variable save_cv_;
  std::mutex save_mu_;  // one save at a time, in the order the copies were taken
  std::thread saver_;
};

}  // namespace su::sim
