// digicert-sim: a local stand-in for the DigiCert ONE Account Manager API. See README.md.
#include <arpa/inet.h>
#include <cpprest/http_listener.h>
#include <cpprest/producerconsumerstream.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pplx/threadpool.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/ssl.hpp>
#include <filesystem>
#include <future>
#include <iostream>
#include <thread>

#include "common/log.h"
#include "simulator.h"

namespace su::sim {
namespace {

namespace http = web::http;
using http::experimental::listener::http_listener;
using http::experimental::listener::http_listener_config;

// The TLS verify callback is a plain function; it reaches the simulator through this.
Simulator* g_simulator = nullptr;

int verifyClient(int preverify_ok, X509_STORE_CTX* ctx) {
  if (preverify_ok != 1) return 0;
  if (X509_STORE_CTX_get_error_depth(ctx) != 0) return 1;
  X509* cert = X509_STORE_CTX_get_current_cert(ctx);
  return cert != nullptr && g_simulator->acceptClientCertificate(serialHex(cert)) ? 1 : 0;
}

int freeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

SimRequest toSimRequest(const http::http_request& req, std::vector<unsigned char> body,
                        bool client_auth) {
  SimRequest out;
  out.method = req.method();
  out.path = web::uri::decode(req.request_uri().path());
  for (const auto& [k, v] : web::uri::split_query(req.request_uri().query())) {
    out.query[web::uri::decode(k)] = web::uri::decode(v);
  }
  for (const auto& [name, value] : req.headers()) {
    std::string key = name;
    for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[key] = value;
  }
  out.body.assign(body.begin(), body.end());
  out.client_auth = client_auth;
  return out;
}

// Answers with headers and then breaks the connection before the promised body arrives.
void replyDropped(const http::http_request& req) {
  concurrency::streams::producer_consumer_buffer<uint8_t> buffer;
  buffer.close(std::ios_base::out).wait();
  http::http_response response(http::status_codes::OK);
  response.set_body(concurrency::streams::istream(buffer), 4096, "application/json");
  req.reply(response).then([](pplx::task<void> t) {
    try {
      t.get();
    } catch (const std::exception&) {
    }
  });
}

void reply(const http::http_request& req, const SimResponse& r) {
  if (r.latency_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(r.latency_ms));
  if (r.drop) return replyDropped(req);
  http::http_response response(static_cast<http::status_code>(r.status));
  for (const auto& [name, value] : r.headers) response.headers().add(name, value);
  if (!r.body.empty()) response.set_body(r.body, "application/json");
  req.reply(response).then([](pplx::task<void> t) {
    try {
      t.get();
    } catch (const std::exception&) {
    }
  });
}

using Handle = std::function<SimResponse(const SimRequest&)>;

void serve(http::http_request req, const Handle& handle, bool client_auth) {
  req.extract_vector()
      .then([req, handle, client_auth](std::vector<unsigned char> body) {
        reply(req, handle(toSimRequest(req, std::move(body), client_auth)));
      })
      .then([req](pplx::task<void> t) {
        try {
          t.get();
        } catch (const std::exception&) {
          req.reply(http::status_codes::InternalError).then([](pplx::task<void> t2) {
            try {
              t2.get();
            } catch (const std::exception&) {
            }
          });
        }
      });
}

void configureTls(boost::asio::ssl::context& ctx, const TlsMaterial& tls, bool client_auth) {
  try {
    ctx.set_options(boost::asio::ssl::context::default_workarounds |
                    boost::asio::ssl::context::no_sslv2 | boost::asio::ssl::context::no_sslv3 |
                    boost::asio::ssl::context::no_tlsv1 | boost::asio::ssl::context::no_tlsv1_1);
    ctx.use_certificate_chain(boost::asio::buffer(tls.server_cert_pem));
    ctx.use_private_key(boost::asio::buffer(tls.server_key_pem), boost::asio::ssl::context::pem);
    if (!client_auth) return;
    SSL_CTX* native = ctx.native_handle();
    X509_STORE_add_cert(SSL_CTX_get_cert_store(native), tls.ca_cert.get());
    SSL_CTX_set_verify(native, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verifyClient);
  } catch (const std::exception&) {
    log::error("tls setup failed");
  }
}

// Opens a listener on `port` (0: a free one, retried a few times on a race).
std::unique_ptr<http_listener> openListener(const std::string& scheme, int port,
                                            const http_listener_config& config,
                                            const Handle& handle, bool client_auth, int* bound) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    int chosen = port != 0 ? port : freeLoopbackPort();
    auto listener = std::make_unique<http_listener>(
        web::uri(scheme + "://127.0.0.1:" + std::to_string(chosen)), config);
    listener->support([handle, client_auth](http::http_request req) {
      serve(std::move(req), handle, client_auth);
    });
    try {
      listener->open().wait();
      *bound = chosen;
      return listener;
    } catch (const std::exception&) {
      if (port != 0) break;
    }
  }
  return nullptr;
}

