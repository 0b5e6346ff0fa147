#include "pipeline/runner.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <thread>

#include "pipeline/queue.hpp"

namespace colo::pipeline {

using QueryPtr = std::unique_ptr<QueryRecord>;
// What travels between stages: one query, or the queries a batching stage sent on together.
using Batch = std::vector<QueryPtr>;

struct Runner::Impl {
  // What a worker is busy with, for the watchdog. `queries` is written by its worker under
  // `mutex` only, read by the watchdog under it (and by the worker's stage call meanwhile).
  struct Slot {
    std::mutex mutex;
    std::vector<QueryRecord*> queries;
    std::int64_t start_ns = 0;
    bool timed_out = false;
  };

  Runner& r;
  const PipelineConfig& cfg;
  Nanos t0{0};
  std::vector<std::string> names;
  std::vector<std::unique_ptr<BoundedQueue<Batch>>> queues;  // [i]: in front of stage i
  std::vector<int> live_workers;                             // per stage, under done_mutex

  std::vector<std::unique_ptr<Slot>> slots;  // one per worker

  std::mutex done_mutex;
  std::condition_variable done_cv;  // the generator waits on it (closed loop), when `gen_waiting`
  bool gen_waiting = false;
  std::vector<QueryPtr> done;
  // Records of finished queries the event log did not keep, for the generator to reuse: past
  // max_events a query costs no allocation (and no free on a worker thread).
  std::vector<QueryPtr> spare;
  // Issued and not finished; written under done_mutex, read without it by the generator's poll.
  std::atomic<std::int64_t> in_flight{0};
  QueueSpin spin = QueueSpin::never;  // also whether the closed-loop generator polls (queue.hpp)
  AdaptivePoll gen_poll;
  bool stopped_by_failure = false;
  std::int64_t logged_events = 0;
  std::int64_t events_not_logged = 0;
  std::int64_t queries_not_logged = 0;
  std::int64_t last_not_logged_ns = 0;

  std::mutex watch_mutex;
  std::condition_variable watch_cv;
  bool workers_done = false;

  explicit Impl(Runner& runner) : r(runner), cfg(runner.m_config) {
    for (auto i : cfg.order) {
      names.push_back(cfg.stages[i].name);
    }
    // The generator and every worker: when each can have a core, a worker polls its empty
    // queue briefly before it sleeps (queue.hpp); beyond, polling would take the core from the
    // thread it waits for.
    unsigned threads = 1;
    for (auto i : cfg.order) {
      threads += static_cast<unsigned>(cfg.stages[i].threads);
    }
    spin = threads <= std::thread::hardware_concurrency() ? QueueSpin::adaptive : QueueSpin::never;
    for (std::size_t k = 0; k < cfg.order.size(); ++k) {
      const auto& sc = cfg.stages[cfg.order[k]];
      queues.push_back(std::make_unique<BoundedQueue<Batch>>(
          k == 0 ? cfg.load.queue_depth : sc.queue_depth, spin));
      live_workers.push_back(sc.threads);
    }
  }

  [[nodiscard]] std::int64_t rel() const { return (r.m_clock.now() - t0).count(); }

  // Records kept for reuse at most (a closed loop needs `outstanding` at a time).
  static constexpr std::size_t k_max_spare = 4096;

  // A finished query: progress, then the event log's record while it holds max_events (whole
  // queries), else only counted (its record kept for reuse). Its payload is freed: the log does
  // not need it.
  void finish(QueryPtr q) {
    std::vector<std::uint8_t>().swap(q->payload);
    std::lock_guard lock(done_mutex);
    if (r.m_on_done) {
      r.m_on_done(*q);
    }
    const auto events = static_cast<std::int64_t>(event_count(*q));
    if (logged_events + events <= cfg.max_events) {
      logged_events += events;
      done.push_back(std::move(q));
    } else {
      events_not_logged += events;
      ++queries_not_logged;
      last_not_logged_ns = std::max(last_not_logged_ns, q->done_ns);
      if (spare.size() < k_max_spare) {
        spare.push_back(std::move(q));
      }
    }
    --in_flight;
    if (gen_waiting) {
      done_cv.notify_all();
    }
  }

