#include "main/endpoints.h"

#include <cpprest/http_listener.h>

namespace su::app {

namespace http = web::http;

struct Endpoints::Impl {
  std::unique_ptr<http::experimental::listener::http_listener> listener;
  Handlers handlers;
  bool open = false;

  void handle(const http::http_request& request) const {
    const std::string path = request.relative_uri().path();
    auto reply = [&](http::status_code code, const std::string& body, const std::string& type) {
      request.reply(code, body, type).then([](pplx::task<void> t) {
        try {
          t.get();
        } catch (...) {  // the client went away
        }
      });
    };
    if (path == "/healthz") {
      bool ok = handlers.healthy && handlers.healthy();
      reply(ok ? http::status_codes::OK : http::status_codes::ServiceUnavailable,
            ok ? "ok\n" : "unhealthy\n", "text/plain");
    } else if (path == "/readyz") {
      bool ok = handlers.ready && handlers.ready();
      reply(ok ? http::status_codes::OK : http::status_codes::ServiceUnavailable,
            ok ? "ok\n" : "not ready\n", "text/plain");
    } else if (path == "/metrics" && handlers.metrics) {
      reply(http::status_codes::OK, handlers.metrics(), "text/plain; version=0.0.4");
    } else {
      reply(http::status_codes::NotFound, "not found\n", "text/plain");
    }
  }
};

Endpoints::Endpoints(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Endpoints::~Endpoints() { close(); }

Result<std::unique_ptr<Endpoints>> Endpoints::start(const std::string& url, Handlers handlers) {
  auto impl = std::make_unique<Impl>();
  impl->handlers = std::move(handlers);
  try {
    impl->listener = std::make_unique<http::experimental::listener::http_listener>(url);
    Impl* raw = impl.get();
    impl->listener->support(http::methods::GET,
                            [raw](const http::http_request& r) { raw->handle(r); });
    impl->listener->open().wait();
    impl->open = true;
  } catch (const std::exception& e) {
    return makeError(ErrorKind::kInvalid, "cannot listen on " + url + ": " + e.what());
  }
  return std::unique_ptr<Endpoints>(new Endpoints(std::move(impl)));
}

void Endpoints::close() {
  if (!impl_ || !impl_->open) return;
  impl_->open = false;
  try {
    impl_->listener->close().wait();
  } catch (...) {  // closing on exit; nothing to report to
  }
}

}  // namespace su::app
