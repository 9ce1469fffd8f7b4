#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace su::net {

// Sizes cpprestsdk's shared thread pool. Must run before any other cpprestsdk call; later calls
// do nothing.
void initialize(size_t threads);

// Makes trusting the system roots cheap. cpprestsdk loads OpenSSL's default CA file into every
// new TLS context before the SSL-context callback runs: about 25 ms of CPU per connection with
// Debian's bundle, paid for each remote create (each gets a connection of its own). This reads
// that file once (`ca_file`, else the one SSL_CERT_FILE names, else OpenSSL's default), gives
// every connection that trusts the system roots a copy, and then points SSL_CERT_FILE at nothing
// so the per-connection load costs nothing. Call from main before other threads start.
Status preloadSystemRoots(const std::string& ca_file = "");

struct TlsConfig {
  // PEM bundle that replaces the system roots when set; the system roots are used otherwise.
  std::string ca_pem;
  // PEM certificate chain and key presented to the server (mutual TLS).
  std::string client_cert_pem;
  std::string client_key_pem;
  // The name the server certificate must carry (a DNS name or an IP). Default: the URL's host.
  // Checked against the subjectAltName only, never the subject's CN.
  std::string server_name;
  bool insecure_skip_verify = false;
};

struct ClientConfig {
  std::string base_url;  // scheme://host[:port], no path
  TlsConfig tls;
  // cpprestsdk re-arms this on every read: it bounds silence, not the whole exchange.
  std::chrono::milliseconds idle_timeout{30000};
  std::string user_agent = "serviceuser-operator";
  size_t max_body_bytes = 256u << 20;
};

struct Request {
  std::string method = "GET";
  std::string target;  // path and query, already escaped
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string content_type = "application/json";
  // Whether sending it twice is harmless; decides how a lost answer is reported.
  bool idempotent = true;
};

struct Response {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;

  std::string header(std::string_view name) const;
};

// Stops a stream in flight from another thread.
class CancelSource {
 public:
  CancelSource();
  ~CancelSource();
  void cancel();
  bool cancelled() const;
  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

// HTTP(S) on cpprestsdk with the library's hazards closed: no redirects, a trust store that is
// exactly the configured CA, host names checked against SANs, a fresh request per attempt,
// exceptions turned into error values, and bodies read as bytes with a size bound. It does not
// retry: retries belong to callers that know whether a call is safe to repeat.
class HttpClient {
 public:
  static Result<std::unique_ptr<HttpClient>> create(const ClientConfig& config);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends and waits for the whole answer. Any HTTP status is a Response; only a transport
  // failure is an Error (kTransient, or kUnknownOutcome for a non-idempotent request that may
  // have reached the server).
  Result<Response> send(const Request& request) const;

  // Sends and hands each line of the body to on_line until the body ends, on_line returns false,
  // or cancel fires. Returns the status line's answer for a non-200 status (body read whole).
  // Blocks: run it on a thread of its own, never on cpprestsdk's pool.
  Result<Response> stream(const Request& request, const std::function<bool(std::string&&)>& on_line,
                          CancelSource& cancel) const;

  const ClientConfig& config() const;

 private:
  struct Impl;
  explicit HttpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// What a caller should make of an HTTP status that is not a success: 400/422 invalid, 401, 403,
// 404, 409 as named, 408/410/429 and 5xx transient, anything else internal.
ErrorKind errorKindForStatus(int status);

// Parses Retry-After given in seconds or as an HTTP date, relative to now.
std::optional<std::chrono::milliseconds> parseRetryAfter(std::string_view value,
                                                         std::chrono::system_clock::time_point now);

}  // namespace su::net
