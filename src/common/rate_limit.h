#pragma once

#include <chrono>
#include <mutex>
#include <vector>

#include "common/clock.h"

namespace su {

// A token bucket: `burst` tokens, refilled at `per_second`. Thread-safe.
class TokenBucket {
 public:
  TokenBucket(double per_second, double burst, const Clock& clock);

  // Takes one token if there is one; otherwise returns how long until one is there.
  std::chrono::milliseconds tryTake();
  // Blocks until a token is taken.
  void take();

 private:
  void refill(TimePoint now);

  double per_second_;
  double burst_;
  double tokens_;
  TimePoint last_;
  const Clock& clock_;
  std::mutex mu_;
};

// Several windows at once ("1,000 per 5 minutes and 100 per 5 seconds"): a request may go
// only when every window has room. Each window is a bucket of its count refilled over its span.
class WindowedBudget {
 public:
  struct Window {
    int requests;
    std::chrono::seconds span;
  };
  WindowedBudget(std::vector<Window> windows, const Clock& clock);

  std::chrono::milliseconds tryTake();
  void take();
  // Holds every request until `until` (a server's Retry-After applies to the whole key).
  void pauseUntil(TimePoint until);

 private:
  std::vector<Window> windows_;
  std::vector<double> tokens_;
  TimePoint last_;
  TimePoint paused_until_;
  const Clock& clock_;
  std::mutex mu_;
};

// Exponential backoff with a cap and full jitter off (deterministic for tests): base * 2^n.
std::chrono::milliseconds exponentialBackoff(int attempt, std::chrono::milliseconds base,
                                             std::chrono::milliseconds cap);

}  // namespace su
