#pragma once
// A bounded multi-producer multi-consumer FIFO joining two pipeline stages. push blocks while
// the queue is full, try_push does not (an open-loop arrival finding it full is dropped), pop
// blocks while it is empty, pop_for at most a timeout. close() wakes everyone: pushes fail from
// then on, pops drain what is left and then return nothing. Thread-safety: every member may be
// called from any thread.
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <utility>

namespace colo::pipeline {

template <typename T>
class BoundedQueue {
 public:
  // capacity >= 1 (parse_config refuses 0; a 0 here is treated as 1).
  explicit BoundedQueue(std::size_t capacity) : m_capacity(capacity == 0 ? 1 : capacity) {}

  // Waits for room; false (and `item` untouched) once the queue is closed.
  bool push(T& item) {
    std::unique_lock lock(m_mutex);
    m_not_full.wait(lock, [&] { return m_closed || m_items.size() < m_capacity; });
    if (m_closed) {
      return false;
    }
    m_items.push_back(std::move(item));
    lock.unlock();
    m_not_empty.notify_one();
    return true;
  }

  // Never waits: false (and `item` untouched) when full or closed.
  bool try_push(T& item) {
    std::unique_lock lock(m_mutex);
    if (m_closed || m_items.size() >= m_capacity) {
      return false;
    }
    m_items.push_back(std::move(item));
    lock.unlock();
    m_not_empty.notify_one();
    return true;
  }

  // Waits for an item; nothing once the queue is closed and drained.
  std::optional<T> pop() {
    std::unique_lock lock(m_mutex);
    m_not_empty.wait(lock, [&] { return m_closed || !m_items.empty(); });
    return take(lock);
  }

  // Waits at most `timeout` (real time) for an item; nothing on timeout, or once the queue is
  // closed and drained. A timeout <= 0 only takes what is there.
  std::optional<T> pop_for(std::chrono::nanoseconds timeout) {
    std::unique_lock lock(m_mutex);
    const auto ready = [&] { return m_closed || !m_items.empty(); };
    if (timeout > std::chrono::nanoseconds(0)) {
      m_not_empty.wait_for(lock, timeout, ready);
    }
    return take(lock);
  }

  void close() {
    {
      std::lock_guard lock(m_mutex);
      m_closed = true;
    }
    m_not_empty.notify_all();
    m_not_full.notify_all();
  }

  [[nodiscard]] std::size_t size() const {
    std::lock_guard lock(m_mutex);
    return m_items.size();
  }
  [[nodiscard]] std::size_t capacity() const { return m_capacity; }

 private:
  // The front item, if any; releases `lock` (held on entry) before waking a producer.
  std::optional<T> take(std::unique_lock<std::mutex>& lock) {
    if (m_items.empty()) {
      return std::nullopt;
    }
    T item = std::move(m_items.front());
    m_items.pop_front();
    lock.unlock();
    m_not_full.notify_one();
    return item;
  }

  const std::size_t m_capacity;
  mutable std::mutex m_mutex;
  std::condition_variable m_not_empty;
  std::condition_variable m_not_full;
  std::deque<T> m_items;
  bool m_closed = false;
};

}  // namespace colo::pipeline
