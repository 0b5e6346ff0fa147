#include "report/report_input.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <optional>

#include "report/stats.hpp"

namespace colo {
namespace {

constexpr std::size_t k_max_points = 600;  // per series: keeps 1M samples under a few MB

}  // namespace

const std::vector<MetricInfo>& charted_gpu_metrics() {
  static const std::vector<MetricInfo> k_metrics = {
      {"DCGM_FI_PROF_SM_ACTIVE", "SM active", "%", 100},
      {"DCGM_FI_PROF_DRAM_ACTIVE", "DRAM bandwidth active", "%", 100},
      {"DCGM_FI_DEV_GPU_UTIL", "GPU utilization", "%", 1},
      {"DCGM_FI_DEV_FB_USED", "GPU memory used", "MiB", 1},
      {"DCGM_FI_DEV_POWER_USAGE", "power", "W", 1},
  };
  return k_metrics;
}

const MetricInfo* gpu_metric_info(std::string_view id) {
  for (const auto& m : charted_gpu_metrics()) {
    if (m.id == id) {
      return &m;
    }
  }
  return nullptr;
}

double warmup_of(const std::string& settings_json) {
  try {
    return nlohmann::json::parse(settings_json).at("warmup").value("duration_s", 0.0);
  } catch (const std::exception&) {
    return 0;
  }
}

std::vector<std::pair<std::string, std::string>> sweep_params(const std::string& sweep) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t at = 0;
  while (at < sweep.size()) {
    auto end = sweep.find(',', at);
    end = end == std::string::npos ? sweep.size() : end;
    const auto part = sweep.substr(at, end - at);
    const auto eq = part.find('=');
    if (eq != std::string::npos) {
      out.emplace_back(part.substr(0, eq), part.substr(eq + 1));
    }
    at = end + 1;
  }
  return out;
}

ReportBuilder::ReportBuilder(const ExperimentRecord& exp, std::vector<RunData> runs,
                             double max_slowdown_x) {
  m_in.exp = exp;
  m_in.summary = summarize(exp, runs);
  m_in.runs = std::move(runs);
  m_in.max_slowdown_x = max_slowdown_x;
  m_in.partial = exp.status != "done";
}

bool ReportBuilder::wants(const RunData& rd) {
  return rd.run.status == RunStatus::done;
}

void ReportBuilder::add_run(const RunData& rd,
                            const std::vector<std::vector<ProgressRow>>& progress,
                            const std::vector<SampleRow>& samples) {
  const double warm = warmup_of(rd.run.settings_json);
  m_in.warmup_s[rd.run.key] = warm;
  for (std::size_t i = 0; i < rd.workloads.size() && i < progress.size(); ++i) {
    const auto& w = rd.workloads[i];
    const auto label = w.name + "#" + std::to_string(w.copy);
    double span = 0;
    for (const auto& p : progress[i]) {
      span = std::max(span, p.t);
    }
    const double bin = std::clamp(span / 100.0, 0.1, 1.0);
    std::map<long, double> bins;
    std::vector<double>* lat = nullptr;
    for (const auto& p : progress[i]) {
      if (p.t >= 0) {
        bins[static_cast<long>(p.t / bin)] += p.samples;
      }
      if (p.latency_ms && p.t > warm) {
        if (lat == nullptr) {
          auto it = std::find_if(m_latency.begin(), m_latency.end(), [&](const auto& e) {
            return std::get<0>(e) == rd.run.mode && std::get<1>(e) == rd.run.group &&
                   std::get<2>(e) == label;
          });
          if (it == m_latency.end()) {
            m_latency.emplace_back(rd.run.mode, rd.run.group, label, std::vector<double>{});
            it = std::prev(m_latency.end());
          }
          lat = &std::get<3>(*it);
        }
        lat->push_back(*p.latency_ms);
      }
    }
    Timeline tl{rd.run.key, "rate", label, "", "samples/s", {}};
    for (const auto& [b, n] : bins) {
      tl.points.push_back({static_cast<double>(b) * bin, n / bin});
    }
    tl.points = downsample_minmax(tl.points, k_max_points);
    if (!tl.points.empty()) {
      m_in.timelines.push_back(std::move(tl));
    }
  }
  add_gpu_rows(rd, samples, warm);
  std::map<std::pair<std::string, int>, std::vector<TimePoint>> series;  // metric, gpu
  for (const auto& x : samples) {
    if (const auto* m = x.gpu ? gpu_metric_info(x.metric) : nullptr) {
      series[{std::string(m->id), *x.gpu}].push_back({x.t, x.value * m->scale});
    }
  }
  for (const auto& m : charted_gpu_metrics()) {  // panel order
    for (auto& [key, pts] : series) {
      if (key.first == m.id) {
        m_in.timelines.push_back({rd.run.key, "gpu", fmt::format("{} ({})", m.name, m.unit),
                                  fmt::format("GPU {}", key.second), std::string(m.unit),
                                  downsample_minmax(pts, k_max_points)});
      }
    }
  }
}

void ReportBuilder::add_gpu_rows(const RunData& rd, const std::vector<SampleRow>& samples,
                                 double warm) {
  struct PerGpu {
    std::vector<double> sm, dram, util, power;
    std::optional<double> mem_peak;
    std::vector<SampleRow> energy;
  };
  std::map<int, PerGpu> gpus;
  for (const auto& x : samples) {
    if (!x.gpu || x.t < warm) {
      continue;
    }
    auto& g = gpus[*x.gpu];
    if (x.metric == "DCGM_FI_PROF_SM_ACTIVE") {
      g.sm.push_back(x.value);
    } else if (x.metric == "DCGM_FI_PROF_DRAM_ACTIVE") {
      g.dram.push_back(x.value);
    } else if (x.metric == "DCGM_FI_DEV_GPU_UTIL") {
      g.util.push_back(x.value);
    } else if (x.metric == "DCGM_FI_DEV_POWER_USAGE") {
      g.power.push_back(x.value);
    } else if (x.metric == "DCGM_FI_DEV_FB_USED") {
      g.mem_peak = std::max(g.mem_peak.value_or(0.0), x.value);
    } else if (x.metric == "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION") {
      g.energy.push_back(x);
    }
  }
  const auto mean = [](const std::vector<double>& v, double scale) {
    return v.empty() ? std::nullopt : std::optional<double>(scale * stat_of(v).mean);
  };
  for (const auto& [gpu, g] : gpus) {
    m_in.gpu_rows.push_back({rd.run.key, rd.run.mode, rd.run.group, gpu,
                             static_cast<int>(g.power.size()), mean(g.sm, 100), mean(g.dram, 100),
                             mean(g.util, 1), mean(g.power, 1), g.mem_peak,
                             energy_in_window(g.energy, warm, 1e300)});
  }
}

ReportInput ReportBuilder::finish() {
  for (const auto& [mode, group, wl, values] : m_latency) {
    m_in.latencies.push_back({mode, group, wl, static_cast<int>(values.size()),
                              percentile(values, 50), percentile(values, 95),
                              percentile(values, 99)});
  }
  m_latency.clear();
  return std::move(m_in);
}

}  // namespace colo
