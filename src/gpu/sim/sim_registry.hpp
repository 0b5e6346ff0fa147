#pragma once
// The shared state of one simulated device: a directory that colo's SimBackend and every
// simulated workload process on that device read and write. Multi-process safe (flock on
// `<dir>/.lock`, atomic renames). Records of dead processes (gone, zombies, or a pid now used by
// another process) are ignored and pruned.
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
  std::uint64_t start_time = 0;  // process_start_time(pid): a reused pid is not this client
  std::string label;
  SimClient model;
  std::uint64_t mem_bytes = 0;
  bool active = false;  // between the start barrier and the end of its loop
};

class SimRegistry {
 public:
  explicit SimRegistry(std::string dir) : m_dir(std::move(dir)) {}

  // Creates the directory and writes the device state (colo side). Client records already
  // there (of a session that was killed, whose processes may still be exiting) are removed:
  // every run starts from a clean device.
  Status init(const DeviceState& state) const;
  Result<DeviceState> device() const;

  // Allocates the client's memory: fails with an out-of-memory error (ErrorCode::gpu, message
  // starting "out of memory") when it exceeds `mem_limit` or the device's free memory.
  Status join(const ClientRecord& rec, std::optional<std::uint64_t> mem_limit) const;
  Status update(const ClientRecord& rec) const;
  void leave(int pid) const;
  // Live clients: the process that joined still runs (not a zombie, not a reused pid).
  Result<std::vector<ClientRecord>> clients() const;

  [[nodiscard]] const std::string& dir() const { return m_dir; }

 private:
  std::string m_dir;
};

// A simulated workload's record of itself: its model with the limits colo put in its environment
// (COLO_SIM_SM_LIMIT, COLO_SIM_BW_LIMIT: fractions in (0, 1], anything else is 1), its pid and
// start time. Used by colo-sim-gpu and the pipeline's sim-model stage.
ClientRecord client_from_env(std::string label, SimClient model, std::uint64_t mem_bytes);
// COLO_SIM_MEM_LIMIT (bytes) when colo set one.
std::optional<std::uint64_t> mem_limit_from_env();
// The speed factor of client `pid` among the registry's active clients, by the contention model:
// 1 when it is not active or the registry cannot be read.
double client_speed(const SimRegistry& registry, const DeviceState& device, int pid);

}  // namespace colo::sim
