#pragma once
// A bounded multi-producer multi-consumer FIFO joining two pipeline stages. push blocks while
// the queue is full, try_push does not (an open-loop arrival finding it full is dropped), pop
// blocks while it is empty, pop_for at most a timeout. close() wakes everyone: pushes fail from
// then on, pops drain what is left and then return nothing. Thread-safety: every member may be
// called from any thread.
//
// Cost (bench/bench_pipeline.cpp): the items live in a ring that grows (doubling, up to the
// capacity) and never shrinks, so a hand-off allocates nothing once the ring has grown; a push
// or pop signals the other side only when a thread of that side is actually waiting. A blocked
// pop sleeps on a condition variable: the wake-up of a sleeping consumer is the kernel's (a
// futex), several microseconds on a virtual machine. With QueueSpin::adaptive a pop that finds
// the queue empty first polls it (AdaptivePoll, no lock, no system call), which makes a hand-off
// sub-microsecond when the producer is running on another core. Only for threads that have a
// core each: a poll competes for the core with the thread it waits for otherwise (the runner
// decides).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

namespace colo::pipeline {

// Whether a pop that finds its queue empty polls it briefly before it sleeps.
enum class QueueSpin { never, adaptive };

// A bounded busy-wait before a thread sleeps on a condition: until(ready) polls `ready` (a cheap
// check of atomics) for up to k_window; after k_misses polls in a row that timed out it stops
// polling, except every k_probe-th call, so a waiter whose condition comes slowly (a stage of
// milliseconds) costs little CPU. The caller then waits as it would without it (the poll only
// saves the sleep). Thread-safe; its counters are shared by the threads that call it.
class AdaptivePoll {
 public:
  static constexpr std::chrono::nanoseconds k_window{20'000};
  static constexpr int k_misses = 16;
  static constexpr unsigned k_probe = 64;

  // Polls until ready() or the window ends; true when ready() was seen.
  template <typename Ready>
  bool until(Ready ready) {
    const int misses = m_misses.load(std::memory_order_relaxed);
    if (misses >= k_misses && m_skipped.fetch_add(1, std::memory_order_relaxed) % k_probe != 0) {
      return ready();
    }
    if (ready()) {
      return true;
    }
    const auto end = std::chrono::steady_clock::now() + k_window;
    for (;;) {
      for (int i = 0; i < 64; ++i) {
        if (ready()) {
          m_misses.store(0, std::memory_order_relaxed);
          return true;
        }
        cpu_relax();
      }
      if (std::chrono::steady_clock::now() >= end) {
        m_misses.store(std::min(misses + 1, k_misses), std::memory_order_relaxed);
        return false;
      }
    }
  }

 private:
  static void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield" ::: "memory");
#endif
  }

  std::atomic<int> m_misses{0};        // polls in a row that timed out (capped at k_misses)
  std::atomic<unsigned> m_skipped{0};  // calls while polling is off (every k_probe-th polls)
};

template <typename T>
class BoundedQueue {
 public:
  // capacity >= 1 (parse_config refuses 0; a 0 here is treated as 1). T is default-constructible
  // and movable (the ring's free cells hold moved-from or default values).
  explicit BoundedQueue(std::size_t capacity, QueueSpin spin = QueueSpin::never)
      : m_capacity(capacity == 0 ? 1 : capacity), m_spin(spin) {}

  // Waits for room; false (and `item` untouched) once the queue is closed.
  bool push(T& item) {
    std::unique_lock lock(m_mutex);
    if (!m_closed && m_count >= m_capacity) {
      ++m_push_waiters;
      m_not_full.wait(lock, [&] { return m_closed || m_count < m_capacity; });
      --m_push_waiters;
    }
    return put(lock, item);
  }

  // Never waits: false (and `item` untouched) when full or closed.
  bool try_push(T& item) {
    std::unique_lock lock(m_mutex);
    if (m_count >= m_capacity) {
      return false;
    }
    return put(lock, item);
  }