  // A record for a new query: a spare one reset, or a new one. Called with done_mutex held.
  QueryPtr new_record() {
    if (spare.empty()) {
      auto q = std::make_unique<QueryRecord>();
      q->stages.resize(queues.size());
      return q;
    }
    QueryPtr q = std::move(spare.back());
    spare.pop_back();
    q->done_ns = -1;
    q->status = QueryStatus::in_flight;
    q->failed_stage = -1;
    q->error.clear();
    std::fill(q->stages.begin(), q->stages.end(), StageTimes{});
    q->cancel.value.store(false, std::memory_order_relaxed);
    return q;
  }

  void drop(Batch& b, std::size_t k) {
    for (auto& q : b) {
      q->status = QueryStatus::dropped;
      q->done_ns = rel();
      q->error = fmt::format("the pipeline was stopped before stage '{}' ran it", names[k]);
      finish(std::move(q));
    }
    b.clear();
  }

  void fail_all(Batch& b, std::size_t k, std::int64_t at, const std::string& why) {
    for (auto& q : b) {
      q->status = QueryStatus::failed;
      q->failed_stage = static_cast<int>(k);
      q->done_ns = at;
      q->error = why;
      finish(std::move(q));
    }
    b.clear();
  }

  // Hands what stage k served to stage k + 1, or completes it after the last stage.
  void forward(std::size_t k, Batch b) {
    if (b.empty()) {
      return;
    }
    if (k + 1 < queues.size()) {
      if (!queues[k + 1]->push(b)) {  // cannot happen: closed only after this stage ends
        fail_all(b, k, rel(), "internal: the next stage's queue was closed");
      }
      return;
    }
    for (auto& q : b) {
      q->status = QueryStatus::completed;
      q->done_ns = q->stages[k].end_ns;
      finish(std::move(q));
    }
  }

  // Runs stage k on `b` (all of it in one call for a stage that takes batches) under the
  // watchdog; failed queries are finished, the rest stay in `b`.
  void serve(std::size_t k, Slot& slot, Stage& stage, Batch& b) {
    const std::int64_t start = rel();
    for (auto& q : b) {
      q->stages[k].start_ns = start;
    }
    {
      std::lock_guard lock(slot.mutex);
      slot.queries.clear();  // keeps its capacity: no allocation per query
      for (auto& q : b) {
        slot.queries.push_back(q.get());
      }
      slot.start_ns = start;
      slot.timed_out = false;
    }
    const std::vector<QueryRecord*>& ptrs = slot.queries;
    Status st;
    try {
      st = ptrs.size() == 1 && !stage.takes_batches() ? stage.process(*ptrs[0])
                                                      : stage.process_batch(ptrs);
    } catch (const std::exception& e) {
      st = fail(ErrorCode::internal, fmt::format("threw: {}", e.what()));
    } catch (...) {
      st = fail(ErrorCode::internal, "threw a non-standard exception");
    }
    const std::int64_t end = rel();
    for (auto& q : b) {
      q->stages[k].end_ns = end;
    }
    bool timed_out = false;
    {
      std::lock_guard lock(slot.mutex);
      slot.queries.clear();
      timed_out = slot.timed_out;
    }
    // A stage that returned, but later than the timeout, fails its queries too.
    const auto limit = std::chrono::duration_cast<Nanos>(cfg.stage_timeout).count();
    timed_out = timed_out || (limit > 0 && end - start > limit);
    if (!timed_out && st) {
      return;
    }
    if (cfg.on_failure == FailurePolicy::stop) {
      {
        std::lock_guard lock(done_mutex);
        stopped_by_failure = true;
      }
      r.request_stop();
    }
    fail_all(b, k, end,
             timed_out ? fmt::format("stage '{}' exceeded stage_timeout ({:.3g} s)", names[k],
                                     cfg.stage_timeout.count())
                       : fmt::format("stage '{}': {}", names[k], st.error().message));
  }

