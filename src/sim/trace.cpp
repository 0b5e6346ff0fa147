#include "sim/trace.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string_view>

namespace colo::csim {
namespace {

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : line) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else if (c != '\r') {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

// Rows of a CSV with a header, as name -> value maps checked for `required` columns.
struct Table {
  std::vector<std::string> header;
  std::vector<std::pair<int, std::vector<std::string>>> rows;  // (line, fields)
};

Result<Table> read_table(const std::string& text, const std::string& file,
                         const std::vector<std::string>& required) {
  Table t;
  // A UTF-8 byte order mark (as spreadsheet programs write) is not part of the first column.
  constexpr std::string_view k_bom = "\xEF\xBB\xBF";
  std::istringstream in(text.compare(0, k_bom.size(), k_bom) == 0 ? text.substr(k_bom.size())
                                                                  : text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty() || line == "\r") {
      continue;
    }
    auto f = split(line, ',');
    if (t.header.empty()) {
      t.header = f;
      for (const auto& r : required) {
        bool found = false;
        for (const auto& h : t.header) {
          found = found || h == r;
        }
        if (!found) {
          return fail(ErrorCode::invalid_argument,
                      fmt::format("{}:{}: missing column '{}' (header: {})", file, n, r, line));
        }
      }
      continue;
    }
    if (f.size() != t.header.size()) {
      return fail(ErrorCode::invalid_argument, fmt::format("{}:{}: {} fields, the header has {}",
                                                           file, n, f.size(), t.header.size()));
    }
    t.rows.emplace_back(n, std::move(f));
  }
  if (t.header.empty()) {
    return fail(ErrorCode::invalid_argument, fmt::format("{}: empty file", file));
  }
  return t;
}

bool has_column(const Table& t, const std::string& col) {
  return std::find(t.header.begin(), t.header.end(), col) != t.header.end();
}

struct Row {
  const Table& t;
  const std::vector<std::string>& f;
  int line;
  const std::string& file;
  [[nodiscard]] const std::string& str(const std::string& col) const {
    for (std::size_t i = 0; i < t.header.size(); ++i) {
      if (t.header[i] == col) {
        return f[i];
      }
    }
    static const std::string k_empty;
    return k_empty;
  }
  Result<std::int64_t> num(const std::string& col, std::int64_t lo, std::int64_t hi) const {
    const auto& s = str(col);
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) {
      return fail(ErrorCode::invalid_argument,
                  fmt::format("{}:{}: {}: '{}' is not an integer", file, line, col, s));
    }
    if (v < lo || v > hi) {
      return fail(ErrorCode::invalid_argument,
                  fmt::format("{}:{}: {}: {} is outside {}..{}", file, line, col, v, lo, hi));
    }
    return v;
  }
};

Result<std::string> slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail(ErrorCode::not_found,
                fmt::format("cannot read trace file '{}' ({})", path,
                            std::filesystem::exists(path) ? "not readable" : "no such file"));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Result<std::vector<TraceNode>> parse_nodes(const std::string& text, const std::string& file) {
  auto t = read_table(text, file, {"sn", "cpu_milli", "gpu"});
  if (!t) {
    return fail(t.error());
  }
  const bool has_mem = has_column(*t, "memory_mib");
  const bool has_model = has_column(*t, "model");
  std::vector<TraceNode> out;
  for (const auto& [line, f] : t->rows) {
    Row r{*t, f, line, file};
    TraceNode n;
    n.name = r.str("sn");
    auto cpu = r.num("cpu_milli", 0, 1LL << 40);
    auto mem = has_mem ? r.num("memory_mib", 0, 1LL << 40) : Result<std::int64_t>(1LL << 40);
    auto gpu = r.num("gpu", 0, 8);
    if (!cpu || !mem || !gpu) {
      return fail(!cpu ? cpu.error() : !mem ? mem.error() : gpu.error());
    }
    n.cpu_milli = *cpu;
    n.memory_mib = *mem;
    n.gpus = static_cast<int>(*gpu);
    n.model = r.str("model") == "nan" ? "" : r.str("model");
    if (!has_model && n.gpus > 0) {
      n.model = "GPU";  // one model for the whole cluster
    }
    if (n.gpus > 0 && n.model.empty()) {
      return fail(ErrorCode::invalid_argument,
                  fmt::format("{}:{}: model: a node with GPUs needs a GPU model", file, line));
    }
    out.push_back(std::move(n));
  }
  return out;
}

