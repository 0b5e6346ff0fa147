// The pipeline library: queues, configs and graph validation, load generators on a fake clock,
// the runner (closed and open loop, failures, timeouts), statistics and the event log.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <numeric>
#include <sstream>
#include <thread>

#include "pipeline/config.hpp"
#include "pipeline/events.hpp"
#include "pipeline/loadgen.hpp"
#include "pipeline/queue.hpp"
#include "pipeline/runner.hpp"
#include "pipeline/stage.hpp"
#include "pipeline/stats.hpp"

namespace colo::pipeline {
namespace {

using nlohmann::json;

json chain(const std::string& load) {
  return json::parse(R"({"stages": [{"name": "a", "kind": "noop"}, {"name": "b", "kind": "noop"}],
                         "load": )" +
                     load + "}");
}

std::string error_of(const json& doc) {
  auto c = parse_config(doc);
  return c ? std::string("(no error)") : c.error().message;
}

TEST(PipelineQueue, FifoBoundedAndClosable) {
  BoundedQueue<int> q(2);
  int a = 1;
  int b = 2;
  int c = 3;
  EXPECT_TRUE(q.try_push(a));
  EXPECT_TRUE(q.push(b));
  EXPECT_FALSE(q.try_push(c));  // full
  EXPECT_EQ(q.pop(), 1);
  q.close();
  EXPECT_FALSE(q.push(c));
  EXPECT_EQ(q.pop(), 2);  // drains after close
  EXPECT_EQ(q.pop(), std::nullopt);
}

TEST(PipelineQueue, PopForTakesWhatIsThereWithoutWaitingPastItsTimeout) {
  BoundedQueue<int> q(4);
  EXPECT_EQ(q.pop_for(std::chrono::nanoseconds(0)), std::nullopt);  // empty: no wait
  EXPECT_EQ(q.pop_for(std::chrono::nanoseconds(-5)), std::nullopt);
  int a = 7;
  ASSERT_TRUE(q.push(a));
  EXPECT_EQ(q.pop_for(std::chrono::hours(1)), 7);  // there: at once
  q.close();
  EXPECT_EQ(q.pop_for(std::chrono::hours(1)), std::nullopt);  // closed and drained: at once
}

TEST(PipelineQueue, ManyProducersAndConsumersLoseNothing) {
  BoundedQueue<int> q(4);
  std::atomic<long> sum{0};
  std::vector<std::thread> consumers;
  for (int c = 0; c < 3; ++c) {
    consumers.emplace_back([&] {
      while (auto v = q.pop()) {
        sum += *v;
      }
    });
  }
  std::vector<std::thread> producers;
  for (int p = 0; p < 3; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 1; i <= 1000; ++i) {
        int v = i + p * 1000;
        ASSERT_TRUE(q.push(v));
      }
    });
  }
  for (auto& t : producers) {
    t.join();
  }
  q.close();
  for (auto& t : consumers) {
    t.join();
  }
  EXPECT_EQ(sum.load(), 3000L * 3001 / 2);
}

TEST(PipelineQueue, StaysFifoWhileItsRingGrowsAndWraps) {
  BoundedQueue<int> q(100);
  int next_in = 0;
  int next_out = 0;
  // Uneven pushes and pops: the ring grows (8, 16, ... 100 cells) with its head mid-ring.
  for (int round = 0; round < 40; ++round) {
    for (int i = 0; i < 5 && q.size() < q.capacity(); ++i) {
      int v = next_in++;
      ASSERT_TRUE(q.try_push(v));
    }
    for (int i = 0; i < 2; ++i) {
      ASSERT_EQ(q.pop(), next_out++);
    }
  }
  EXPECT_EQ(q.size(), 98U);  // +5 -2 a round, the pushes capped at 100
  for (int i = 0; i < 2; ++i) {
    int v = next_in++;
    ASSERT_TRUE(q.try_push(v));
  }
  int extra = -1;
  EXPECT_FALSE(q.try_push(extra));  // full at the capacity
  EXPECT_EQ(extra, -1);
  while (q.size() > 0) {
    ASSERT_EQ(q.pop(), next_out++);
  }
  EXPECT_EQ(next_out, next_in);
}

// Every item arrives exactly once, whichever side waits and whether pops poll before sleeping.
void expect_each_item_once(QueueSpin spin, int producers, int consumers, std::size_t capacity) {
  constexpr int k_per_producer = 5000;
  BoundedQueue<int> q(capacity, spin);
  std::vector<std::atomic<int>> seen(static_cast<std::size_t>(producers * k_per_producer));
  std::atomic<std::size_t> max_size{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < consumers; ++c) {
    threads.emplace_back([&] {
      while (auto v = q.pop()) {
        seen[static_cast<std::size_t>(*v)].fetch_add(1);
        const std::size_t n = q.size();
        std::size_t m = max_size.load();
        while (n > m && !max_size.compare_exchange_weak(m, n)) {
        }
      }
    });
  }
  std::vector<std::thread> pushers;
  for (int p = 0; p < producers; ++p) {
    pushers.emplace_back([&, p] {
      for (int i = 0; i < k_per_producer; ++i) {
        int v = p * k_per_producer + i;
        ASSERT_TRUE(q.push(v));
      }
    });
  }
  for (auto& t : pushers) {
    t.join();
  }
  q.close();
  for (auto& t : threads) {
    t.join();
  }
  int lost = 0;
  int repeated = 0;
  for (const auto& n : seen) {
    lost += n.load() == 0 ? 1 : 0;
    repeated += n.load() > 1 ? 1 : 0;
  }
  EXPECT_EQ(lost, 0);
  EXPECT_EQ(repeated, 0);
  EXPECT_LE(max_size.load(), capacity);  // back-pressure: never more than the capacity queued
}

TEST(PipelineQueue, OneProducerOneConsumerLoseAndRepeatNothing) {
  expect_each_item_once(QueueSpin::never, 1, 1, 4);
  expect_each_item_once(QueueSpin::adaptive, 1, 1, 4);
  expect_each_item_once(QueueSpin::adaptive, 1, 1, 1);
}

TEST(PipelineQueue, ManyProducersAndPollingConsumersLoseAndRepeatNothing) {
  expect_each_item_once(QueueSpin::never, 3, 3, 2);
  expect_each_item_once(QueueSpin::adaptive, 3, 3, 2);
}

