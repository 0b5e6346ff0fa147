// Fuzzes the Alibaba trace CSV reader of `colo sim` (src/sim/trace.hpp): the first byte picks
// the node or the pod format, the rest is the file's text. Any text gives rows or an error.
#include <cstddef>
#include <cstdint>
#include <string>

#include "sim/trace.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    (void)colo::csim::parse_nodes(text, "nodes.csv");
  } else {
    (void)colo::csim::parse_pods(text, "pods.csv");
  }
  return 0;
}