  // Waits for an item; nothing once the queue is closed and drained.
  std::optional<T> pop() {
    if (m_spin == QueueSpin::adaptive) {
      m_poll.until([&] {
        return m_count.load(std::memory_order_acquire) > 0 ||
               m_closed.load(std::memory_order_acquire);
      });
    }
    std::unique_lock lock(m_mutex);
    if (!m_closed && m_count == 0) {
      ++m_pop_waiters;
      m_not_empty.wait(lock, [&] { return m_closed || m_count > 0; });
      --m_pop_waiters;
    }
    return take(lock);
  }

  // Waits at most `timeout` (real time) for an item; nothing on timeout, or once the queue is
  // closed and drained. A timeout <= 0 only takes what is there.
  std::optional<T> pop_for(std::chrono::nanoseconds timeout) {
    std::unique_lock lock(m_mutex);
    if (!m_closed && m_count == 0 && timeout > std::chrono::nanoseconds(0)) {
      ++m_pop_waiters;
      m_not_empty.wait_for(lock, timeout, [&] { return m_closed || m_count > 0; });
      --m_pop_waiters;
    }
    return take(lock);
  }

  void close() {
    {
      std::lock_guard lock(m_mutex);
      m_closed.store(true, std::memory_order_release);
    }
    m_not_empty.notify_all();
    m_not_full.notify_all();
  }

  [[nodiscard]] std::size_t size() const {
    std::lock_guard lock(m_mutex);
    return m_count;
  }
  [[nodiscard]] std::size_t capacity() const { return m_capacity; }
  // Threads blocked in pop/pop_for, and in push (tests: to close a queue with threads asleep).
  [[nodiscard]] int blocked_pops() const {
    std::lock_guard lock(m_mutex);
    return m_pop_waiters;
  }
  [[nodiscard]] int blocked_pushes() const {
    std::lock_guard lock(m_mutex);
    return m_push_waiters;
  }

 private:
  // Appends `item` unless closed; releases `lock` (held on entry) before waking a consumer.
  bool put(std::unique_lock<std::mutex>& lock, T& item) {
    if (m_closed) {
      return false;
    }
    if (m_count == m_ring.size()) {
      grow();
    }
    std::size_t tail = m_head + m_count;
    if (tail >= m_ring.size()) {
      tail -= m_ring.size();
    }
    m_ring[tail] = std::move(item);
    m_count.store(m_count + 1, std::memory_order_release);
    const bool wake = m_pop_waiters > 0;
    lock.unlock();
    if (wake) {
      m_not_empty.notify_one();
    }
    return true;
  }

  // The front item, if any; releases `lock` (held on entry) before waking a producer.
  std::optional<T> take(std::unique_lock<std::mutex>& lock) {
    if (m_count == 0) {
      return std::nullopt;
    }
    std::optional<T> item(std::move(m_ring[m_head]));
    if (++m_head == m_ring.size()) {
      m_head = 0;
    }
    m_count.store(m_count - 1, std::memory_order_relaxed);
    const bool wake = m_push_waiters > 0;
    lock.unlock();
    if (wake) {
      m_not_full.notify_one();
    }
    return item;
  }

  // Full ring below the capacity: twice the cells (at least 8, at most the capacity), the items
  // moved to the front in order. Called with the mutex held.
  void grow() {
    const std::size_t cells = std::min(m_capacity, std::max<std::size_t>(8, 2 * m_ring.size()));
    std::vector<T> ring(cells);
    for (std::size_t i = 0; i < m_count; ++i) {
      std::size_t at = m_head + i;
      if (at >= m_ring.size()) {
        at -= m_ring.size();
      }
      ring[i] = std::move(m_ring[at]);
    }
    m_ring = std::move(ring);
    m_head = 0;
  }

  const std::size_t m_capacity;
  const QueueSpin m_spin;
  mutable std::mutex m_mutex;
  std::condition_variable m_not_empty;
  std::condition_variable m_not_full;
  std::vector<T> m_ring;                // cells; the items are m_count cells from m_head, wrapping
  std::size_t m_head = 0;               // the oldest item's cell
  std::atomic<std::size_t> m_count{0};  // items queued; written under the mutex
  AdaptivePoll m_poll;                  // QueueSpin::adaptive's pops
  int m_pop_waiters = 0;                // threads blocked in pop/pop_for
  int m_push_waiters = 0;               // threads blocked in push
  std::atomic<bool> m_closed{false};    // written under the mutex, read without it by m_poll
};

}  // namespace colo::pipeline
