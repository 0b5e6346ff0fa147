// Fuzzes the COLO_PROGRESS line parser: any line gives an event or an error, never a crash or
// an exception (issue 11: `{"event": null}` used to abort the experiment).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "launch/progress_protocol.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  auto ev = colo::parse_progress_line(line);
  if (ev && ev->kind == colo::ProgressKind::step &&
      (ev->samples < 0 || ev->samples > colo::k_max_step_samples)) {
    __builtin_trap();  // the documented range was not enforced
  }
  return 0;
}
