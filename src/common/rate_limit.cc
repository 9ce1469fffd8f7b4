#include "common/rate_limit.h"

#include <algorithm>
#include <cmath>
#include <thread>

namespace su {
namespace {

std::chrono::milliseconds millisFor(double tokens_missing, double per_second) {
  double ms = std::ceil(tokens_missing / per_second * 1000.0);
  return std::chrono::milliseconds(static_cast<int64_t>(std::max(1.0, ms)));
}

double secondsBetween(TimePoint a, TimePoint b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace

TokenBucket::TokenBucket(double per_second, double burst, const Clock& clock)
    : per_second_(per_second),
      burst_(std::max(1.0, burst)),
      tokens_(std::max(1.0, burst)),
      last_(clock.now()),
      clock_(clock) {}

void TokenBucket::refill(TimePoint now) {
  if (now > last_) tokens_ = std::min(burst_, tokens_ + secondsBetween(last_, now) * per_second_);
  last_ = now;
}

std::chrono::milliseconds TokenBucket::tryTake() {
  std::lock_guard lock(mu_);
  if (per_second_ <= 0) return std::chrono::milliseconds(0);  // unlimited
  refill(clock_.now());
  if (tokens_ >= 1.0) {
    tokens_ -= 1.0;
    return std::chrono::milliseconds(0);
  }
  return millisFor(1.0 - tokens_, per_second_);
}

void TokenBucket::take() {
  for (auto wait = tryTake(); wait.count() > 0; wait = tryTake()) {
    std::this_thread::sleep_for(wait);
  }
}

WindowedBudget::WindowedBudget(std::vector<Window> windows, const Clock& clock)
    : windows_(std::move(windows)), last_(clock.now()), clock_(clock) {
  for (const Window& w : windows_) tokens_.push_back(w.requests);
}

std::chrono::milliseconds WindowedBudget::tryTake() {
  std::lock_guard lock(mu_);
  TimePoint now = clock_.now();
  if (now < paused_until_) {
    return std::chrono::ceil<std::chrono::milliseconds>(paused_until_ - now);
  }
  double elapsed = now > last_ ? secondsBetween(last_, now) : 0.0;
  last_ = std::max(last_, now);
  std::chrono::milliseconds wait{0};
  for (size_t i = 0; i < windows_.size(); ++i) {
    double rate = windows_[i].requests / static_cast<double>(windows_[i].span.count());
    tokens_[i] = std::min<double>(windows_[i].requests, tokens_[i] + elapsed * rate);
    if (tokens_[i] < 1.0) wait = std::max(wait, millisFor(1.0 - tokens_[i], rate));
  }
  if (wait.count() > 0) return wait;
  for (double& t : tokens_) t -= 1.0;
  return wait;
}

void WindowedBudget::take() {
  for (auto wait = tryTake(); wait.count() > 0; wait = tryTake()) {
    std::this_thread::sleep_for(wait);
  }
}

void WindowedBudget::pauseUntil(TimePoint until) {
  std::lock_guard lock(mu_);
  paused_until_ = std::max(paused_until_, until);
}

std::chrono::milliseconds exponentialBackoff(int attempt, std::chrono::milliseconds base,
                                             std::chrono::milliseconds cap) {
  if (attempt <= 0) return base;
  int shift = std::min(attempt, 30);
  int64_t ms = base.count() << shift;
  if (ms <= 0 || ms > cap.count()) return cap;
  return std::chrono::milliseconds(ms);
}

}  // namespace su
