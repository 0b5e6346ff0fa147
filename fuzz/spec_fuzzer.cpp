// Fuzzes the experiment spec parser (YAML text -> ExperimentSpec): it must return a value or an
// error for any input, never crash, hang or throw. Reads no files.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto spec = colo::parse_spec(text, "fuzz.yaml");
  if (spec) {
    // What every caller reads of a parsed spec.
    for (const auto& m : spec->modes) {
      for (const auto& e : m.expansions) {
        (void)e.label();
      }
    }
  } else {
    (void)spec.error().what();
  }
  return 0;
}
