#include "core/records.hpp"

#include <nlohmann/json.hpp>

namespace colo {

const char* to_string(RunStatus s) {
  switch (s) {
    case RunStatus::pending:
      return "pending";
    case RunStatus::running:
      return "running";
    case RunStatus::done:
      return "done";
    case RunStatus::failed:
      return "failed";
    case RunStatus::interrupted:
      return "interrupted";
  }
  return "pending";
}

RunStatus run_status_from(const std::string& s) {
  for (auto v : {RunStatus::pending, RunStatus::running, RunStatus::done, RunStatus::failed,
                 RunStatus::interrupted}) {
    if (s == to_string(v)) {
      return v;
    }
  }
  return RunStatus::pending;
}

const char* to_string(ExitClass c) {
  switch (c) {
    case ExitClass::ok:
      return "ok";
    case ExitClass::failed:
      return "failed";
    case ExitClass::killed:
      return "killed";
    case ExitClass::timed_out:
      return "timed_out";
    case ExitClass::oom:
      return "oom";
    case ExitClass::gpu_fault:
      return "gpu_fault";
    case ExitClass::start_failed:
      return "start_failed";
    case ExitClass::interrupted:
      return "interrupted";
  }
  return "failed";
}

ExitClass exit_class_from(const std::string& s) {
  for (auto v :
       {ExitClass::ok, ExitClass::failed, ExitClass::killed, ExitClass::timed_out, ExitClass::oom,
        ExitClass::gpu_fault, ExitClass::start_failed, ExitClass::interrupted}) {
    if (s == to_string(v)) {
      return v;
    }
  }
  return ExitClass::failed;
}

double run_warmup_s(const RunRecord& r) {
  try {
    const auto j = nlohmann::json::parse(r.settings_json);
    const auto it = j.find("warmup");
    return it != j.end() && it->is_object() ? it->value("duration_s", 0.0) : 0.0;
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace colo