Result<std::vector<TracePod>> parse_pods(const std::string& text, const std::string& file) {
  auto t = read_table(text, file, {"name", "cpu_milli", "num_gpu"});
  if (!t) {
    return fail(t.error());
  }
  // Optional columns (the published multi-GPU pod lists have only name, cpu_milli, memory_mib,
  // num_gpu, gpu_milli): no memory asked, whole GPUs, any model, no times (inflate only).
  const bool has_mem = has_column(*t, "memory_mib");
  const bool has_milli = has_column(*t, "gpu_milli");
  const bool timed = has_column(*t, "creation_time") && has_column(*t, "deletion_time");
  auto opt_num = [](bool has, const Row& r, const char* col, std::int64_t lo, std::int64_t hi,
                    std::int64_t def) {
    return has ? r.num(col, lo, hi) : Result<std::int64_t>(def);
  };
  std::vector<TracePod> out;
  for (const auto& [line, f] : t->rows) {
    Row r{*t, f, line, file};
    TracePod p;
    p.name = r.str("name");
    p.timed = timed;
    auto cpu = r.num("cpu_milli", 0, 1LL << 40);
    auto mem = opt_num(has_mem, r, "memory_mib", 0, 1LL << 40, 0);
    auto ng = r.num("num_gpu", 0, 8);
    auto gm = opt_num(has_milli, r, "gpu_milli", 0, 1000, 1000);
    auto c = opt_num(timed, r, "creation_time", 0, 1LL << 50, 0);
    auto d = opt_num(timed, r, "deletion_time", 0, 1LL << 50, 0);
    for (const auto* x : {&cpu, &mem, &ng, &gm, &c, &d}) {
      if (!*x) {
        return fail(x->error());
      }
    }
    p.cpu_milli = *cpu;
    p.memory_mib = *mem;
    p.num_gpu = static_cast<int>(*ng);
    p.gpu_milli = static_cast<int>(*gm);
    p.creation = *c;
    p.deletion = *d;
    p.qos = r.str("qos");
    if (p.num_gpu > 0 && p.gpu_milli == 0) {
      return fail(ErrorCode::invalid_argument,
                  fmt::format("{}:{}: gpu_milli: 0 with num_gpu {}", file, line, p.num_gpu));
    }
    if (p.num_gpu > 1 && p.gpu_milli != 1000) {
      return fail(ErrorCode::invalid_argument,
                  fmt::format("{}:{}: gpu_milli: {} with num_gpu {} (a share needs num_gpu 1)",
                              file, line, p.gpu_milli, p.num_gpu));
    }
    if (p.num_gpu == 0) {
      p.gpu_milli = 0;
    }
    const auto& spec = r.str("gpu_spec");
    if (!spec.empty() && spec != "nan") {
      p.gpu_spec = split(spec, '|');
    }
    out.push_back(std::move(p));
  }
  return out;
}

std::string default_trace_dir() {
  std::vector<std::filesystem::path> dirs;
  if (const char* env = std::getenv("COLO_DATA_DIR"); env != nullptr && *env != 0) {
    dirs.emplace_back(std::filesystem::path(env) / "alibaba-gpu-v2023");
  }
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    dirs.push_back(exe.parent_path().parent_path() / "share/colo/data/alibaba-gpu-v2023");
  }
  dirs.emplace_back(COLO_SOURCE_DATA_DIR "/alibaba-gpu-v2023");
  dirs.emplace_back("data/alibaba-gpu-v2023");
  for (const auto& d : dirs) {
    if (std::filesystem::is_regular_file(d / "openb_pod_list_default.csv", ec)) {
      return d.string();
    }
  }
  return {};
}

Result<std::vector<TraceNode>> load_nodes(const std::string& path) {
  auto t = slurp(path);
  if (!t) {
    return fail(t.error());
  }
  return parse_nodes(*t, path);
}

Result<std::vector<TracePod>> load_pods(const std::string& path) {
  auto t = slurp(path);
  if (!t) {
    return fail(t.error());
  }
  return parse_pods(*t, path);
}

}  // namespace colo::csim