TEST(PipelineQueue, CloseWakesBlockedConsumersAndProducers) {
  for (const auto spin : {QueueSpin::never, QueueSpin::adaptive}) {
    BoundedQueue<int> empty(1, spin);
    std::atomic<int> woken{0};
    std::vector<std::thread> consumers;
    for (int i = 0; i < 2; ++i) {
      consumers.emplace_back([&] {
        EXPECT_EQ(empty.pop(), std::nullopt);
        ++woken;
      });
    }
    BoundedQueue<int> full(1, spin);
    int first = 1;
    ASSERT_TRUE(full.push(first));
    std::thread producer([&] {
      int v = 2;
      EXPECT_FALSE(full.push(v));  // closed while waiting for room
      EXPECT_EQ(v, 2);             // untouched
      ++woken;
    });
    // Both queues' threads asleep in them (no timing: wait until the queues say so).
    while (empty.blocked_pops() < 2 || full.blocked_pushes() < 1) {
      std::this_thread::yield();
    }
    EXPECT_EQ(woken.load(), 0);
    empty.close();
    full.close();
    for (auto& t : consumers) {
      t.join();
    }
    producer.join();
    EXPECT_EQ(woken.load(), 3);
    EXPECT_EQ(full.pop(), 1);  // what was queued before the close is still drained
    EXPECT_EQ(full.pop(), std::nullopt);
  }
}

TEST(PipelineQueue, AFullQueueHoldsItsProducerUntilAPopMakesRoom) {
  BoundedQueue<int> q(2);
  int a = 1;
  int b = 2;
  ASSERT_TRUE(q.push(a));
  ASSERT_TRUE(q.push(b));
  std::atomic<bool> pushed{false};
  std::thread producer([&] {
    int c = 3;
    EXPECT_TRUE(q.push(c));
    pushed = true;
  });
  while (q.blocked_pushes() < 1) {
    std::this_thread::yield();
  }
  EXPECT_FALSE(pushed.load());  // blocked: the queue is full
  EXPECT_EQ(q.size(), 2U);
  EXPECT_EQ(q.pop(), 1);  // room: the producer goes on
  producer.join();
  EXPECT_TRUE(pushed.load());
  EXPECT_EQ(q.pop(), 2);
  EXPECT_EQ(q.pop(), 3);
}

TEST(PipelineQueue, AdaptivePollGivesUpAfterFruitlessPollsAndProbesAgain) {
  AdaptivePoll poll;
  int checks = 0;
  const auto never = [&] {
    ++checks;
    return false;
  };
  EXPECT_TRUE(poll.until([] { return true; }));
  for (int i = 0; i < AdaptivePoll::k_misses; ++i) {
    checks = 0;
    EXPECT_FALSE(poll.until(never));
    EXPECT_GT(checks, 1);  // polled
  }
  checks = 0;
  EXPECT_FALSE(poll.until(never));  // the first call past the misses probes
  EXPECT_GT(checks, 1);
  for (unsigned i = 1; i < AdaptivePoll::k_probe; ++i) {
    checks = 0;
    EXPECT_FALSE(poll.until(never));
    EXPECT_EQ(checks, 1);  // one look, no polling
  }
  checks = 0;
  EXPECT_TRUE(poll.until([&] { return ++checks > 3; }));  // the next probe finds it: polls again
  checks = 0;
  EXPECT_FALSE(poll.until(never));
  EXPECT_GT(checks, 1);
}

TEST(PipelineConfig, ParsesAChainWithDefaults) {
  auto c =
      parse_config(chain(R"({"kind": "poisson", "rate": "200", "duration": "10s", "seed": 7})"));
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->order.size(), 2U);
  EXPECT_EQ(c->order[0], 0U);
  EXPECT_EQ(c->load.kind, LoadKind::poisson);
  EXPECT_DOUBLE_EQ(c->load.rate, 200);
  EXPECT_EQ(c->load.seed, 7U);
  EXPECT_EQ(c->stages[1].queue_depth, 64U);
}

TEST(PipelineConfig, ExplicitEdgesGiveTheChainOrder) {
  auto doc = json::parse(R"({"stages": [
      {"name": "model", "kind": "noop"},
      {"name": "load", "kind": "noop", "next": "pre"},
      {"name": "pre", "kind": "noop", "next": ["model"]}],
    "load": {"kind": "closed", "outstanding": 4, "max_queries": 10}})");
  auto c = parse_config(doc);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->order, (std::vector<std::size_t>{1, 2, 0}));
}

TEST(PipelineConfig, RefusesBadGraphsNamingTheProblem) {
  const auto cyc = json::parse(R"({"stages": [{"name": "a", "kind": "noop", "next": "b"},
      {"name": "b", "kind": "noop", "next": "a"}], "load": {"kind": "closed"}})");
  EXPECT_NE(error_of(cyc).find("cycle"), std::string::npos) << error_of(cyc);
  const auto cyc2 = json::parse(R"({"stages": [{"name": "s", "kind": "noop", "next": "a"},
      {"name": "a", "kind": "noop", "next": "b"}, {"name": "b", "kind": "noop", "next": "a"}],
      "load": {"kind": "closed"}})");
  EXPECT_NE(error_of(cyc2).find("predecessors"), std::string::npos) << error_of(cyc2);
  const auto island = json::parse(R"({"stages": [{"name": "a", "kind": "noop", "next": "b"},
      {"name": "b", "kind": "noop"}, {"name": "c", "kind": "noop"}], "load": {"kind": "closed"}})");
  EXPECT_NE(error_of(island).find("'c' is not connected"), std::string::npos) << error_of(island);
  const auto fork = json::parse(R"({"stages": [{"name": "a", "kind": "noop", "next": ["b", "c"]},
      {"name": "b", "kind": "noop"}, {"name": "c", "kind": "noop"}], "load": {"kind": "closed"}})");
  EXPECT_NE(error_of(fork).find("forks"), std::string::npos);
  const auto unknown_next = json::parse(R"({"stages": [{"name": "a", "kind": "noop", "next": "zz"}],
      "load": {"kind": "closed"}})");
  EXPECT_NE(error_of(unknown_next).find("unknown stage 'zz'"), std::string::npos);
  const auto twice = json::parse(R"({"stages": [{"name": "a", "kind": "noop"},
      {"name": "a", "kind": "noop"}], "load": {"kind": "closed"}})");
  EXPECT_NE(error_of(twice).find("defined twice"), std::string::npos);
}

