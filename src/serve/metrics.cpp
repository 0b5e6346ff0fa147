#include "serve/metrics.hpp"

#include <fmt/format.h>

#include <cmath>

namespace colo::serve {
namespace {

std::string escape_label(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string escape_help(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string number(double v) {
  if (std::isnan(v)) {
    return "NaN";
  }
  if (std::isinf(v)) {
    return v > 0 ? "+Inf" : "-Inf";
  }
  return fmt::format("{}", v);
}

const char* type_name(MetricType t) {
  switch (t) {
    case MetricType::counter:
      return "counter";
    case MetricType::gauge:
      return "gauge";
    case MetricType::histogram:
      return "histogram";
  }
  return "untyped";
}

}  // namespace

std::string render(const std::vector<MetricFamily>& families) {
  std::string out;
  for (const auto& f : families) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", f.name, escape_help(f.help), f.name,
                       type_name(f.type));
    for (const auto& s : f.samples) {
      out += f.name;
      out += s.suffix;
      if (!s.labels.empty()) {
        out += '{';
        bool first = true;
        for (const auto& [k, v] : s.labels) {
          out += fmt::format("{}{}=\"{}\"", first ? "" : ",", k, escape_label(v));
          first = false;
        }
        out += '}';
      }
      out += ' ';
      out += number(s.value);
      out += '\n';
    }
  }
  return out;
}

Histogram::Histogram(std::vector<double> bounds)
    : m_bounds(std::move(bounds)), m_counts(m_bounds.size() + 1, 0) {}

std::vector<double> Histogram::latency_bounds() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

void Histogram::observe(double v) {
  std::size_t i = 0;
  while (i < m_bounds.size() && v > m_bounds[i]) {
    ++i;
  }
  const std::lock_guard lock(m_mutex);
  ++m_counts[i];
  m_sum += v;
  ++m_count;
}

void Histogram::append_to(MetricFamily& family,
                          const std::map<std::string, std::string>& labels) const {
  const std::lock_guard lock(m_mutex);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= m_bounds.size(); ++i) {
    cumulative += m_counts[i];
    auto l = labels;
    l["le"] = i < m_bounds.size() ? number(m_bounds[i]) : "+Inf";
    family.samples.push_back({"_bucket", std::move(l), static_cast<double>(cumulative)});
  }
  family.samples.push_back({"_sum", labels, m_sum});
  family.samples.push_back({"_count", labels, static_cast<double>(m_count)});
}

std::map<std::string, std::string> gpu_labels(int gpu, const std::string& uuid,
                                              const std::string& model, bool simulated) {
  std::map<std::string, std::string> l{
      {"gpu", std::to_string(gpu)}, {"UUID", uuid}, {"modelName", model}};
  if (simulated) {
    l["simulated"] = "true";
  }
  return l;
}

std::vector<MetricFamily> dcgm_families(
    const std::map<int, std::vector<Metric>>& telemetry,
    const std::function<std::map<std::string, std::string>(int)>& labels, bool simulated) {
  std::map<std::string, MetricFamily> by_name;
  for (const auto& [gpu, metrics] : telemetry) {
    for (const auto& m : metrics) {
      if (m.pid != 0 || m.name.rfind("DCGM_FI_", 0) != 0) {
        continue;
      }
      auto& f = by_name[m.name];
      if (f.name.empty()) {
        f.name = m.name;
        f.help = m.name + " (DCGM field; dcgm-exporter's name and units)" +
                 (simulated ? ", SIMULATED GPU: modelled, not measured" : "");
        f.type = m.name == "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION" ? MetricType::counter
                                                                  : MetricType::gauge;
      }
      f.samples.push_back({"", labels(gpu), m.value});
    }
  }
  std::vector<MetricFamily> out;
  for (auto& [name, f] : by_name) {
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace colo::serve
