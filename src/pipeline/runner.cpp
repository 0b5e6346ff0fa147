#include "pipeline/runner.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <thread>

#include "pipeline/queue.hpp"

namespace colo::pipeline {

using QueryPtr = std::unique_ptr<QueryRecord>;

struct Runner::Impl {
  // What a worker is busy with, for the watchdog.
  struct Slot {
    std::mutex mutex;
    QueryRecord* query = nullptr;
    std::int64_t start_ns = 0;
    bool timed_out = false;
  };

  Runner& r;
  const PipelineConfig& cfg;
  Nanos t0{0};
  std::vector<std::string> names;
  std::vector<std::unique_ptr<BoundedQueue<QueryPtr>>> queues;  // [i]: in front of stage i
  std::vector<int> live_workers;                                // per stage, under done_mutex
  std::vector<std::unique_ptr<Slot>> slots;                     // one per worker

  std::mutex done_mutex;
  std::condition_variable done_cv;
  std::vector<QueryPtr> done;
  std::int64_t in_flight = 0;
  bool stopped_by_failure = false;

  std::mutex watch_mutex;
  std::condition_variable watch_cv;
  bool workers_done = false;

  explicit Impl(Runner& runner) : r(runner), cfg(runner.m_config) {
    for (auto i : cfg.order) {
      names.push_back(cfg.stages[i].name);
    }
    for (std::size_t k = 0; k < cfg.order.size(); ++k) {
      const auto& sc = cfg.stages[cfg.order[k]];
      queues.push_back(
          std::make_unique<BoundedQueue<QueryPtr>>(k == 0 ? cfg.load.queue_depth : sc.queue_depth));
      live_workers.push_back(sc.threads);
    }
  }

  [[nodiscard]] std::int64_t rel() const { return (r.m_clock.now() - t0).count(); }

  void finish(QueryPtr q) {
    std::lock_guard lock(done_mutex);
    if (r.m_on_done) {
      r.m_on_done(*q);
    }
    done.push_back(std::move(q));
    --in_flight;
    done_cv.notify_all();
  }

  void worker(std::size_t k, Slot& slot) {
    Stage& stage = *r.m_stages[k];
    const std::size_t n = queues.size();
    while (auto item = queues[k]->pop()) {
      QueryPtr q = std::move(*item);
      if (r.m_abort) {
        q->status = QueryStatus::dropped;
        q->done_ns = rel();
        q->error = fmt::format("the pipeline was stopped before stage '{}' ran it", names[k]);
        finish(std::move(q));
        continue;
      }
      const std::int64_t start = rel();
      q->stages[k].start_ns = start;
      {
        std::lock_guard lock(slot.mutex);
        slot.query = q.get();
        slot.start_ns = start;
        slot.timed_out = false;
      }
      Status st;
      try {
        st = stage.process(*q);
      } catch (const std::exception& e) {
        st = fail(ErrorCode::internal, fmt::format("threw: {}", e.what()));
      } catch (...) {
        st = fail(ErrorCode::internal, "threw a non-standard exception");
      }
      const std::int64_t end = rel();
      q->stages[k].end_ns = end;
      bool timed_out = false;
      {
        std::lock_guard lock(slot.mutex);
        slot.query = nullptr;
        timed_out = slot.timed_out;
      }
      // A stage that returned, but later than the timeout, fails its query too.
      const auto limit = std::chrono::duration_cast<Nanos>(cfg.stage_timeout).count();
      timed_out = timed_out || (limit > 0 && end - start > limit);
      if (timed_out || !st) {
        q->status = QueryStatus::failed;
        q->failed_stage = static_cast<int>(k);
        q->done_ns = end;
        q->error = timed_out ? fmt::format("stage '{}' exceeded stage_timeout ({:.3g} s)", names[k],
                                           cfg.stage_timeout.count())
                             : fmt::format("stage '{}': {}", names[k], st.error().message);
        if (cfg.on_failure == FailurePolicy::stop) {
          {
            std::lock_guard lock(done_mutex);
            stopped_by_failure = true;
          }
          r.request_stop();
        }
        finish(std::move(q));
        continue;
      }
      if (k + 1 < n) {
        if (!queues[k + 1]->push(q)) {  // cannot happen: closed only after this stage ends
          q->status = QueryStatus::failed;
          q->failed_stage = static_cast<int>(k);
          q->done_ns = end;
          q->error = "internal: the next stage's queue was closed";
          finish(std::move(q));
        }
      } else {
        q->status = QueryStatus::completed;
        q->done_ns = end;
        finish(std::move(q));
      }
    }
    bool last = false;
    {
      std::lock_guard lock(done_mutex);
      last = --live_workers[k] == 0;
    }
    if (last && k + 1 < n) {
      queues[k + 1]->close();
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
        if (s->query && !s->timed_out && now - s->start_ns > limit) {
          s->timed_out = true;
          s->query->cancel.value = true;
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
      if (closed) {
        std::unique_lock lock(done_mutex);
        while (in_flight >= load.outstanding && !r.m_stop) {
          done_cv.wait_for(lock, std::chrono::milliseconds(10));
        }
        if (r.m_stop) {
          break;
        }
        scheduled = rel();
      } else {
        scheduled = arrivals.next().count();
        if (duration_ns >= 0 && scheduled >= duration_ns) {
          break;
        }
        if (!r.m_waiter.wait_until(t0 + Nanos(scheduled), r.m_stop)) {
          break;
        }
      }
      if (duration_ns >= 0 && closed && scheduled >= duration_ns) {
        break;
      }
      auto q = std::make_unique<QueryRecord>();
      q->id = id;
      q->scheduled_ns = scheduled;
      q->samples = load.kind == LoadKind::multi_stream ? load.samples : 1;
      q->stages.resize(queues.size());
      {
        std::lock_guard lock(done_mutex);
        ++in_flight;
      }
      q->issued_ns = rel();
      const bool pushed = drops ? queues[0]->try_push(q) : queues[0]->push(q);
      if (!pushed) {
        q->status = QueryStatus::dropped;
        q->done_ns = q->issued_ns;
        q->error = fmt::format("the first stage's queue (load.queue_depth {}) was full",
                               queues[0]->capacity());
        finish(std::move(q));
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
  out.queries = std::move(impl.done);
  std::sort(out.queries.begin(), out.queries.end(),
            [](const QueryPtr& a, const QueryPtr& b) { return a->id < b->id; });
  for (const auto& q : out.queries) {
    out.issue_window = std::max(out.issue_window, Nanos(q->scheduled_ns));
  }
  return out;
}

}  // namespace colo::pipeline
