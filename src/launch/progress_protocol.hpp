#pragma once
// The COLO_PROGRESS protocol (docs/progress-protocol.md): a workload writes one JSON object per
// line to the fd named by COLO_PROGRESS ("fd:3"); colo answers the start barrier by writing one
// byte to the fd named by COLO_START ("fd:4") after every workload said "ready".
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace colo {

inline constexpr int k_progress_fd = 3;
inline constexpr int k_start_fd = 4;
inline constexpr std::size_t k_max_progress_line = std::size_t{64} * 1024;
inline constexpr double k_max_step_samples = 1e12;

// `other`: a JSON object whose "event" is a string colo does not know (ignored, not malformed,
// so that clients may send events a later colo understands).
enum class ProgressKind { ready, step, error, done, other };

struct ProgressEvent {
  ProgressKind kind = ProgressKind::other;
  std::optional<std::int64_t> step;  // workload's own step counter, if given
  double samples = 0;                // samples processed in this step
  std::optional<double> loss;
  std::optional<double> latency_ms;
  std::string error_kind;  // "oom", "gpu_fault", ... for kind == error
  std::string message;
};

// Parses one line. Never throws. Defaults (docs/progress-protocol.md): an object without
// "event" is a step; a step without "samples" counts 1 sample; a known field given as null is
// absent. A malformed line is an error naming why: not a JSON object, over 64 KiB, "event" not
// a string, a known field of the wrong type ("step" not an integer, "samples" not a finite
// number in [0, 1e12], "loss"/"latency_ms" not finite numbers, "kind"/"message" not strings).
// The caller ignores and counts malformed lines.
Result<ProgressEvent> parse_progress_line(std::string_view line);

}  // namespace colo