TEST(PipelineConfig, RefusesBadStagesAndLoads) {
  const auto unknown = json::parse(R"({"stages": [{"name": "a", "kind": "resnet"}],
      "load": {"kind": "closed"}})");
  EXPECT_NE(error_of(unknown).find("stages[0].kind: unknown stage 'resnet'"), std::string::npos)
      << error_of(unknown);
  const auto depth0 = json::parse(R"({"stages": [{"name": "a", "kind": "noop", "queue_depth": 0}],
      "load": {"kind": "closed"}})");
  EXPECT_NE(error_of(depth0).find("queue depth 0"), std::string::npos);
  EXPECT_NE(error_of(chain(R"({"kind": "poisson", "rate": 0})")).find("impossible rate"),
            std::string::npos);
  EXPECT_NE(error_of(chain(R"({"kind": "poisson", "rate": -5})")).find("impossible rate"),
            std::string::npos);
  EXPECT_NE(error_of(chain(R"({"kind": "poisson", "rate": 1e9})")).find("impossible rate"),
            std::string::npos);
  EXPECT_NE(error_of(chain(R"({"kind": "poisson"})")).find("needs a rate"), std::string::npos);
  EXPECT_NE(error_of(chain(R"({"kind": "server", "rate": 10})")).find("latency_bound"),
            std::string::npos);
  EXPECT_NE(error_of(chain(R"({"kind": "offline"})")).find("max_queries"), std::string::npos);
  EXPECT_NE(error_of(chain(R"({"kind": "closed", "queue_depth": 0})")).find("queue depth 0"),
            std::string::npos);
  EXPECT_NE(error_of(chain(R"({"kind": "bursty"})")).find("unknown load generator"),
            std::string::npos);
  EXPECT_NE(error_of(chain(R"({"kind": "closed", "rat": 3})")).find("unknown field 'rat'"),
            std::string::npos);
  const auto param = json::parse(R"({"stages": [{"name": "a", "kind": "sleep",
      "params": {"ms": "x"}}], "load": {"kind": "closed"}})");
  EXPECT_NE(error_of(param).find("stages[0].params: ms: 'x' is not a number"), std::string::npos)
      << error_of(param);
  const auto loader = json::parse(R"({"stages": [{"name": "a", "kind": "loader"}],
      "load": {"kind": "closed"}})");
  EXPECT_NE(error_of(loader).find("needs 'path'"), std::string::npos);
}

TEST(PipelineLoadgen, PoissonIsSeededAndHasTheRequestedRate) {
  LoadConfig l;
  l.kind = LoadKind::poisson;
  l.rate = 1000;
  l.seed = 3;
  ArrivalProcess a(l);
  ArrivalProcess b(l);
  l.seed = 4;
  ArrivalProcess c(l);
  Nanos last{0};
  bool differs = false;
  const int n = 200'000;
  for (int i = 0; i < n; ++i) {
    const Nanos t = a.next();
    EXPECT_GE(t, last);
    last = t;
    ASSERT_EQ(t, b.next());
    differs = differs || t != c.next();
  }
  EXPECT_TRUE(differs);
  const double rate = n / to_seconds(last);
  EXPECT_NEAR(rate, 1000, 10);  // 1%: the mean of 200k exponential gaps is within 0.5% (>6 sigma)
}

TEST(PipelineLoadgen, MultiStreamAndOfflineSchedules) {
  LoadConfig l;
  l.kind = LoadKind::multi_stream;
  l.interval = Seconds(0.05);
  ArrivalProcess a(l);
  EXPECT_EQ(a.next(), Nanos(0));
  EXPECT_EQ(a.next(), Nanos(50'000'000));
  EXPECT_EQ(a.next(), Nanos(100'000'000));
  l.kind = LoadKind::offline;
  ArrivalProcess o(l);
  EXPECT_EQ(o.next(), Nanos(0));
  EXPECT_EQ(o.next(), Nanos(0));
  EXPECT_TRUE(is_closed_loop(LoadKind::single_stream));
  EXPECT_FALSE(is_closed_loop(LoadKind::server));
}

PipelineConfig config(const std::string& text) {
  auto c = parse_config(json::parse(text));
  EXPECT_TRUE(c) << c.error().message;
  return c ? *c : PipelineConfig{};
}

std::vector<std::unique_ptr<Stage>> noops(std::size_t n) {
  std::vector<std::unique_ptr<Stage>> out;
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(std::make_unique<FunctionStage>([](QueryRecord&) { return Status{}; }));
  }
  return out;
}

TEST(PipelineRunner, ClosedLoopCompletesEveryQueryThroughEveryStage) {
  const auto cfg = config(R"({"stages": [{"name": "a", "kind": "noop", "threads": 2},
      {"name": "b", "kind": "noop", "queue_depth": 1}, {"name": "c", "kind": "noop"}],
      "load": {"kind": "closed", "outstanding": 8, "max_queries": 2000}})");
  FakeClock clock;
  FakeWaiter waiter(clock);
  std::atomic<int> seen{0};
  Runner runner(cfg, noops(3), clock, waiter, [&](const QueryRecord&) { ++seen; });
  const auto res = runner.run();
  ASSERT_EQ(res.queries.size(), 2000U);
  EXPECT_EQ(seen.load(), 2000);
  for (std::size_t i = 0; i < res.queries.size(); ++i) {
    const auto& q = *res.queries[i];
    EXPECT_EQ(q.id, static_cast<std::int64_t>(i));
    EXPECT_EQ(q.status, QueryStatus::completed);
    ASSERT_EQ(q.stages.size(), 3U);
    for (const auto& s : q.stages) {
      EXPECT_GE(s.start_ns, 0);
      EXPECT_GE(s.end_ns, s.start_ns);
    }
  }
  EXPECT_EQ(res.stage_names, (std::vector<std::string>{"a", "b", "c"}));
}

TEST(PipelineRunner, OpenLoopIssuesAtTheScheduledTimesOfItsSeed) {
  const auto cfg = config(R"({"stages": [{"name": "a", "kind": "noop"}],
      "load": {"kind": "poisson", "rate": 500, "max_queries": 300, "seed": 11}})");
  FakeClock clock;
  FakeWaiter waiter(clock);
  Runner runner(cfg, noops(1), clock, waiter);
  const auto res = runner.run();
  ArrivalProcess expected(cfg.load);
  ASSERT_EQ(res.queries.size(), 300U);
  for (const auto& q : res.queries) {
    EXPECT_EQ(q->scheduled_ns, expected.next().count());
    EXPECT_GE(q->issued_ns, q->scheduled_ns);  // the fake clock reached the arrival first
  }
  const auto stats = summarize(
      [&] {
        std::vector<QueryRecord> v;
        for (const auto& q : res.queries) {
          QueryRecord r;
          r.id = q->id;
          r.scheduled_ns = q->scheduled_ns;
          r.done_ns = q->done_ns;
          r.status = q->status;
          v.push_back(std::move(r));
        }
        return v;
      }(),
      res.stage_names);
  EXPECT_EQ(stats.completed, 300);
  EXPECT_NEAR(stats.offered_qps, 500, 500 * 0.2);  // 300 draws: loose, but from the seed
}

