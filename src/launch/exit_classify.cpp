#include "launch/exit_classify.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstring>

#include "core/units.hpp"

namespace colo {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool contains_any(const std::string& text, std::initializer_list<const char*> needles) {
  const auto l = lower(text);
  return std::any_of(needles.begin(), needles.end(),
                     [&](const char* n) { return l.find(n) != std::string::npos; });
}

std::string last_line(const std::string& text) {
  auto end = text.find_last_not_of("\n\r ");
  if (end == std::string::npos) {
    return {};
  }
  auto start = text.rfind('\n', end);
  return text.substr(start == std::string::npos ? 0 : start + 1,
                     end - (start == std::string::npos ? 0 : start + 1) + 1);
}

std::string signal_name(int sig) {
  const char* d = ::strsignal(sig);
  return fmt::format("signal {} ({})", sig, d ? d : "?");
}

}  // namespace

bool mentions_oom(const std::string& text) {
  return contains_any(text, {"out of memory", "outofmemoryerror", "cudaerrormemoryallocation",
                             "cuda_error_out_of_memory"});
}

bool mentions_gpu_fault(const std::string& text) {
  return contains_any(text, {"illegal memory access", "illegal address", "illegal instruction",
                             "unspecified launch failure", "fatal gpu error", "xid",
                             "cuda_error_illegal", "misaligned address"});
}

namespace {

Classification classify(const ExitFacts& f) {
  const std::string tail = last_line(f.stderr_tail);
  auto with_tail = [&](std::string m) {
    if (!tail.empty()) {
      m += ": " + tail.substr(0, 300);
    }
    return m;
  };
  if (f.exec_failed) {
    return {ExitClass::start_failed, "could not start: " + f.exec_error};
  }
  if (f.reported_error == "oom" ||
      (!f.reported_error.empty() && mentions_oom(f.reported_message))) {
    return {ExitClass::oom, "out of memory: " + f.reported_message};
  }
  if (f.reported_error == "gpu_fault") {
    return {ExitClass::gpu_fault, "GPU fault: " + f.reported_message};
  }
  const bool failed_itself = (f.exited && f.exit_code != 0 && !f.stopped_by_colo) ||
                             (f.signal != 0 && !f.stopped_by_colo && !f.interrupted);
  if (failed_itself || f.never_ready) {
    if (mentions_oom(f.stderr_tail)) {
      return {ExitClass::oom, with_tail("out of memory")};
    }
    if (mentions_gpu_fault(f.stderr_tail)) {
      return {ExitClass::gpu_fault, with_tail("GPU fault")};
    }
  }
  if (f.init_timed_out) {
    return {ExitClass::start_failed,
            with_tail(fmt::format("not ready within init_timeout ({:g} s): it never said "
                                  "{{\"event\":\"ready\"}}; stopped by colo",
                                  f.init_timeout_s))};
  }
  if (f.never_ready && f.exited && f.exit_code != 0) {
    return {ExitClass::failed,
            with_tail(fmt::format("exited with code {} before the start barrier", f.exit_code))};
  }
  if (f.never_ready) {
    return {ExitClass::start_failed,
            with_tail(f.exited || f.signal ? "ended before the start barrier"
                                           : "not ready before init_timeout")};
  }
  if (f.timed_out) {
    return {ExitClass::timed_out, "still running at the run's timeout; stopped by colo"};
  }
  if (f.interrupted) {
    return {ExitClass::interrupted, "stopped early: colo was interrupted or a co-runner failed"};
  }
  if (f.killed_after_grace) {
    return {ExitClass::killed, "ignored SIGTERM; killed with SIGKILL after the grace period"};
  }
  if (f.stopped_by_colo) {
    return {ExitClass::ok, "stopped by its stop rule"};
  }
  if (f.exited && f.exit_code == 0) {
    return {ExitClass::ok, "exited 0"};
  }
  if (f.exited) {
    return {ExitClass::failed, with_tail(fmt::format("exited with code {}", f.exit_code))};
  }
  if (f.signal == SIGKILL) {
    return {ExitClass::killed,
            with_tail("killed by SIGKILL from outside colo (the kernel's OOM killer?)")};
  }
  return {ExitClass::killed, with_tail("killed by " + signal_name(f.signal))};
}

}  // namespace

Classification classify_exit(const ExitFacts& f) {
  auto c = classify(f);
  if (f.malformed_progress > 0) {
    c.message += fmt::format("; ignored {} malformed COLO_PROGRESS line{}, the first: {}",
                             f.malformed_progress, f.malformed_progress == 1 ? "" : "s",
                             f.first_malformed.substr(0, 200));
  }
  if (f.pids_refused > 0) {
    c.message += fmt::format("; fork refused {} time{}: pids limit {} (limits.pids)",
                             f.pids_refused, f.pids_refused == 1 ? "" : "s", f.pids_max);
  }
  if (!f.truncated_streams.empty()) {
    c.message += fmt::format("; output truncated at {} (limits.output): {}",
                             format_bytes(f.output_limit), fmt::join(f.truncated_streams, ", "));
  }
  return c;
}

}  // namespace colo
