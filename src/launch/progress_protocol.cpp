#include "launch/progress_protocol.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>

namespace colo {
namespace {

Error malformed(std::string_view line, std::string_view why) {
  // The quoted excerpt may end inside a UTF-8 sequence; the store sanitises text it keeps.
  return Error{ErrorCode::invalid_argument,
               fmt::format("malformed progress line ({}): '{}'", why, line.substr(0, 80)),
               {}};
}

// The field `key` as a finite number: absent or null -> nullopt; anything else -> error.
Result<std::optional<double>> finite_number(const nlohmann::json& j, const char* key,
                                            std::string_view line) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    return std::optional<double>{};
  }
  if (!it->is_number() || !std::isfinite(it->get<double>())) {
    return fail(malformed(line, fmt::format("'{}' is not a finite number", key)));
  }
  return std::optional<double>{it->get<double>()};
}

Result<std::string> text_field(const nlohmann::json& j, const char* key, std::string_view line) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    return std::string();
  }
  if (!it->is_string()) {
    return fail(malformed(line, fmt::format("'{}' is not a string", key)));
  }
  return it->get<std::string>();
}

ProgressKind kind_of(const std::string& ev) {
  if (ev == "ready") {
    return ProgressKind::ready;
  }
  if (ev == "step") {
    return ProgressKind::step;
  }
  if (ev == "error") {
    return ProgressKind::error;
  }
  if (ev == "done") {
    return ProgressKind::done;
  }
  return ProgressKind::other;
}

}  // namespace

Result<ProgressEvent> parse_progress_line(std::string_view line) {
  if (line.size() > k_max_progress_line) {
    return fail(malformed(line, "longer than 64 KiB"));
  }
  const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return fail(malformed(line, "not a JSON object"));
  }
  ProgressEvent e;
  if (auto it = j.find("event"); it == j.end()) {
    e.kind = ProgressKind::step;  // documented default: {"samples": 64} is a step
  } else if (it->is_string()) {
    e.kind = kind_of(it->get<std::string>());
  } else {
    return fail(malformed(line, "'event' is not a string"));
  }
  if (auto it = j.find("step"); it != j.end() && !it->is_null()) {
    if (it->is_number_integer()) {
      // Unsigned values above INT64_MAX are refused rather than wrapped.
      if (it->is_number_unsigned() &&
          it->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
        return fail(malformed(line, "'step' is out of range"));
      }
      e.step = it->get<std::int64_t>();
    } else {
      return fail(malformed(line, "'step' is not an integer"));
    }
  }
  auto samples = finite_number(j, "samples", line);
  if (!samples) {
    return fail(samples.error());
  }
  e.samples = samples->value_or(e.kind == ProgressKind::step ? 1.0 : 0.0);
  if (e.samples < 0 || e.samples > k_max_step_samples) {
    return fail(malformed(line, "'samples' is out of range [0, 1e12]"));
  }
  auto loss = finite_number(j, "loss", line);
  if (!loss) {
    return fail(loss.error());
  }
  e.loss = *loss;
  auto latency = finite_number(j, "latency_ms", line);
  if (!latency) {
    return fail(latency.error());
  }
  e.latency_ms = *latency;
  auto kind = text_field(j, "kind", line);
  if (!kind) {
    return fail(kind.error());
  }
  e.error_kind = std::move(*kind);
  auto message = text_field(j, "message", line);
  if (!message) {
    return fail(message.error());
  }
  e.message = message->substr(0, 1024);
  return e;
}

}  // namespace colo