TEST(PipelineRunner, DurationStopsAnOpenLoop) {
  const auto cfg = config(R"({"stages": [{"name": "a", "kind": "noop"}],
      "load": {"kind": "multi-stream", "interval": "10ms", "samples": 4, "duration": "1s"}})");
  FakeClock clock;
  FakeWaiter waiter(clock);
  Runner runner(cfg, noops(1), clock, waiter);
  const auto res = runner.run();
  ASSERT_EQ(res.queries.size(), 100U);  // t = 0, 10 ms, ..., 990 ms
  EXPECT_EQ(res.queries.back()->scheduled_ns, 990'000'000);
  EXPECT_EQ(res.queries.front()->samples, 4);
}

TEST(PipelineRunner, AThrowingStageFailsItsQueriesByNameAndTheRestGoOn) {
  const auto cfg = config(R"({"stages": [{"name": "pre", "kind": "noop"},
      {"name": "model", "kind": "fail", "params": {"every": 10}}],
      "load": {"kind": "closed", "outstanding": 2, "max_queries": 100}})");
  FakeClock clock;
  FakeWaiter waiter(clock);
  std::vector<std::unique_ptr<Stage>> stages = noops(1);
  StageEnv env{&clock, &waiter, "", "", {}, {}};
  stages.push_back(std::move(*make_stage(cfg.stages[1], env)));
  Runner runner(cfg, std::move(stages), clock, waiter);
  const auto res = runner.run();
  ASSERT_EQ(res.queries.size(), 100U);
  int failed = 0;
  for (const auto& q : res.queries) {
    if (q->status == QueryStatus::failed) {
      ++failed;
      EXPECT_EQ(q->failed_stage, 1);
      EXPECT_NE(q->error.find("stage 'model': threw: injected failure"), std::string::npos)
          << q->error;
    } else {
      EXPECT_EQ(q->status, QueryStatus::completed);
    }
  }
  EXPECT_EQ(failed, 10);
  EXPECT_FALSE(res.stopped_by_failure);
}

TEST(PipelineRunner, RecordsReusedPastMaxEventsCarryNothingOfTheirLastQuery) {
  // max_events 0 keeps no query: every record after the first `outstanding` is a reused one.
  // Every 3rd query fails in the second stage; the others must come out clean.
  const auto cfg = config(R"({"stages": [{"name": "pre", "kind": "noop"},
      {"name": "model", "kind": "fail", "params": {"every": 3}}], "max_events": 0,
      "load": {"kind": "closed", "outstanding": 2, "max_queries": 300}})");
  FakeClock clock;
  FakeWaiter waiter(clock);
  std::vector<std::unique_ptr<Stage>> stages = noops(1);
  StageEnv env{&clock, &waiter, "", "", {}, {}};
  stages.push_back(std::move(*make_stage(cfg.stages[1], env)));
  std::mutex mutex;
  std::map<std::int64_t, std::string> bad;  // query id -> what was wrong with its record
  int finished = 0;
  Runner runner(cfg, std::move(stages), clock, waiter, [&](const QueryRecord& q) {
    std::lock_guard lock(mutex);
    ++finished;
    const bool fails = (q.id + 1) % 3 == 0;
    const bool ok =
        fails ? q.status == QueryStatus::failed && q.failed_stage == 1 &&
                    q.error.find("injected failure") != std::string::npos
              : q.status == QueryStatus::completed && q.failed_stage == -1 && q.error.empty();
    const bool times = q.stages.size() == 2 && q.stages[0].start_ns >= q.scheduled_ns &&
                       q.stages[1].start_ns >= q.stages[0].end_ns && q.done_ns >= q.issued_ns &&
                       !q.cancel.is_set();
    if (!ok || !times) {
      bad[q.id] = fmt::format("status {} stage {} error '{}'", to_string(q.status), q.failed_stage,
                              q.error);
    }
  });
  const auto res = runner.run();
  EXPECT_EQ(finished, 300);
  EXPECT_EQ(res.queries.size(), 0U);
  EXPECT_EQ(res.queries_not_logged, 300);
  EXPECT_TRUE(bad.empty()) << bad.size() << " bad records, e.g. query " << bad.begin()->first
                           << ": " << bad.begin()->second;
}

TEST(PipelineRunner, StopPolicyEndsTheRunAtTheFirstFailure) {
  const auto cfg = config(R"({"stages": [{"name": "bad", "kind": "noop"}],
      "load": {"kind": "closed", "max_queries": 1000}, "on_failure": "stop"})");
  FakeClock clock;
  FakeWaiter waiter(clock);
  std::vector<std::unique_ptr<Stage>> stages;
  stages.push_back(std::make_unique<FunctionStage>([](QueryRecord& q) -> Status {
    if (q.id == 5) {
      return fail(ErrorCode::io, "disk gone");
    }
    return {};
  }));
  Runner runner(cfg, std::move(stages), clock, waiter);
  const auto res = runner.run();
  EXPECT_TRUE(res.stopped_by_failure);
  EXPECT_LT(res.queries.size(), 1000U);
  EXPECT_EQ(res.queries[5]->error, "stage 'bad': disk gone");
}

TEST(PipelineRunner, AStopDropsTheQueuedQueriesAndFinishesTheServedOnes) {
  const auto cfg = config(R"({"stages": [{"name": "gate", "kind": "noop"}],
      "load": {"kind": "offline", "max_queries": 100, "queue_depth": 100}})");
  FakeClock clock;
  FakeWaiter waiter(clock);
  Runner* self = nullptr;
  std::vector<std::unique_ptr<Stage>> stages;
  stages.push_back(std::make_unique<FunctionStage>([&](QueryRecord& q) -> Status {
    if (q.id == 0) {
      self->request_stop();  // e.g. SIGTERM while the first query is served
    }
    return {};
  }));
  Runner runner(cfg, std::move(stages), clock, waiter);
  self = &runner;
  const auto res = runner.run();
  ASSERT_FALSE(res.queries.empty());
  EXPECT_EQ(res.queries[0]->status, QueryStatus::completed);
  for (std::size_t i = 1; i < res.queries.size(); ++i) {
    EXPECT_EQ(res.queries[i]->status, QueryStatus::dropped);
    EXPECT_NE(res.queries[i]->error.find("stopped before stage 'gate' ran it"), std::string::npos);
  }
}

