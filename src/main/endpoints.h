#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/result.h"

namespace su::app {

// /healthz, /readyz and /metrics on cpprestsdk's listener. Handlers stay cheap: they share the
// HTTP client's thread pool.
class Endpoints {
 public:
  struct Handlers {
    std::function<bool()> healthy;
    std::function<bool()> ready;
    std::function<std::string()> metrics;  // empty: no /metrics on this listener
  };
  static Result<std::unique_ptr<Endpoints>> start(const std::string& url, Handlers handlers);
  ~Endpoints();
  // Blocks until open connections end; call from the main thread, never from a handler.
  void close();

 private:
  struct Impl;
  explicit Endpoints(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace su::app
