// The pipeline module's load generator and queues (issue 14's benchmark targets), measured with
// no-op stages so that only colo's own machinery is timed:
//   1. closed loop: queries/s through 1 and 4 no-op stages (target >= 200,000 q/s on 2 cores);
//   2. Poisson open loop at 10,000 q/s for 10 s: the achieved arrival rate against the requested
//      one (target within 1%) and the scheduling jitter, actual issue time - scheduled arrival
//      time (target p99 < 100 us);
//   3. queue hand-off between two threads, with a sleeping pop and with the adaptive polling pop
//      (queue.hpp; what the runner uses when the pipeline's threads fit the cores): one-way
//      latency by ping-pong (half the round trip: the wake-up of an idle consumer; target median
//      < 2 us) and the amortised cost per item when streaming. The closed loop's line also
//      gives the cost of a stage boundary under load (4 stages against 1, per boundary).
// Every figure is measured in this run on this machine; the targets are printed next to them.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "pipeline/config.hpp"
#include "pipeline/queue.hpp"
#include "pipeline/runner.hpp"
#include "pipeline/stats.hpp"

namespace {
using namespace colo;
using namespace colo::pipeline;

PipelineConfig config(const std::string& text) {
  auto c = parse_config(nlohmann::json::parse(text));
  if (!c) {
    std::fprintf(stderr, "bench_pipeline: %s\n", c.error().message.c_str());
    std::exit(1);
  }
  return *c;
}

std::vector<std::unique_ptr<Stage>> noops(std::size_t n) {
  std::vector<std::unique_ptr<Stage>> out;
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(std::make_unique<FunctionStage>([](QueryRecord&) { return Status{}; }));
  }
  return out;
}

const char* met(bool ok) {
  return ok ? "met" : "NOT met";
}

double closed_loop(std::size_t stages, std::int64_t queries, int outstanding) {
  std::string list;
  for (std::size_t i = 0; i < stages; ++i) {
    list += fmt::format("{}{{\"name\": \"s{}\", \"kind\": \"noop\", \"queue_depth\": 1024}}",
                        i ? "," : "", i);
  }
  const auto cfg = config(fmt::format(
      R"({{"stages": [{}], "load": {{"kind": "closed", "outstanding": {}, "max_queries": {},
          "queue_depth": 1024}}}})",
      list, outstanding, queries));
  SteadyClock clock;
  SteadyWaiter waiter(clock);
  Runner runner(cfg, noops(stages), clock, waiter);
  const auto t0 = std::chrono::steady_clock::now();
  const auto res = runner.run();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // Every query finished, those the event log kept (max_events) and those it only counted.
  const auto finished = static_cast<std::int64_t>(res.queries.size()) + res.queries_not_logged;
  if (finished != queries) {
    std::fprintf(stderr, "bench_pipeline: %lld of %lld queries finished\n",
                 static_cast<long long>(finished), static_cast<long long>(queries));
    std::exit(1);
  }
  return static_cast<double>(finished) / s;
}

void poisson(double rate, double seconds) {
  const auto cfg = config(fmt::format(
      R"({{"stages": [{{"name": "s", "kind": "noop"}}], "load": {{"kind": "poisson", "rate": {},
          "duration": "{}s", "seed": 42, "queue_depth": 100000}}}})",
      rate, seconds));
  SteadyClock clock;
  SteadyWaiter waiter(clock);
  Runner runner(cfg, noops(1), clock, waiter);
  const auto res = runner.run();
  std::vector<std::int64_t> jitter;
  std::int64_t last_issued = 0;
  std::int64_t dropped = 0;
  for (const auto& q : res.queries) {
    jitter.push_back(q->issued_ns - q->scheduled_ns);
    last_issued = std::max(last_issued, q->issued_ns);
    dropped += q->status == QueryStatus::dropped ? 1 : 0;
  }
  // Every arrival (the jitter above is of those the event log kept: all at these rates).
  const auto n =
      static_cast<double>(static_cast<std::int64_t>(res.queries.size()) + res.queries_not_logged);
  // Arrivals per second of the window they were issued in (the duration asked for).
  const double achieved = n / seconds;
  const double err = 100.0 * (achieved - rate) / rate;
  const auto j = percentiles(jitter);
  fmt::print(
      "poisson {:.0f} q/s for {:.0f} s: {:.0f} arrivals = {:.1f} q/s, {:+.2f}% of the requested "
      "rate "
      "(target within 1%: {}); last issue at {:.3f} s; {} dropped\n",
      rate, seconds, n, achieved, err, met(std::abs(err) <= 1.0),
      static_cast<double>(last_issued) / 1e9, dropped);
  fmt::print(
      "  scheduling jitter (issued - scheduled): p50 {:.1f} us, p90 {:.1f} us, p99 {:.1f} us, "
      "p99.9 {:.1f} us, max {:.1f} us (target p99 < 100 us: {})\n",
      j.p50_ms * 1e3, j.p90_ms * 1e3, j.p99_ms * 1e3, j.p999_ms * 1e3, j.max_ms * 1e3,
      met(j.p99_ms * 1e3 < 100));
}

