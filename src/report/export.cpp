#include "report/export.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace colo {

std::string csv_field(const std::string& v) {
  if (v.find_first_of(",\"\n\r") == std::string::npos) {
    return v;
  }
  std::string out = "\"";
  for (char c : v) {
    out += c == '"' ? std::string("\"\"") : std::string(1, c);
  }
  return out + "\"";
}

std::string export_csv(const ExperimentRecord& exp, const std::vector<RunData>& runs) {
  std::string out =
      "experiment_id,experiment,simulated,run_id,run_key,repetition,sweep,mode,group,status,"
      "workload,copy,gpu,exit_class,exit_code,steps,samples,window_s,throughput,runtime_s,"
      "peak_rss_bytes\n";
  const bool simulated = summarize(exp, runs).simulated;  // CPU-only runs are not simulated
  for (const auto& rd : runs) {
    for (const auto& w : rd.workloads) {
      out += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", exp.id,
                         csv_field(exp.name), simulated ? 1 : 0, rd.run.id, csv_field(rd.run.key),
                         rd.run.repetition, csv_field(rd.run.sweep), csv_field(rd.run.mode),
                         csv_field(rd.run.group), to_string(rd.run.status), csv_field(w.name),
                         w.copy, w.gpu, to_string(w.exit_class), w.exit_code, w.steps, w.samples,
                         w.window_s, w.throughput ? fmt::format("{}", *w.throughput) : "",
                         w.runtime_s, w.peak_rss_bytes);
    }
  }
  return out;
}

std::string export_json(const ExperimentRecord& exp, const std::vector<RunData>& runs,
                        const Summary& summary) {
  nlohmann::json j;
  j["experiment"] = {{"id", exp.id},
                     {"name", exp.name},
                     {"simulated", summary.simulated},
                     {"backend", exp.backend},
                     {"status", exp.status},
                     {"colo_version", exp.colo_version},
                     {"host", exp.host},
                     {"gpus", nlohmann::json::parse(exp.gpu_json, nullptr, false)},
                     {"wall_s", exp.wall_s},
                     {"order_seed", exp.order_seed ? nlohmann::json(*exp.order_seed) : nullptr},
                     {"spec", exp.spec_yaml}};
  auto& jr = j["runs"] = nlohmann::json::array();
  for (const auto& rd : runs) {
    nlohmann::json r{{"id", rd.run.id},
                     {"key", rd.run.key},
                     {"repetition", rd.run.repetition},
                     {"sweep", rd.run.sweep},
                     {"mode", rd.run.mode},
                     {"group", rd.run.group},
                     {"status", to_string(rd.run.status)},
                     {"wall_s", rd.run.wall_s},
                     {"started_at", rd.run.started_at},    // Unix seconds (concurrent runs
                     {"finished_at", rd.run.finished_at},  // overlap: `parallel: true`)
                     {"error", rd.run.error},
                     {"degraded", rd.run.degraded},  // "" or why its telemetry is incomplete
                     {"settings", nlohmann::json::parse(rd.run.settings_json, nullptr, false)}};
    auto& ws = r["workloads"] = nlohmann::json::array();
    for (const auto& w : rd.workloads) {
      nlohmann::json wj{{"name", w.name},
                        {"copy", w.copy},
                        {"gpu", w.gpu},
                        {"exit_class", to_string(w.exit_class)},
                        {"exit_code", w.exit_code},
                        {"signal", w.signal},
                        {"message", w.message},
                        {"steps", w.steps},
                        {"samples", w.samples},
                        {"window_s", w.window_s},
                        {"runtime_s", w.runtime_s},
                        {"peak_rss_bytes", w.peak_rss_bytes},
                        {"stdout", w.stdout_path},
                        {"stderr", w.stderr_path}};
      wj["throughput"] = w.throughput ? nlohmann::json(*w.throughput) : nlohmann::json();
      ws.push_back(wj);
    }
    jr.push_back(r);
  }
  auto& jg = j["summary"]["groups"] = nlohmann::json::array();
  for (const auto& g : summary.groups) {
    jg.push_back({{"sweep", g.sweep},
                  {"mode", g.mode},
                  {"group", g.group},
                  {"clients", g.clients},
                  {"speedup", g.speedup ? nlohmann::json(*g.speedup) : nlohmann::json()},
                  {"reps", g.reps}});
  }
  auto& jw = j["summary"]["workloads"] = nlohmann::json::array();
  for (const auto& w : summary.workloads) {
    jw.push_back({{"sweep", w.sweep},
                  {"mode", w.mode},
                  {"group", w.group},
                  {"workload", w.workload},
                  {"solo", w.solo ? nlohmann::json(*w.solo) : nlohmann::json()},
                  {"rate", w.rate},
                  {"relative", w.relative ? nlohmann::json(*w.relative) : nlohmann::json()},
                  {"reps", w.reps}});
  }
  return j.dump(2) + "\n";
}

}  // namespace colo