int run(int argc, char** argv) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  log::init(log::Level::kInfo, log::Format::kJson, "digicert-sim");
  auto config = parseConfig(argc, argv);
  if (!config) {
    std::cerr << config.error().message << "\n" << usage();
    return 2;
  }
  crossplat::threadpool::initialize_with_threads(static_cast<size_t>(config->threads));
  std::filesystem::create_directories(config->state_dir);
  auto tls = loadOrCreateTls(config->state_dir);
  auto state = loadState(config->state_dir);
  if (!tls || !state) {
    log::error("cannot start", {{"error", !tls ? tls.error().message : state.error().message}});
    return 1;
  }
  Simulator sim(*config, std::move(state).value(), std::move(tls).value(), config->state_dir);
  g_simulator = &sim;

  http_listener_config api_config, mtls_config, control_config;
  api_config.set_ssl_context_callback(
      [&sim](boost::asio::ssl::context& ctx) { configureTls(ctx, sim.tls(), false); });
  mtls_config.set_ssl_context_callback(
      [&sim](boost::asio::ssl::context& ctx) { configureTls(ctx, sim.tls(), true); });
  Handle api = [&sim](const SimRequest& r) { return sim.handleApi(r); };
  Handle control = [&sim](const SimRequest& r) { return sim.handleControl(r); };

  int api_port = 0, control_port = 0, mtls_port = 0;
  auto api_listener = openListener("https", config->port, api_config, api, false, &api_port);
  auto control_listener =
      openListener("http", config->control_port, control_config, control, false, &control_port);
  std::unique_ptr<http_listener> mtls_listener;
  if (config->clientauth_port >= 0) {
    mtls_listener =
        openListener("https", config->clientauth_port, mtls_config, api, true, &mtls_port);
  }
  if (!api_listener || !control_listener || (config->clientauth_port >= 0 && !mtls_listener)) {
    log::error("cannot listen");
    return 1;
  }

  std::cout << "READY url=https://127.0.0.1:" << api_port
            << " control=http://127.0.0.1:" << control_port << " ca=" << sim.tls().ca_path
            << " api_key=" << sim.adminKeys().front();
  if (mtls_listener) std::cout << " clientauth=https://127.0.0.1:" << mtls_port;
  std::cout << std::endl;

  int received = 0;
  sigwait(&signals, &received);
  log::info("stopping", {{"signal", received}});
  sim.flush();
  // NB: close() waits for open connections; the state is saved, so a close that hangs on a
  // client's idle keep-alive connection is cut short.
  auto closing = std::async(std::launch::async, [&] {
    for (auto* l : {api_listener.get(), control_listener.get(), mtls_listener.get()}) {
      if (l != nullptr) l->close().wait();
    }
  });
  if (closing.wait_for(std::chrono::seconds(3)) != std::future_status::ready) {
    log::shutdown();
    std::_Exit(0);
  }
  log::shutdown();
  return 0;
}

}  // namespace
}  // namespace su::sim

int main(int argc, char** argv) { return su::sim::run(argc, argv); }