  // A stage that does not take batches serves a batch query by query.
  void serve_each(std::size_t k, Slot& slot, Stage& stage, Batch& in) {
    Batch out;
    for (auto& q : in) {
      Batch one;
      one.push_back(std::move(q));
      serve(k, slot, stage, one);
      if (!one.empty()) {
        out.push_back(std::move(one.front()));
      }
    }
    in = std::move(out);
  }

  void worker(std::size_t k, Slot& slot) {
    Stage& stage = *r.m_stages[k];
    if (const auto policy = stage.batching()) {
      batcher(k, *policy);
    } else {
      while (auto item = queues[k]->pop()) {
        Batch b = std::move(*item);
        if (r.m_abort) {
          drop(b, k);
          continue;
        }
        if (stage.takes_batches() || b.size() == 1) {
          serve(k, slot, stage, b);
        } else {
          serve_each(k, slot, stage, b);
        }
        forward(k, std::move(b));
      }
    }
    bool last = false;
    {
      std::lock_guard lock(done_mutex);
      last = --live_workers[k] == 0;
    }
    if (last && k + 1 < queues.size()) {
      queues[k + 1]->close();
    }
  }

  // A batching stage's worker: takes the queries as they come (each one's stage start), up to
  // max_batch, until max_wait after the first has passed on the clock or the queue is closed and
  // drained; then sends them on as one batch (each one's stage end, and the batch's size).
  void batcher(std::size_t k, const BatchPolicy& policy) {
    const auto max = static_cast<std::size_t>(std::max(policy.max_batch, 1));
    Batch pending;  // taken from the queue but beyond the batch being built
    for (;;) {
      const auto take = [&](Batch&& in, Batch& into) {
        for (auto& q : in) {
          q->stages[k].start_ns = rel();
          (into.size() < max ? into : pending).push_back(std::move(q));
        }
      };
      Batch batch;
      const std::size_t carried = std::min(pending.size(), max);
      for (std::size_t i = 0; i < carried; ++i) {
        batch.push_back(std::move(pending[i]));
      }
      pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(carried));
      if (batch.empty()) {
        auto first = queues[k]->pop();
        if (!first) {
          break;
        }
        take(std::move(*first), batch);
      }
      const Nanos deadline = r.m_clock.now() + policy.max_wait;
      while (batch.size() < max && !r.m_abort) {
        auto more = queues[k]->pop_for(deadline - r.m_clock.now());
        if (!more) {
          break;  // max_wait passed, or the queue is closed and drained
        }
        take(std::move(*more), batch);
      }
      if (r.m_abort) {
        drop(batch, k);
        drop(pending, k);
        continue;
      }
      const std::int64_t end = rel();
      for (auto& q : batch) {
        q->stages[k].end_ns = end;
        q->stages[k].batch = static_cast<int>(batch.size());
      }
      forward(k, std::move(batch));
    }
  }

  void watchdog() {
    const auto limit = std::chrono::duration_cast<Nanos>(cfg.stage_timeout).count();
    std::unique_lock lock(watch_mutex);
    while (!workers_done) {
      watch_cv.wait_for(lock, std::chrono::milliseconds(2));
      if (limit <= 0) {
        continue;
      }
      const std::int64_t now = rel();
      for (auto& s : slots) {
        std::lock_guard slot_lock(s->mutex);
        if (!s->queries.empty() && !s->timed_out && now - s->start_ns > limit) {
          s->timed_out = true;
          for (auto* q : s->queries) {
            q->cancel.value = true;
          }
        }
      }
    }
  }

