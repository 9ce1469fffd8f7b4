// The work queue's rules, checked with real threads and short delays.
#include "kube/work_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "common/metrics.h"

namespace su::kube {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

WorkQueueOptions fastOptions(const std::string& name) {
  WorkQueueOptions options;
  options.name = name;
  options.base_delay = 10ms;
  options.max_delay = 80ms;
  options.qps = 1000;
  options.burst = 1000;
  return options;
}

TEST(WorkQueue, CollapsesDuplicateAdds) {
  WorkQueue queue(fastOptions("dups"));
  queue.add("ns/a");
  queue.add("ns/b");
  queue.add("ns/a");
  EXPECT_EQ(queue.length(), 2u);
  EXPECT_EQ(queue.get(), "ns/a");
  EXPECT_EQ(queue.get(), "ns/b");
  EXPECT_EQ(queue.length(), 0u);
}

TEST(WorkQueue, RequeuesAKeyAddedWhileItIsProcessedOnlyAfterDone) {
  WorkQueue queue(fastOptions("requeue"));
  queue.add("k");
  auto key = queue.get();
  ASSERT_EQ(key, "k");
  queue.add("k");
  EXPECT_EQ(queue.length(), 0u);  // not handed out while a worker holds it
  queue.done("k");
  EXPECT_EQ(queue.length(), 1u);
  EXPECT_EQ(queue.get(), "k");
}

TEST(WorkQueue, NeverHandsOneKeyToTwoWorkersAtOnce) {
  WorkQueue queue(fastOptions("exclusive"));
  std::mutex mu;
  std::map<std::string, int> active;
  std::atomic<int> overlaps{0}, processed{0};
  {
    WorkerPool pool(queue, 4, [&](const std::string& key) {
      {
        std::lock_guard lock(mu);
        if (++active[key] > 1) overlaps++;
      }
      std::this_thread::sleep_for(1ms);
      {
        std::lock_guard lock(mu);
        --active[key];
      }
      processed++;
      return Outcome::done();
    });
    for (int i = 0; i < 400; ++i) {
      queue.add("key-" + std::to_string(i % 3));
      std::this_thread::sleep_for(100us);
    }
    auto deadline = Steady::now() + 5s;
    while ((queue.length() > 0) && Steady::now() < deadline) std::this_thread::sleep_for(5ms);
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_GE(processed.load(), 3);
  EXPECT_LT(processed.load(), 400);  // duplicates collapsed
}

TEST(WorkQueue, BacksOffEachFailingKeyExponentiallyUpToTheCap) {
  WorkQueue queue(fastOptions("backoff"));
  const std::chrono::milliseconds expected[] = {10ms, 20ms, 40ms, 80ms, 80ms};
  for (auto want : expected) {
    auto start = Steady::now();
    queue.addRateLimited("k");
    EXPECT_EQ(queue.length(), 0u);
    ASSERT_EQ(queue.get(), "k");
    auto waited = Steady::now() - start;
    EXPECT_GE(waited, want);
    EXPECT_LT(waited, want + 150ms);  // generous: the machine may be busy
    queue.done("k");
  }
  EXPECT_EQ(queue.failures("k"), 5);
  queue.forget("k");
  EXPECT_EQ(queue.failures("k"), 0);
}

TEST(WorkQueue, SpreadsABurstOfFailuresWithTheOverallBucket) {
  WorkQueueOptions options = fastOptions("bucket");
  options.base_delay = 1ms;
  options.qps = 20;
  options.burst = 2;
  WorkQueue queue(options);
  auto start = Steady::now();
  for (int i = 0; i < 6; ++i) queue.addRateLimited("k" + std::to_string(i));
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(queue.get().has_value());
  // Two keys go at once, the other four wait 50 ms apart.
  EXPECT_GE(Steady::now() - start, 190ms);
}

TEST(WorkQueue, SchedulesDelayedKeysAndKeepsTheEarliestTime) {
  WorkQueue queue(fastOptions("after"));
  auto start = Steady::now();
  queue.addAfter("late", 300ms);
  queue.addAfter("late", 60ms);   // sooner wins
  queue.addAfter("late", 500ms);  // later is ignored
  queue.addAfter("now", 0ms);
  EXPECT_EQ(queue.delayedLength(), 1u);
  EXPECT_EQ(queue.get(), "now");
  EXPECT_EQ(queue.get(), "late");
  auto waited = Steady::now() - start;
  EXPECT_GE(waited, 60ms);
  EXPECT_LT(waited, 250ms);
}

TEST(WorkQueue, WakesEveryWaitingWorkerOnShutDown) {
  WorkQueue queue(fastOptions("shutdown"));
  std::atomic<int> ended{0};
  std::vector<std::thread> waiters;
  for (int i = 0; i < 3; ++i) {
    waiters.emplace_back([&] {
      EXPECT_FALSE(queue.get().has_value());
      ended++;
    });
  }
  queue.addAfter("never", 1h);
  std::this_thread::sleep_for(20ms);
  queue.shutDown();
  for (auto& t : waiters) t.join();
  EXPECT_EQ(ended.load(), 3);
  queue.add("ignored");
  EXPECT_EQ(queue.length(), 0u);
}

TEST(WorkQueue, ExportsItsDepthAsAGauge) {
  WorkQueue queue(fastOptions("gauge-check"));
  auto& depth = metrics::defaultRegistry().gauge("workqueue_depth", "", {"name"});
  queue.add("a");
  queue.add("b");
  EXPECT_EQ(depth.labels({"gauge-check"}).value(), 2.0);
  ASSERT_TRUE(queue.get().has_value());
  EXPECT_EQ(depth.labels({"gauge-check"}).value(), 1.0);
}

TEST(WorkerPool, AppliesEachOutcomeToItsKey) {
  WorkQueue queue(fastOptions("outcomes"));
  std::mutex mu;
  std::map<std::string, int> calls;
  WorkerPool pool(queue, 2, [&](const std::string& key) {
    std::lock_guard lock(mu);
    int n = ++calls[key];
    if (key == "flaky" && n < 3) return Outcome::backoff();
    if (key == "periodic" && n < 4) return Outcome::after(5ms);
    return Outcome::done();
  });
  queue.add("flaky");
  queue.add("periodic");
  queue.add("once");
  auto deadline = Steady::now() + 3s;
  auto settled = [&] {
    std::lock_guard lock(mu);
    return calls["flaky"] == 3 && calls["periodic"] == 4 && calls["once"] == 1;
  };
  while (!settled() && Steady::now() < deadline) std::this_thread::sleep_for(5ms);
  EXPECT_TRUE(settled());
  EXPECT_EQ(queue.failures("flaky"), 0);  // forgotten after success
  std::this_thread::sleep_for(50ms);
  std::lock_guard lock(mu);
  EXPECT_EQ(calls["once"], 1);
}

}  // namespace
}  // namespace su::kube
