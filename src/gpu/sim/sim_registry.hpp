#pragma once
// The shared state of one simulated device: a directory that colo's SimBackend and every
// simulated workload process on that device read and write. Multi-process safe (flock on
// `<dir>/.lock`, atomic renames). Records of dead processes are ignored and pruned.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "core/spec.hpp"
#include "gpu/sim/contention_model.hpp"

namespace colo::sim {

struct DeviceState {
  ModeKind mode = ModeKind::timeslice;
  int sm_count = 132;
  std::uint64_t memory_bytes = 0;
  ContentionParams contention;
};

struct ClientRecord {
  int pid = 0;
  std::string label;
  SimClient model;
  std::uint64_t mem_bytes = 0;
  bool active = false;  // between the start barrier and the end of its loop
};

class SimRegistry {
 public:
  explicit SimRegistry(std::string dir) : m_dir(std::move(dir)) {}

  // Creates the directory and writes the device state (colo side).
  Status init(const DeviceState& state) const;
  Result<DeviceState> device() const;

  // Allocates the client's memory: fails with an out-of-memory error (ErrorCode::gpu, message
  // starting "out of memory") when it exceeds `mem_limit` or the device's free memory.
  Status join(const ClientRecord& rec, std::optional<std::uint64_t> mem_limit) const;
  Status update(const ClientRecord& rec) const;
  void leave(int pid) const;
  // Live clients (their process exists).
  Result<std::vector<ClientRecord>> clients() const;

  [[nodiscard]] const std::string& dir() const { return m_dir; }

 private:
  std::string m_dir;
};

}  // namespace colo::sim