  // Issues queries until the stop rule; runs on run()'s thread.
  void generate() {
    const auto& load = cfg.load;
    const bool closed = is_closed_loop(load.kind);
    const bool drops = load.kind == LoadKind::poisson || load.kind == LoadKind::server ||
                       load.kind == LoadKind::multi_stream;
    const std::int64_t duration_ns =
        load.duration ? std::chrono::duration_cast<Nanos>(*load.duration).count() : -1;
    ArrivalProcess arrivals(load);
    for (std::int64_t id = 0; !r.m_stop; ++id) {
      if (load.max_queries && id >= *load.max_queries) {
        break;
      }
      std::int64_t scheduled = 0;
      QueryPtr q;
      if (closed) {
        if (spin == QueueSpin::adaptive) {
          gen_poll.until([&] {
            return in_flight.load(std::memory_order_relaxed) < load.outstanding ||
                   r.m_stop.load(std::memory_order_relaxed);
          });
        }
        std::unique_lock lock(done_mutex);
        while (in_flight >= load.outstanding && !r.m_stop) {
          gen_waiting = true;
          done_cv.wait_for(lock, std::chrono::milliseconds(10));
          gen_waiting = false;
        }
        if (r.m_stop) {
          break;
        }
        scheduled = rel();
        if (duration_ns >= 0 && scheduled >= duration_ns) {
          break;
        }
        ++in_flight;
        q = new_record();
      } else {
        scheduled = arrivals.next().count();
        if (duration_ns >= 0 && scheduled >= duration_ns) {
          break;
        }
        if (!r.m_waiter.wait_until(t0 + Nanos(scheduled), r.m_stop)) {
          break;
        }
        std::lock_guard lock(done_mutex);
        ++in_flight;
        q = new_record();
      }
      q->id = id;
      q->scheduled_ns = scheduled;
      q->samples = load.kind == LoadKind::multi_stream ? load.samples : 1;
      q->issued_ns = rel();
      Batch b;
      b.push_back(std::move(q));
      const bool pushed = drops ? queues[0]->try_push(b) : queues[0]->push(b);
      if (!pushed) {
        auto& dropped = b.front();
        dropped->status = QueryStatus::dropped;
        dropped->done_ns = dropped->issued_ns;
        dropped->error = fmt::format("the first stage's queue (load.queue_depth {}) was full",
                                     queues[0]->capacity());
        finish(std::move(dropped));
      }
    }
    queues[0]->close();
  }
};

Runner::Runner(const PipelineConfig& config, std::vector<std::unique_ptr<Stage>> stages,
               const Clock& clock, Waiter& waiter, std::function<void(const QueryRecord&)> on_done)
    : m_config(config),
      m_stages(std::move(stages)),
      m_clock(clock),
      m_waiter(waiter),
      m_on_done(std::move(on_done)) {}

RunResult Runner::run() {
  Impl impl(*this);
  impl.t0 = m_clock.now();
  for (auto& s : m_stages) {
    s->on_start();
  }
  std::vector<std::thread> threads;
  for (std::size_t k = 0; k < impl.queues.size(); ++k) {
    for (int w = 0; w < m_config.stages[m_config.order[k]].threads; ++w) {
      impl.slots.push_back(std::make_unique<Impl::Slot>());
    }
  }
  std::thread watchdog([&] { impl.watchdog(); });
  std::size_t slot = 0;
  for (std::size_t k = 0; k < impl.queues.size(); ++k) {
    for (int w = 0; w < m_config.stages[m_config.order[k]].threads; ++w) {
      threads.emplace_back([&impl, k, s = impl.slots[slot++].get()] { impl.worker(k, *s); });
    }
  }
  impl.generate();
  for (auto& t : threads) {
    t.join();
  }
  {
    std::lock_guard lock(impl.watch_mutex);
    impl.workers_done = true;
  }
  impl.watch_cv.notify_all();
  watchdog.join();
  for (auto& s : m_stages) {
    s->on_stop();
  }
  RunResult out;
  out.stage_names = impl.names;
  out.stopped_by_failure = impl.stopped_by_failure;
  out.events_not_logged = impl.events_not_logged;
  out.queries_not_logged = impl.queries_not_logged;
  out.last_not_logged_ns = impl.last_not_logged_ns;
  out.queries = std::move(impl.done);
  std::sort(out.queries.begin(), out.queries.end(),
            [](const QueryPtr& a, const QueryPtr& b) { return a->id < b->id; });
  for (const auto& q : out.queries) {
    out.issue_window = std::max(out.issue_window, Nanos(q->scheduled_ns));
  }
  return out;
}

}  // namespace colo::pipeline
