#pragma once
// Parsing of human quantities used in specs and flags.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/result.hpp"

namespace colo {

inline constexpr double k_max_duration_s = 366.0 * 24 * 3600;              // a year
inline constexpr double k_max_bytes = 1024.0 * 1024 * 1024 * 1024 * 1024;  // 1 PiB

// "90s", "1.5m", "250ms", "2h", "10" (seconds). Errors on negative or malformed input, and on
// durations above k_max_duration_s (a year), which would overflow clocks downstream.
Result<Seconds> parse_duration(std::string_view text);

// "8G", "512M", "1.5GiB", "1024" (bytes). Binary multiples (K=1024). Errors on malformed input
// and on sizes above k_max_bytes (1 PiB).
Result<std::uint64_t> parse_bytes(std::string_view text);

// "1.5 s", "250 ms" for printing.
std::string format_duration(Seconds s);
// "8.0 GiB", "512 MiB".
std::string format_bytes(std::uint64_t bytes);

// "[#######.............] 3/9 runs, 1m05s elapsed, ETA ~2m10s": `done` of `total` finished
// after `elapsed`; the ETA assumes the remaining runs take as long on average as the done ones.
std::string format_progress(int done, int total, Seconds elapsed, int width = 24);

}  // namespace colo
