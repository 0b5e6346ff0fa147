#include "gpu/sim/sim_topology.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

#include "core/units.hpp"

namespace colo::sim {

Result<SimTopology> parse_topology(const std::string& yaml_text, const std::string& path) {
  SimTopology t;
  try {
    auto root = YAML::Load(yaml_text);
    if (!root.IsMap()) {
      return fail(ErrorCode::invalid_argument, fmt::format("{}: expected a mapping", path));
    }
    for (auto it = root.begin(); it != root.end(); ++it) {
      const auto key = it->first.as<std::string>();
      const YAML::Node v = it->second;
      if (key == "name") {
        t.name = v.as<std::string>();
      } else if (key == "devices") {
        t.devices = v.as<int>();
      } else if (key == "sm_count") {
        t.sm_count = v.as<int>();
      } else if (key == "memory") {
        auto b = parse_bytes(v.as<std::string>());
        if (!b) {
          return fail(ErrorCode::invalid_argument,
                      fmt::format("{}:{}: memory: {}", path, v.Mark().line + 1, b.error().message));
        }
        t.memory_bytes = *b;
      } else if (key == "idle_power_w") {
        t.idle_power_w = v.as<double>();
      } else if (key == "max_power_w") {
        t.max_power_w = v.as<double>();
      } else if (key == "sm_clock_mhz") {
        t.sm_clock_mhz = v.as<double>();
      } else if (key == "mig_mode") {
        t.mig_mode = v.as<std::string>();
      } else if (key == "switch_overhead") {
        t.contention.switch_overhead = v.as<double>();
      } else if (key == "mps_overhead") {
        t.contention.mps_overhead = v.as<double>();
      } else {
        return fail(ErrorCode::invalid_argument,
                    fmt::format("{}:{}: unknown field '{}'", path, it->first.Mark().line + 1, key));
      }
    }
  } catch (const YAML::Exception& e) {
    return fail(ErrorCode::invalid_argument,
                fmt::format("{}:{}: {}", path, e.mark.line + 1, e.msg));
  }
  if (t.devices < 1 || t.devices > 64 || t.sm_count < 1 || t.memory_bytes == 0) {
    return fail(ErrorCode::invalid_argument,
                fmt::format("{}: devices (1..64), sm_count and memory must be positive", path));
  }
  return t;
}

Result<SimTopology> load_topology(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return fail(ErrorCode::not_found, fmt::format("cannot read GPU topology file '{}'", path));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_topology(ss.str(), path);
}

}  // namespace colo::sim