// One way hand-off latency (half a ping-pong round trip) and the amortised cost per item when
// streaming through a queue of 1024, with the queue's spin policy `spin`.
void handoff(int rounds, QueueSpin spin) {
  BoundedQueue<std::int64_t> there(1, spin);
  BoundedQueue<std::int64_t> back(1, spin);
  std::thread echo([&] {
    while (auto v = there.pop()) {
      std::int64_t x = *v;
      back.push(x);
    }
  });
  std::vector<std::int64_t> half;
  half.reserve(static_cast<std::size_t>(rounds));
  for (int i = 0; i < rounds; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    std::int64_t x = i;
    there.push(x);
    (void)back.pop();
    half.push_back((std::chrono::steady_clock::now() - t0).count() / 2);
  }
  there.close();
  echo.join();
  const auto p = percentiles(half);
  constexpr std::int64_t k_items = 2'000'000;
  BoundedQueue<std::int64_t> q(1024, spin);
  std::int64_t sum = 0;
  const auto t0 = std::chrono::steady_clock::now();
  std::thread consumer([&] {
    while (auto v = q.pop()) {
      sum += *v;
    }
  });
  for (std::int64_t i = 0; i < k_items; ++i) {
    std::int64_t x = i;
    q.push(x);
  }
  q.close();
  consumer.join();
  const double per_item_us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() /
      static_cast<double>(k_items);
  const char* how = spin == QueueSpin::never ? "sleeping pop" : "adaptive polling pop";
  fmt::print(
      "queue hand-off, {}, one way (ping-pong / 2, {} rounds): p50 {:.2f} us, p99 {:.2f} us "
      "(target median < 2 us: {})\n",
      how, rounds, p.p50_ms * 1e3, p.p99_ms * 1e3, met(p.p50_ms * 1e3 < 2));
  fmt::print("queue hand-off, {}, streaming {} items: {:.3f} us per item amortised (checksum {})\n",
             how, k_items, per_item_us, sum == k_items * (k_items - 1) / 2 ? "ok" : "WRONG");
}
}  // namespace

// Arguments: the parts to run (closed, poisson, handoff); none: all three.
int main(int argc, char** argv) {
  const std::vector<std::string> parts(argv + 1, argv + argc);
  const auto want = [&](const char* part) {
    return parts.empty() || std::find(parts.begin(), parts.end(), part) != parts.end();
  };
  fmt::print("cores: {}\n", std::thread::hardware_concurrency());
  for (int rep = 0; rep < (want("closed") ? 3 : 0); ++rep) {
    const double one = closed_loop(1, 1'000'000, 64);
    const double four = closed_loop(4, 1'000'000, 64);
    // The cost of a stage boundary in a loaded pipeline: the time per query the 3 extra
    // boundaries (and no-op stages) of the 4-stage chain add, a mean per query (not a median).
    const double boundary_us = (1e6 / four - 1e6 / one) / 3;
    fmt::print(
        "closed loop, 64 outstanding, 1M queries: 1 no-op stage {:.0f} q/s (target >= 200,000: "
        "{}); 4 no-op stages {:.0f} q/s; per extra stage boundary {:.3f} us per query (a mean "
        "under load; against the hand-off target < 2 us: {})\n",
        one, met(one >= 200'000), four, boundary_us, boundary_us < 2 ? "below" : "NOT below");
  }
  if (want("poisson")) {
    poisson(10'000, 10);
    poisson(1'000, 10);
  }
  if (want("handoff")) {
    handoff(100'000, QueueSpin::never);
    handoff(100'000, QueueSpin::adaptive);
  }
  return 0;
}
