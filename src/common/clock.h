#pragma once

#include <atomic>
#include <chrono>

namespace su {

using TimePoint = std::chrono::system_clock::time_point;
using Duration = std::chrono::system_clock::duration;

// Wall-clock time, injectable so schedules and expiry can be tested with a moved clock.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::system_clock::now(); }
};

// Real time shifted by an offset that can change while the program runs. The operator and the
// simulator use it for rotation tests and local demos that move time forward.
class OffsetClock final : public Clock {
 public:
  explicit OffsetClock(Duration offset = Duration::zero()) : offset_(offset.count()) {}
  TimePoint now() const override {
    return std::chrono::system_clock::now() + Duration(offset_.load(std::memory_order_relaxed));
  }
  void setOffset(Duration offset) { offset_.store(offset.count(), std::memory_order_relaxed); }
  Duration offset() const { return Duration(offset_.load(std::memory_order_relaxed)); }

 private:
  std::atomic<Duration::rep> offset_;
};

// A clock that moves only when told, for unit tests.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimePoint start) : now_(start.time_since_epoch().count()) {}
  TimePoint now() const override { return TimePoint(Duration(now_.load())); }
  void set(TimePoint t) { now_.store(t.time_since_epoch().count()); }
  void advance(Duration d) { now_.fetch_add(d.count()); }

 private:
  std::atomic<Duration::rep> now_;
};

}  // namespace su