TEST(PipelineRunner, AHangingStageFailsTheQueryAtTheStageTimeout) {
  const auto cfg = config(R"({"stages": [{"name": "hang", "kind": "noop"}],
      "load": {"kind": "closed", "max_queries": 3}, "stage_timeout": "1s"})");
  FakeClock clock;
  FakeWaiter waiter(clock);
  std::vector<std::unique_ptr<Stage>> stages;
  // Query 1 hangs (until the watchdog cancels it, 1 s of the fake clock later).
  stages.push_back(std::make_unique<FunctionStage>([&](QueryRecord& q) -> Status {
    if (q.id == 1) {
      clock.advance(std::chrono::seconds(2));
      while (!q.cancel.is_set()) {
        std::this_thread::yield();
      }
    }
    return {};
  }));
  Runner runner(cfg, std::move(stages), clock, waiter);
  const auto res = runner.run();
  ASSERT_EQ(res.queries.size(), 3U);
  EXPECT_EQ(res.queries[0]->status, QueryStatus::completed);
  EXPECT_EQ(res.queries[1]->status, QueryStatus::failed);
  EXPECT_NE(res.queries[1]->error.find("stage 'hang' exceeded stage_timeout"), std::string::npos);
  EXPECT_EQ(res.queries[2]->status, QueryStatus::completed);
}

TEST(PipelineRunner, SleepStageOverTheTimeoutFailsOnAFakeClock) {
  const auto cfg = config(R"({"stages": [{"name": "slow", "kind": "sleep", "params": {"ms": 5000}}],
      "load": {"kind": "single-stream", "max_queries": 2}, "stage_timeout": "1s"})");
  FakeClock clock;
  FakeWaiter waiter(clock);
  StageEnv env{&clock, &waiter, "", "", {}, {}};
  std::vector<std::unique_ptr<Stage>> stages;
  stages.push_back(std::move(*make_stage(cfg.stages[0], env)));
  Runner runner(cfg, std::move(stages), clock, waiter);
  const auto res = runner.run();
  ASSERT_EQ(res.queries.size(), 2U);
  EXPECT_EQ(res.queries[0]->status, QueryStatus::failed);
  EXPECT_EQ(res.queries[0]->stages[0].end_ns - res.queries[0]->stages[0].start_ns, 5'000'000'000);
}

TEST(PipelineRunner, AFullFirstQueueDropsOpenLoopArrivals) {
  const auto cfg = config(R"({"stages": [{"name": "gate", "kind": "noop"}],
      "load": {"kind": "poisson", "rate": 1000, "max_queries": 50, "queue_depth": 1}})");
  FakeClock clock;
  FakeWaiter waiter(clock);
  std::atomic<bool> open{false};
  std::vector<std::unique_ptr<Stage>> stages;
  stages.push_back(std::make_unique<FunctionStage>([&](QueryRecord&) -> Status {
    while (!open.load()) {
      std::this_thread::yield();
    }
    return {};
  }));
  Runner runner(cfg, std::move(stages), clock, waiter, [&](const QueryRecord& q) {
    if (q.status == QueryStatus::dropped) {
      open = true;  // let the stage go once arrivals have been dropped
    }
  });
  const auto res = runner.run();
  ASSERT_EQ(res.queries.size(), 50U);
  int dropped = 0;
  for (const auto& q : res.queries) {
    dropped += q->status == QueryStatus::dropped ? 1 : 0;
  }
  EXPECT_GE(dropped, 1);
}

TEST(PipelineStats, NearestRankPercentilesAndStageBreakdown) {
  std::vector<std::int64_t> v(100);
  std::iota(v.begin(), v.end(), 1);
  for (auto& x : v) {
    x *= 1'000'000;  // 1..100 ms
  }
  const auto p = percentiles(v);
  EXPECT_DOUBLE_EQ(p.p50_ms, 50);
  EXPECT_DOUBLE_EQ(p.p90_ms, 90);
  EXPECT_DOUBLE_EQ(p.p99_ms, 99);
  EXPECT_DOUBLE_EQ(p.p999_ms, 100);
  EXPECT_DOUBLE_EQ(p.mean_ms, 50.5);

  std::vector<QueryRecord> qs(3);
  for (int i = 0; i < 3; ++i) {
    auto& q = qs[static_cast<std::size_t>(i)];
    q.id = i;
    q.scheduled_ns = i * 1'000'000'000LL;
    q.issued_ns = q.scheduled_ns;
    q.stages = {{q.scheduled_ns + 1'000'000, q.scheduled_ns + 3'000'000},
                {q.scheduled_ns + 7'000'000, q.scheduled_ns + 10'000'000}};
    q.status = QueryStatus::completed;
    q.done_ns = q.scheduled_ns + 10'000'000;
  }
  qs[2].status = QueryStatus::dropped;
  const auto s = summarize(qs, {"pre", "model"}, LogMeta{5'000'000, 99, 0, 0});
  EXPECT_EQ(s.issued, 3);
  EXPECT_EQ(s.completed, 2);
  EXPECT_EQ(s.dropped, 1);
  EXPECT_EQ(s.over_bound, 2);
  EXPECT_DOUBLE_EQ(s.latency.p50_ms, 10);
  EXPECT_DOUBLE_EQ(s.stages[0].queue_wait.p50_ms, 1);
  EXPECT_DOUBLE_EQ(s.stages[0].service.p50_ms, 2);
  EXPECT_DOUBLE_EQ(s.stages[1].queue_wait.p50_ms, 4);
  EXPECT_DOUBLE_EQ(s.stages[1].service.p50_ms, 3);
  EXPECT_DOUBLE_EQ(s.offered_qps, 1.5);  // 3 arrivals over the 2 s to the last one
  EXPECT_NEAR(s.achieved_qps, 2 / 1.01, 1e-9);
  ASSERT_FALSE(s.cdf.empty());
  EXPECT_DOUBLE_EQ(s.cdf.back().second, 1.0);
  EXPECT_NE(one_line(s).find("e2e p50 10 ms p99 10 ms"), std::string::npos) << one_line(s);
}

