#include "core/units.hpp"

#include <fmt/format.h>

#include <algorithm>

#include <cctype>
#include <charconv>
#include <cmath>

namespace colo {
namespace {

struct NumberAndSuffix {
  double value = 0;
  std::string suffix;
};

Result<NumberAndSuffix> split_number(std::string_view text, std::string_view what) {
  std::string s;
  for (char c : text) {
    if (!std::isspace(static_cast<unsigned char>(c))) {
      s.push_back(c);
    }
  }
  std::size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) {
    ++i;
  }
  if (i == 0) {
    return fail(ErrorCode::invalid_argument,
                fmt::format("'{}' is not a {}: expected a number", text, what));
  }
  NumberAndSuffix out;
  try {
    std::size_t used = 0;
    out.value = std::stod(s.substr(0, i), &used);
    if (used != i) {
      throw std::invalid_argument("trailing");
    }
  } catch (const std::exception&) {
    return fail(ErrorCode::invalid_argument, fmt::format("'{}' is not a {}", text, what));
  }
  out.suffix = s.substr(i);
  for (auto& c : out.suffix) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

}  // namespace

Result<Seconds> parse_duration(std::string_view text) {
  auto ns = split_number(text, "duration");
  if (!ns) {
    return fail(ns.error());
  }
  double mult = 0;
  const auto& u = ns->suffix;
  if (u.empty() || u == "s" || u == "sec") {
    mult = 1;
  } else if (u == "ms") {
    mult = 1e-3;
  } else if (u == "us") {
    mult = 1e-6;
  } else if (u == "m" || u == "min") {
    mult = 60;
  } else if (u == "h") {
    mult = 3600;
  } else {
    return fail(ErrorCode::invalid_argument,
                fmt::format("'{}' has an unknown duration unit '{}' (use ms, s, m or h)", text, u));
  }
  const double seconds = ns->value * mult;
  if (!std::isfinite(seconds) || seconds > k_max_duration_s) {
    return fail(ErrorCode::invalid_argument,
                fmt::format("'{}' is too long a duration (at most 366 days)", text));
  }
  return Seconds(seconds);
}

Result<std::uint64_t> parse_bytes(std::string_view text) {
  auto ns = split_number(text, "size");
  if (!ns) {
    return fail(ns.error());
  }
  auto u = ns->suffix;
  if (u.size() > 1 && u.back() == 'b') {
    u.pop_back();
  }
  if (u.size() > 1 && u.back() == 'i') {
    u.pop_back();
  }
  double mult = 0;
  if (u.empty()) {
    mult = 1;
  } else if (u == "k") {
    mult = 1024.0;
  } else if (u == "m") {
    mult = 1024.0 * 1024;
  } else if (u == "g") {
    mult = 1024.0 * 1024 * 1024;
  } else if (u == "t") {
    mult = 1024.0 * 1024 * 1024 * 1024;
  } else {
    return fail(ErrorCode::invalid_argument,
                fmt::format("'{}' has an unknown size unit (use K, M, G or T)", text));
  }
  const double bytes = ns->value * mult;
  if (!std::isfinite(bytes) || bytes > k_max_bytes) {
    return fail(ErrorCode::invalid_argument,
                fmt::format("'{}' is too large a size (at most 1 PiB)", text));
  }
  return static_cast<std::uint64_t>(std::llround(bytes));
}

std::string format_duration(Seconds s) {
  double v = s.count();
  if (v < 1.0) {
    return fmt::format("{:.0f} ms", v * 1e3);
  }
  if (v < 120.0) {
    return fmt::format("{:.1f} s", v);
  }
  return fmt::format("{:.1f} min", v / 60.0);
}

std::string format_bytes(std::uint64_t bytes) {
  const double b = static_cast<double>(bytes);
  if (b >= 1024.0 * 1024 * 1024) {
    return fmt::format("{:.1f} GiB", b / (1024.0 * 1024 * 1024));
  }
  if (b >= 1024.0 * 1024) {
    return fmt::format("{:.0f} MiB", b / (1024.0 * 1024));
  }
  return fmt::format("{:.0f} KiB", b / 1024.0);
}

std::string format_progress(int done, int total, Seconds elapsed, int width) {
  const double frac = total > 0 ? std::clamp(static_cast<double>(done) / total, 0.0, 1.0) : 1.0;
  const int filled = static_cast<int>(std::lround(frac * width));
  std::string bar = "[" + std::string(static_cast<std::size_t>(filled), '#') +
                    std::string(static_cast<std::size_t>(width - filled), '.') + "]";
  std::string eta = "ETA unknown";
  if (done > 0 && done < total) {
    eta = "ETA ~" + format_duration(Seconds(elapsed.count() / done * (total - done)));
  } else if (done >= total) {
    eta = "finished";
  }
  return fmt::format("{} {}/{} runs, {} elapsed, {}", bar, done, total, format_duration(elapsed),
                     eta);
}

}  // namespace colo
