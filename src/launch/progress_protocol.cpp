#include "launch/progress_protocol.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace colo {

Result<ProgressEvent> parse_progress_line(std::string_view line) {
  if (line.size() > k_max_progress_line) {
    return fail(ErrorCode::invalid_argument, "progress line longer than 64 KiB");
  }
  nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return fail(ErrorCode::invalid_argument,
                fmt::format("progress line is not a JSON object: '{}'", line.substr(0, 80)));
  }
  ProgressEvent e;
  const auto ev = j.value("event", std::string("step"));
  if (ev == "ready") {
    e.kind = ProgressKind::ready;
  } else if (ev == "step") {
    e.kind = ProgressKind::step;
  } else if (ev == "error") {
    e.kind = ProgressKind::error;
  } else if (ev == "done") {
    e.kind = ProgressKind::done;
  } else {
    e.kind = ProgressKind::other;
  }
  auto number = [&](const char* key) -> std::optional<double> {
    auto it = j.find(key);
    if (it != j.end() && it->is_number()) {
      return it->get<double>();
    }
    return std::nullopt;
  };
  if (auto s = number("step")) {
    e.step = static_cast<std::int64_t>(*s);
  }
  e.samples = number("samples").value_or(e.kind == ProgressKind::step ? 1.0 : 0.0);
  if (e.samples < 0 || e.samples > 1e12) {
    return fail(ErrorCode::invalid_argument, "progress 'samples' out of range");
  }
  e.loss = number("loss");
  e.latency_ms = number("latency_ms");
  if (auto it = j.find("kind"); it != j.end() && it->is_string()) {
    e.error_kind = it->get<std::string>();
  }
  if (auto it = j.find("message"); it != j.end() && it->is_string()) {
    e.message = it->get<std::string>().substr(0, 1024);
  }
  return e;
}

}  // namespace colo