// Queries scheduled in the warm-up are left out of every figure and counted; rates are over the
// time after it.
TEST(PipelineStats, LeavesTheWarmUpQueriesOut) {
  std::vector<QueryRecord> qs(4);
  for (int i = 0; i < 4; ++i) {
    auto& q = qs[static_cast<std::size_t>(i)];
    q.id = i;
    q.scheduled_ns = i * 1'000'000'000LL;
    q.issued_ns = q.scheduled_ns;
    q.stages = {{q.scheduled_ns, q.scheduled_ns + (i == 0 ? 500'000'000 : 2'000'000)}};
    q.status = QueryStatus::completed;
    q.done_ns = q.stages[0].end_ns;
  }
  const auto all = summarize(qs, {"model"});
  EXPECT_EQ(all.issued, 4);
  EXPECT_DOUBLE_EQ(all.latency.max_ms, 500);  // the cold first query
  const auto s = summarize(qs, {"model"}, {}, 101, 1'000'000'000LL);
  EXPECT_EQ(s.warmup_queries, 1);
  EXPECT_EQ(s.issued, 3);
  EXPECT_EQ(s.completed, 3);
  EXPECT_DOUBLE_EQ(s.latency.max_ms, 2);
  EXPECT_DOUBLE_EQ(s.offered_qps, 1.5);  // 3 arrivals over the 2 s from 1 s to the last one
  EXPECT_NEAR(s.achieved_qps, 3 / 2.002, 1e-9);
  EXPECT_NE(one_line(s).find("1 warm-up queries (first 1 s) not counted"), std::string::npos)
      << one_line(s);
}

// A model that serves a batch in one call and remembers the sizes it was given.
class FakeBatchModel final : public Stage {
 public:
  Status process(QueryRecord& q) override { return process_batch({&q}); }
  [[nodiscard]] bool takes_batches() const override { return true; }
  Status process_batch(const std::vector<QueryRecord*>& batch) override {
    std::lock_guard lock(m_mutex);
    m_sizes.push_back(batch.size());
    return {};
  }
  std::vector<std::size_t> sizes() {
    std::lock_guard lock(m_mutex);
    return m_sizes;
  }

 private:
  std::mutex m_mutex;
  std::vector<std::size_t> m_sizes;
};

std::vector<std::unique_ptr<Stage>> batch_then(const PipelineConfig& cfg,
                                               std::unique_ptr<Stage> next) {
  FakeClock clock;
  FakeWaiter waiter(clock);
  StageEnv env{&clock, &waiter, "", "", {}, {}};
  std::vector<std::unique_ptr<Stage>> out;
  auto b = make_stage(cfg.stages[cfg.order[0]], env);
  EXPECT_TRUE(b);
  out.push_back(std::move(*b));
  out.push_back(std::move(next));
  return out;
}

// Runs `cfg` (a batch stage, then a model) on a fake clock with a FakeBatchModel as the model.
struct BatchedRun {
  RunResult res;
  std::vector<std::size_t> sizes;  // the batches the model was given
};
BatchedRun run_batched(const PipelineConfig& cfg) {
  auto model = std::make_unique<FakeBatchModel>();
  auto* m = model.get();
  FakeClock clock;
  FakeWaiter waiter(clock);
  Runner runner(cfg, batch_then(cfg, std::move(model)), clock, waiter);
  auto res = runner.run();
  return {std::move(res), m->sizes()};
}

TEST(PipelineBatching, FullBatchesGoOnTogetherAndTheLastGoesAtTheEnd) {
  // Offline: every query at t = 0; max_wait far beyond the run, so only max_batch and the
  // end of the input cut batches (no time passes).
  const auto cfg = config(R"({"stages": [
      {"name": "batch", "kind": "batch", "params": {"max_batch": 4, "max_wait": "1h"}},
      {"name": "model", "kind": "noop"}],
      "load": {"kind": "offline", "max_queries": 10}})");
  const auto [res, sizes] = run_batched(cfg);
  EXPECT_EQ(sizes, (std::vector<std::size_t>{4, 4, 2}));
  ASSERT_EQ(res.queries.size(), 10U);
  std::vector<QueryRecord> records;
  for (const auto& q : res.queries) {
    EXPECT_EQ(q->status, QueryStatus::completed);
    EXPECT_EQ(q->stages[0].batch, q->id < 8 ? 4 : 2);
    EXPECT_EQ(q->stages[1].batch, 0);
    EXPECT_EQ(q->stages[1].start_ns, q->stages[0].end_ns);  // no time passed: one batch moves
    records.push_back(std::move(*q));
  }
  const auto stats = summarize(records, res.stage_names);
  EXPECT_EQ(stats.stages[0].batches, (std::map<int, std::int64_t>{{2, 1}, {4, 2}}));
  EXPECT_TRUE(stats.stages[1].batches.empty());
  EXPECT_NE(one_line(stats).find("batch batches: mean size 3.33 (size:batches 2:1 4:2)"),
            std::string::npos)
      << one_line(stats);
  // Through the event log and back.
  std::vector<Event> events;
  for (const auto& q : records) {
    append_events(q, events);
  }
  const auto again = summarize(EventLog{res.stage_names, events});
  EXPECT_EQ(again.stages[0].batches, stats.stages[0].batches);
}

TEST(PipelineBatching, AStageWithoutBatchesServesABatchQueryByQuery) {
  const auto cfg = config(R"({"stages": [
      {"name": "batch", "kind": "batch", "params": {"max_batch": 3, "max_wait": "1h"}},
      {"name": "post", "kind": "noop"}],
      "load": {"kind": "offline", "max_queries": 6}})");
  std::atomic<int> calls{0};
  FakeClock clock;
  FakeWaiter waiter(clock);
  Runner runner(cfg, batch_then(cfg, std::make_unique<FunctionStage>([&](QueryRecord&) {
                                  ++calls;
                                  return Status{};
                                })),
                clock, waiter);
  const auto res = runner.run();
  EXPECT_EQ(calls.load(), 6);
  for (const auto& q : res.queries) {
    EXPECT_EQ(q->status, QueryStatus::completed);
    EXPECT_EQ(q->stages[0].batch, 3);
  }
}

TEST(PipelineBatching, NoWaitSendsWhatIsThereAndLatencyStaysFromTheScheduledArrival) {
  // max_wait 0: a batch is whatever the queue holds when the first query is taken.
  const auto cfg = config(R"({"stages": [
      {"name": "batch", "kind": "batch", "params": {"max_batch": 8, "max_wait": 0}},
      {"name": "model", "kind": "noop"}],
      "load": {"kind": "poisson", "rate": 2000, "max_queries": 400, "seed": 3}})");
  const auto [res, sizes] = run_batched(cfg);
  EXPECT_EQ(std::accumulate(sizes.begin(), sizes.end(), std::size_t{0}), 400U);
  for (auto n : sizes) {
    EXPECT_GE(n, 1U);
    EXPECT_LE(n, 8U);
  }
  ASSERT_EQ(res.queries.size(), 400U);
  for (const auto& q : res.queries) {
    EXPECT_GE(q->stages[0].start_ns, q->scheduled_ns);
    EXPECT_GE(q->done_ns, q->stages[0].end_ns);
  }
}

TEST(PipelineBatching, BadBatchParamsAreRefused) {
  const auto stage = [](const std::string& params) {
    return json::parse(R"({"stages": [{"name": "b", "kind": "batch", "params": )" + params +
                       R"(}], "load": {"kind": "closed"}})");
  };
  EXPECT_EQ(error_of(stage(R"({"max_batch": 16, "max_wait": "5ms"})")), "(no error)");
  EXPECT_NE(error_of(stage(R"({"max_batch": 0})")).find("max_batch"), std::string::npos);
  EXPECT_NE(error_of(stage(R"({"max_wait": "soon"})")).find("max_wait: 'soon' is not a duration"),
            std::string::npos)
      << error_of(stage(R"({"max_wait": "soon"})"));
}

