#pragma once
// colo's progress protocol for C++ workloads (docs/progress-protocol.md). Header-only, no
// dependencies. Outside colo (COLO_PROGRESS unset) every call is a no-op and ready() returns at
// once. Not thread-safe: report from one thread. Signal-safe: no.
#include <unistd.h>

#include <cerrno>
#include <cfloat>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace colo_progress {

class Reporter {
 public:
  // Says at once that this workload speaks the protocol ({"event":"hello"}): with progress:
  // auto, colo measures a workload silent for hello_timeout by wall time instead.
  Reporter() : m_out(fd_from_env("COLO_PROGRESS")), m_start(fd_from_env("COLO_START")) {
    write_line("{\"event\":\"hello\"}");
  }

  [[nodiscard]] bool active() const { return m_out >= 0; }

  // Initialization is done: tell colo, then block until colo releases the start barrier.
  void ready() {
    write_line("{\"event\":\"ready\"}");
    if (m_start >= 0) {
      char c = 0;
      ssize_t n = 0;
      do {
        n = ::read(m_start, &c, 1);
      } while (n < 0 && errno == EINTR);
      ::close(m_start);
      m_start = -1;
    }
  }

  // One step done, `samples` samples processed in it. loss / latency_ms < 0 (or not finite,
  // which JSON cannot carry): not given.
  void step(double samples, double loss = -1, double latency_ms = -1) {
    char buf[256];
    int n = std::snprintf(buf, sizeof(buf), "{\"event\":\"step\",\"step\":%lld,\"samples\":%.17g",
                          ++m_step, samples);
    if (loss >= 0 && loss <= DBL_MAX) {
      n +=
          std::snprintf(buf + n, sizeof(buf) - static_cast<std::size_t>(n), ",\"loss\":%.9g", loss);
    }
    if (latency_ms >= 0 && latency_ms <= DBL_MAX) {
      n += std::snprintf(buf + n, sizeof(buf) - static_cast<std::size_t>(n), ",\"latency_ms\":%.9g",
                         latency_ms);
    }
    std::snprintf(buf + n, sizeof(buf) - static_cast<std::size_t>(n), "}");
    write_line(buf);
  }

  // A failure colo should classify: kind "oom", "gpu_fault" or anything else.
  void error(const char* kind, const std::string& message) {
    std::string esc;
    for (char c : message) {
      if (c == '"' || c == '\\') {
        esc += '\\';
      }
      esc += (c == '\n' || c == '\r') ? ' ' : c;
    }
    write_line(std::string("{\"event\":\"error\",\"kind\":\"") + kind + "\",\"message\":\"" + esc +
               "\"}");
  }

  void done() { write_line("{\"event\":\"done\"}"); }

 private:
  static int fd_from_env(const char* name) {
    const char* v = std::getenv(name);
    if (!v || std::strncmp(v, "fd:", 3) != 0) {
      return -1;
    }
    return std::atoi(v + 3);
  }

  void write_line(const std::string& line) {
    if (m_out < 0) {
      return;
    }
    std::string s = line + "\n";
    const char* p = s.data();
    std::size_t left = s.size();
    while (left > 0) {
      const ssize_t n = ::write(m_out, p, left);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        m_out = -1;  // colo went away
        return;
      }
      p += n;
      left -= static_cast<std::size_t>(n);
    }
  }

  int m_out;
  int m_start;
  long long m_step = 0;
};

}  // namespace colo_progress
