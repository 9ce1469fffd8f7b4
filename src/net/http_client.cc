#include "net/http_client.h"

#include <arpa/inet.h>
#include <cpprest/containerstream.h>
#include <cpprest/http_client.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pplx/threadpool.h>

#include <boost/asio/ssl.hpp>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>

#include "common/time_format.h"
#include "pki/pem.h"

namespace su::net {
namespace http = web::http;

namespace {

// PEM material parsed once; the SSL-context callback runs for every connection on pool threads.
struct TlsMaterial {
  std::vector<pki::X509Ptr> roots;
  std::vector<pki::X509Ptr> chain;
  pki::PKeyPtr key;
  std::string server_name;
  bool server_name_is_ip = false;
  bool insecure = false;
};

bool isIpLiteral(const std::string& host) {
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

Result<std::shared_ptr<TlsMaterial>> prepareTls(const TlsConfig& tls, const std::string& host) {
  auto m = std::make_shared<TlsMaterial>();
  m->insecure = tls.insecure_skip_verify;
  m->server_name = tls.server_name.empty() ? host : tls.server_name;
  if (m->server_name.size() > 2 && m->server_name.front() == '[') {
    m->server_name = m->server_name.substr(1, m->server_name.size() - 2);
  }
  m->server_name_is_ip = isIpLiteral(m->server_name);
  if (!tls.ca_pem.empty()) {
    auto roots = pki::parseCertificates(tls.ca_pem, "the CA bundle");
    if (!roots) return roots.error();
    m->roots = std::move(roots).value();
  }
  if (tls.client_cert_pem.empty() != tls.client_key_pem.empty()) {
    return makeError(ErrorKind::kInvalid, "a client certificate needs both certificate and key");
  }
  if (!tls.client_cert_pem.empty()) {
    auto chain = pki::parseCertificates(tls.client_cert_pem, "the client certificate");
    if (!chain) return chain.error();
    auto key = pki::parsePrivateKey(tls.client_key_pem, "the client key");
    if (!key) return key.error();
    m->chain = std::move(chain).value();
    m->key = std::move(key).value();
  }
  return m;
}

// The system roots read once by preloadSystemRoots; written before any connection is made.
std::vector<pki::X509Ptr>& preloadedRoots() {
  static std::vector<pki::X509Ptr> roots;
  return roots;
}

void configureContext(const TlsMaterial& m, boost::asio::ssl::context& context) {
  SSL_CTX* ctx = context.native_handle();
  if (!m.roots.empty()) {
    X509_STORE* store = X509_STORE_new();
    for (const auto& cert : m.roots) X509_STORE_add_cert(store, cert.get());
    SSL_CTX_set_cert_store(ctx, store);  // replaces, and frees, the system roots
  } else if (!m.insecure) {
    X509_STORE* store = SSL_CTX_get_cert_store(ctx);
    for (const auto& cert : preloadedRoots()) X509_STORE_add_cert(store, cert.get());
  }
  if (!m.chain.empty()) {
    SSL_CTX_use_certificate(ctx, m.chain.front().get());
    for (size_t i = 1; i < m.chain.size(); ++i) SSL_CTX_add1_chain_cert(ctx, m.chain[i].get());
    SSL_CTX_use_PrivateKey(ctx, m.key.get());
  }
  if (!m.insecure) {
    X509_VERIFY_PARAM* param = SSL_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_hostflags(
        param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
    if (m.server_name_is_ip) {
      X509_VERIFY_PARAM_set1_ip_asc(param, m.server_name.c_str());
    } else {
      X509_VERIFY_PARAM_set1_host(param, m.server_name.c_str(), m.server_name.size());
    }
  }
  pki::drainErrors();
}

bool neverSent(const std::error_code& code) {
  int v = code.value();
  return v == ECONNREFUSED || v == EHOSTUNREACH || v == ENETUNREACH || v == EADDRNOTAVAIL;
}

Error transportError(const Request& request, const std::error_code& code, std::string_view what) {
  bool unknown = !request.idempotent && !neverSent(code);
  std::string message = request.method + " " + request.target.substr(0, request.target.find('?')) +
                        ": " + std::string(what);
  if (code) message += " (" + code.message() + ")";
  return makeError(unknown ? ErrorKind::kUnknownOutcome : ErrorKind::kTransient, message);
}

std::map<std::string, std::string> lowerHeaders(const http::http_headers& headers) {
  std::map<std::string, std::string> out;
  for (const auto& [name, value] : headers) {
    std::string key = name;
    for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out[key] = value;
  }
  return out;
}

}  // namespace

struct CancelSource::Impl {
  pplx::cancellation_token_source source;
};

CancelSource::CancelSource() : impl_(std::make_unique<Impl>()) {}
CancelSource::~CancelSource() = default;
void CancelSource::cancel() { impl_->source.cancel(); }
bool CancelSource::cancelled() const { return impl_->source.get_token().is_canceled(); }

struct HttpClient::Impl {
  ClientConfig config;
  std::unique_ptr<http::client::http_client> client;

  http::http_request build(const Request& r) const {
    http::http_request msg(r.method);  // a new message per attempt: cpprestsdk aborts on reuse
    msg.set_request_uri(r.target);
    msg.headers().add("User-Agent", config.user_agent);
    msg.headers().add("Accept", "application/json");
    for (const auto& [name, value] : r.headers) msg.headers().add(name, value);
    if (!r.body.empty() || r.method == "POST" || r.method == "PUT" || r.method == "PATCH") {
      msg.set_body(r.body, r.content_type);
    }
    return msg;
  }

  Result<std::string> readBody(http::http_response& response) const {
    if (response.headers().content_length() > config.max_body_bytes &&
        response.headers().content_length() != static_cast<size_t>(-1)) {
      return makeError(ErrorKind::kInternal, "response body larger than the configured bound");
    }
    std::vector<unsigned char> bytes = response.extract_vector().get();
    if (bytes.size() > config.max_body_bytes) {
      return makeError(ErrorKind::kInternal, "response body larger than the configured bound");
    }
    return std::string(bytes.begin(), bytes.end());
  }
};

void initialize(size_t threads) {
  static std::once_flag once;
  std::call_once(once, [threads] { crossplat::threadpool::initialize_with_threads(threads); });
}

Status preloadSystemRoots(const std::string& ca_file) {
  static std::once_flag once;
  Status result = Status::success();
  std::call_once(once, [&] {
    const char* from_env = std::getenv(X509_get_default_cert_file_env());
    std::string path = !ca_file.empty() ? ca_file
                       : from_env       ? from_env
                                        : X509_get_default_cert_file();
    std::ifstream in(path, std::ios::binary);
    if (!in) return;  // no default bundle: nothing to load per connection either
    std::stringstream pem;
    pem << in.rdbuf();
    auto roots = pki::parseCertificates(pem.str(), "the system CA bundle");
    if (!roots) {
      result = roots.error();
      return;
    }
    preloadedRoots() = std::move(roots).value();
    setenv(X509_get_default_cert_file_env(), "/dev/null", 1);
  });
  return result;
}

std::string Response::header(std::string_view name) const {
  std::string key(name);
  for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto it = headers.find(key);
  return it == headers.end() ? std::string() : it->second;
}

HttpClient::HttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpClient::~HttpClient() = default;
const ClientConfig& HttpClient::config() const { return impl_->config; }

Result<std::unique_ptr<HttpClient>> HttpClient::create(const ClientConfig& config) {
  web::uri uri;
  try {
    uri = web::uri(config.base_url);
  } catch (const std::exception&) {
    return makeError(ErrorKind::kInvalid, "not a valid URL: " + config.base_url);
  }
  if (uri.scheme() != "https" && uri.scheme() != "http") {
    return makeError(ErrorKind::kInvalid, "URL scheme must be https or http: " + config.base_url);
  }
  auto material = prepareTls(config.tls, uri.host());
  if (!material) return material.error();

  http::client::http_client_config cfg;
  cfg.set_timeout(config.idle_timeout);
  cfg.set_max_redirects(0);
  cfg.set_validate_certificates(!config.tls.insecure_skip_verify);
  std::shared_ptr<TlsMaterial> m = material.value();
  cfg.set_ssl_context_callback([m](boost::asio::ssl::context& ctx) { configureContext(*m, ctx); });

  auto impl = std::make_unique<Impl>();
  impl->config = config;
  try {
    impl->client = std::make_unique<http::client::http_client>(uri, cfg);
  } catch (const std::exception&) {
    return makeError(ErrorKind::kInvalid, "cannot make an HTTP client for " + config.base_url);
  }
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(impl)));
}

Result<Response> HttpClient::send(const Request& request) const {
  try {
    http::http_response response = impl_->client->request(impl_->build(request)).get();
    Response out;
    out.status = response.status_code();
    out.headers = lowerHeaders(response.headers());
    auto body = impl_->readBody(response);
    if (!body) return body.error();
    out.body = std::move(body).value();
    return out;
  } catch (const http::http_exception& e) {
    return transportError(request, e.error_code(), "no answer");
  } catch (const std::exception&) {
    return transportError(request, {}, "no answer");
  }
}

Result<Response> HttpClient::stream(const Request& request,
                                    const std::function<bool(std::string&&)>& on_line,
                                    CancelSource& cancel) const {
  Response out;
  // Linked to the caller's token, and cancelled when reading stops early: cpprestsdk keeps
  // filling an abandoned body in the background until the server ends it.
  pplx::cancellation_token caller = cancel.impl().source.get_token();
  auto own = pplx::cancellation_token_source::create_linked_source(caller);
  struct CancelOnExit {
    pplx::cancellation_token_source& source;
    ~CancelOnExit() { source.cancel(); }
  } cancel_on_exit{own};
  try {
    http::http_response response =
        impl_->client->request(impl_->build(request), own.get_token()).get();
    out.status = response.status_code();
    out.headers = lowerHeaders(response.headers());
    if (out.status != http::status_codes::OK) {
      auto body = impl_->readBody(response);
      if (body) out.body = std::move(body).value();
      return out;
    }
    concurrency::streams::istream body = response.body();
    while (!cancel.cancelled()) {
      concurrency::streams::container_buffer<std::string> line;
      size_t n = body.read_line(line).get();
      if (n == 0 && body.is_eof()) break;
      if (line.collection().size() > impl_->config.max_body_bytes) {
        return makeError(ErrorKind::kInternal, "stream line larger than the configured bound");
      }
      if (!line.collection().empty() && !on_line(std::move(line.collection()))) break;
    }
    return out;
  } catch (const http::http_exception& e) {
    if (cancel.cancelled()) return out;
    return transportError(request, e.error_code(), "stream ended abruptly");
  } catch (const pplx::task_canceled&) {
    return out;
  } catch (const std::exception&) {
    if (cancel.cancelled()) return out;
    return transportError(request, {}, "stream ended abruptly");
  }
}

ErrorKind errorKindForStatus(int status) {
  switch (status) {
    case 400:
    case 422:
      return ErrorKind::kInvalid;
    case 401:
      return ErrorKind::kUnauthorized;
    case 403:
      return ErrorKind::kForbidden;
    case 404:
      return ErrorKind::kNotFound;
    case 409:
      return ErrorKind::kConflict;
    case 408:
    case 410:
    case 429:
      return ErrorKind::kTransient;
    default:
      return status >= 500 ? ErrorKind::kTransient : ErrorKind::kInternal;
  }
}

std::optional<std::chrono::milliseconds> parseRetryAfter(
    std::string_view value, std::chrono::system_clock::time_point now) {
  if (value.empty()) return std::nullopt;
  bool digits =
      std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (digits && value.size() < 10) {
    return std::chrono::seconds(std::stoll(std::string(value)));
  }
  struct tm tm {};
  std::string text(value);
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  auto when = std::chrono::system_clock::from_time_t(timegm(&tm));
  if (when <= now) return std::chrono::milliseconds(0);
  return std::chrono::ceil<std::chrono::milliseconds>(when - now);
}

}  // namespace su::net