TEST(PipelineEventLog, BeyondMaxEventsQueriesAreCountedNotKept) {
  // A query through one stage gives 5 events (scheduled, issued, start, end, completed).
  const auto cfg = config(R"({"stages": [{"name": "a", "kind": "noop"}], "max_events": 32,
      "load": {"kind": "closed", "max_queries": 100}})");
  FakeClock clock;
  FakeWaiter waiter(clock);
  std::atomic<int> seen{0};
  // Each query carries a 1 MiB payload through its stage; none of it stays in memory after.
  std::vector<std::unique_ptr<Stage>> stages;
  stages.push_back(std::make_unique<FunctionStage>([](QueryRecord& q) {
    q.payload.resize(std::size_t{1} << 20);
    return Status{};
  }));
  Runner runner(cfg, std::move(stages), clock, waiter, [&](const QueryRecord&) { ++seen; });
  const auto res = runner.run();
  EXPECT_EQ(seen.load(), 100);  // progress still sees every query
  ASSERT_EQ(res.queries.size(), 6U);
  for (const auto& q : res.queries) {
    EXPECT_EQ(q->payload.capacity(), 0U);
  }
  EXPECT_EQ(res.queries_not_logged, 94);
  EXPECT_EQ(res.events_not_logged, 94 * 5);
  std::vector<Event> events;
  for (const auto& q : res.queries) {
    append_events(*q, events);
    EXPECT_EQ(event_count(*q), 5U);
  }
  EXPECT_LE(events.size(), 32U);
  LogMeta meta;
  meta.events_not_logged = res.events_not_logged;
  meta.queries_not_logged = res.queries_not_logged;
  events.push_back(meta_event(meta, 7));
  // Through the file format: the count survives, and the summary says it.
  std::stringstream file;
  write_event_header(file, res.stage_names);
  write_events(file, res.stage_names, events);
  auto log = read_events(file);
  ASSERT_TRUE(log) << log.error().message;
  EXPECT_EQ(records_from_events(*log).size(), 6U);  // the meta event is not a query
  const auto stats = summarize(*log);
  EXPECT_EQ(stats.events_not_logged, 470);
  EXPECT_EQ(stats.queries_not_logged, 94);
  EXPECT_NE(one_line(stats).find("470 events of 94 queries NOT in the event log"),
            std::string::npos)
      << one_line(stats);
  EXPECT_NE(error_of(json::parse(R"({"stages": [{"name": "a", "kind": "noop"}],
      "max_events": -1, "load": {"kind": "closed"}})"))
                .find("max_events"),
            std::string::npos);
  EXPECT_EQ(PipelineConfig{}.max_events, 1'000'000);
}

TEST(PipelineStats, TheServerLatencyBoundIsMetOrNotAtItsPercentile) {
  std::vector<QueryRecord> qs(100);
  for (int i = 0; i < 100; ++i) {
    auto& q = qs[static_cast<std::size_t>(i)];
    q.id = i;
    q.scheduled_ns = i * 10'000'000LL;
    q.status = QueryStatus::completed;
    q.done_ns = q.scheduled_ns + (i + 1) * 1'000'000LL;  // latencies 1..100 ms
  }
  const auto met = summarize(qs, {}, LogMeta{99'000'000, 99, 0, 0});
  EXPECT_DOUBLE_EQ(met.latency_at_percentile_ms, 99);
  EXPECT_TRUE(met.bound_met);
  EXPECT_EQ(bound_verdict(met), "p99 99 ms <= bound 99 ms: met");
  const auto missed = summarize(qs, {}, LogMeta{90'000'000, 99, 0, 0});
  EXPECT_FALSE(missed.bound_met);
  EXPECT_EQ(bound_verdict(missed), "p99 99 ms > bound 90 ms: NOT met");
  EXPECT_NE(one_line(missed).find("latency bound: p99 99 ms > bound 90 ms: NOT met"),
            std::string::npos);
  const auto p90 = summarize(qs, {}, LogMeta{90'000'000, 90, 0, 0});
  EXPECT_TRUE(p90.bound_met);
  EXPECT_EQ(bound_verdict(summarize(qs, {})), "");  // no bound, no verdict
  const auto none = summarize({}, {}, LogMeta{1'000'000, 99, 0, 0});
  EXPECT_FALSE(none.bound_met);  // nothing completed: not met
  // The config: latency_percentile with the bound; a bad one is refused.
  auto c = parse_config(chain(R"({"kind": "server", "rate": 10, "latency_bound": "20ms",
      "latency_percentile": 99.9})"));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_DOUBLE_EQ(c->load.latency_percentile, 99.9);
  EXPECT_NE(error_of(chain(R"({"kind": "server", "rate": 10, "latency_bound": "20ms",
      "latency_percentile": 0})"))
                .find("latency_percentile"),
            std::string::npos);
}

TEST(PipelineEvents, RoundTripThroughTheFileFormat) {
  QueryRecord a;
  a.id = 0;
  a.scheduled_ns = 10;
  a.issued_ns = 12;
  a.stages = {{13, 20}, {21, 30}};
  a.status = QueryStatus::completed;
  a.done_ns = 30;
  QueryRecord b;
  b.id = 1;
  b.scheduled_ns = 40;
  b.issued_ns = 41;
  b.stages = {{42, 50}, {-1, -1}};
  b.status = QueryStatus::failed;
  b.failed_stage = 0;
  b.error = "stage 'pre':\tbad\nthing";
  b.done_ns = 50;
  QueryRecord c;
  c.id = 2;
  c.scheduled_ns = 60;
  c.status = QueryStatus::dropped;
  c.done_ns = 60;
  c.error = "full";
  std::vector<Event> events;
  for (const auto* q : {&a, &b, &c}) {
    append_events(*q, events);
  }
  std::stringstream file;
  const std::vector<std::string> names{"pre", "model"};
  write_event_header(file, names);
  write_events(file, names, events);
  auto log = read_events(file);
  ASSERT_TRUE(log) << log.error().message;
  EXPECT_EQ(log->stages, names);
  EXPECT_EQ(log->events.size(), events.size());
  const auto back = records_from_events(*log);
  ASSERT_EQ(back.size(), 3U);
  EXPECT_EQ(back[0].stages[1].end_ns, 30);
  EXPECT_EQ(back[0].status, QueryStatus::completed);
  EXPECT_EQ(back[1].status, QueryStatus::failed);
  EXPECT_EQ(back[1].failed_stage, 0);
  EXPECT_EQ(back[1].error, "stage 'pre': bad thing");
  EXPECT_EQ(back[2].status, QueryStatus::dropped);
}

TEST(PipelineEvents, MalformedLinesAreErrorsButATruncatedTailIsNot) {
  std::stringstream bad(
      "#colo-pipeline-events v1 stages=a\n0\tissued\t-\t5\t\n0\tnope\t-\t1\t\n1\t");
  auto log = read_events(bad);
  ASSERT_FALSE(log);
  EXPECT_NE(log.error().message.find("line 3"), std::string::npos);
  std::stringstream cut("#colo-pipeline-events v1 stages=a\n0\tissued\t-\t5\t\n0\tstage_st");
  auto ok = read_events(cut);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->events.size(), 1U);
  std::stringstream other("hello\n");
  EXPECT_FALSE(read_events(other));
}

TEST(PipelineStages, LoaderReadsTheDatasetAndRefusesAMissingPath) {
  FakeClock clock;
  FakeWaiter waiter(clock);
  StageEnv env{&clock, &waiter, "", "", {}, {}};
  StageConfig c{"load", "loader", 1, 4, {}, {{"path", "/nonexistent/colo-dataset"}}};
  auto missing = make_stage(c, env);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("stage 'load': dataset path '/nonexistent/colo-dataset'"),
            std::string::npos);
  const auto dir =
      std::filesystem::temp_directory_path() / ("colo-pipeline-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "0.bin") << "abc";
  std::ofstream(dir / "1.bin") << "defgh";
  c.params["path"] = dir.string();
  auto loader = make_stage(c, env);
  ASSERT_TRUE(loader) << loader.error().message;
  QueryRecord q;
  q.id = 3;
  ASSERT_TRUE((*loader)->process(q));
  EXPECT_EQ(std::string(q.payload.begin(), q.payload.end()), "defgh");
  StageConfig pre{"pre", "preprocess", 1, 4, {}, {{"size", "8"}}};
  auto p = make_stage(pre, env);
  ASSERT_TRUE(p);
  ASSERT_TRUE((*p)->process(q));
  EXPECT_EQ(q.payload.size(), 8U * 8 * 3 * sizeof(float));
  std::filesystem::remove_all(dir);
  StageConfig sim{"m", "sim-model", 1, 4, {}, {}};
  auto no_sim = make_stage(sim, env);
  ASSERT_FALSE(no_sim);
  EXPECT_NE(no_sim.error().message.find("simulated GPU"), std::string::npos);
}

TEST(PipelineStages, CudaModelParamsAreCheckedAndTheStageNeedsACudaBuild) {
  const auto stage = [](const std::string& params) {
    return json::parse(R"({"stages": [{"name": "m", "kind": "cuda-model", "params": )" + params +
                       R"(}], "load": {"kind": "closed"}})");
  };
  EXPECT_EQ(error_of(stage(R"({"model": "transformer", "mode": "train", "hidden": 512})")),
            "(no error)");
  EXPECT_NE(error_of(stage(R"({"model": "resnet"})")).find("model: 'resnet' is not one of mlp"),
            std::string::npos);
  EXPECT_NE(error_of(stage(R"({"mode": "serve"})")).find("mode: 'serve'"), std::string::npos);
  EXPECT_NE(error_of(stage(R"({"precision": "fp8"})")).find("precision"), std::string::npos);
  EXPECT_NE(error_of(stage(R"({"hidden": 1000, "heads": 16})")).find("head width"),
            std::string::npos);
  EXPECT_NE(error_of(stage(R"({"hidden": 12, "model": "mlp"})")).find("multiple of 8"),
            std::string::npos);
  EXPECT_NE(error_of(stage(R"({"layers": 0})")).find("layers"), std::string::npos);
  EXPECT_NE(error_of(stage(R"({"width": 8})")).find("no parameter 'width'"), std::string::npos);
  // Without a factory (a colo-pipeline built without CUDA) the stage is refused by name.
  FakeClock clock;
  FakeWaiter waiter(clock);
  StageEnv env{&clock, &waiter, "", "t", {}, {}};
  StageConfig model{"m", "cuda-model", 1, 4, {}, {}};
  auto refused = make_stage(model, env);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("colo-pipeline was built without CUDA"), std::string::npos)
      << refused.error().message;
  // With one, the factory builds it.
  int built = 0;
  env.cuda_model = [&](const StageConfig&, const StageEnv&) -> Result<std::unique_ptr<Stage>> {
    ++built;
    return std::make_unique<FunctionStage>([](QueryRecord&) { return Status{}; });
  };
  EXPECT_TRUE(make_stage(model, env));
  EXPECT_EQ(built, 1);
}

// A worker: ready, then per request ok, except query 2 (an error), query 3 (it exits) and
// query 5 (it hangs).
constexpr const char* k_worker = R"(import json, sys, time
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    q = json.loads(line)["query"]
    if q == 2:
        print(json.dumps({"error": "bad input"}), flush=True)
    elif q == 3:
        sys.exit(1)
    elif q == 5:
        time.sleep(60)
    else:
        print(json.dumps({"ok": True}), flush=True)
)";

TEST(PipelineStages, WorkerProcessesAnswerFailExitAndAreRestarted) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("colo-worker-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "w.py") << k_worker;
  FakeClock clock;
  FakeWaiter waiter(clock);
  StageEnv env{&clock, &waiter, "", "", {}, {}};
  StageConfig c{"model", "worker", 1, 4, {}, {{"cmd", "python3 " + (dir / "w.py").string()}}};
  auto stage = make_stage(c, env);
  ASSERT_TRUE(stage) << stage.error().message;
  for (std::int64_t id : {0, 1, 2, 3, 4}) {
    QueryRecord q;
    q.id = id;
    const auto st = (*stage)->process(q);
    if (id == 2) {
      ASSERT_FALSE(st);
      EXPECT_NE(st.error().message.find("bad input"), std::string::npos);
    } else if (id == 3) {
      ASSERT_FALSE(st);
      EXPECT_NE(st.error().message.find("exited"), std::string::npos) << st.error().message;
    } else {
      EXPECT_TRUE(st) << id << ": " << st.error().message;  // 4: a new worker
    }
  }
  QueryRecord hang;
  hang.id = 5;
  hang.cancel.value = true;  // as the watchdog does at the stage timeout
  EXPECT_FALSE((*stage)->process(hang));
  QueryRecord after;
  after.id = 6;
  EXPECT_TRUE((*stage)->process(after));
  StageConfig bad{"model", "worker", 1, 4, {}, {{"cmd", "/nonexistent/worker"}}};
  auto none = make_stage(bad, env);
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find("did not say ready"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace colo::pipeline
