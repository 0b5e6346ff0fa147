#include "report/table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace colo {

std::size_t display_width(const std::string& s) {
  std::size_t n = 0;
  for (char c : s) {
    n += (static_cast<unsigned char>(c) & 0xC0U) != 0x80U ? 1 : 0;
  }
  return n;
}

std::string TextTable::render(const std::string& indent) const {
  std::vector<std::size_t> width(head.size(), 0);
  auto widen = [&](const std::vector<std::string>& r) {
    for (std::size_t i = 0; i < r.size() && i < width.size(); ++i) {
      width[i] = std::max(width[i], display_width(r[i]));
    }
  };
  widen(head);
  for (const auto& r : rows) {
    widen(r);
  }
  auto line = [&](const std::vector<std::string>& r) {
    std::string o = indent;
    for (std::size_t i = 0; i < width.size(); ++i) {
      const std::string cell = i < r.size() ? r[i] : "";
      const std::string pad(width[i] - std::min(width[i], display_width(cell)), ' ');
      const bool rt = i < right.size() && right[i];
      o += (i > 0 ? "  " : "") + (rt ? pad + cell : cell + pad);
    }
    while (!o.empty() && o.back() == ' ') {
      o.pop_back();
    }
    return o + "\n";
  };
  std::string out = line(head);
  for (const auto& r : rows) {
    out += line(r);
  }
  return out;
}

std::string TextTable::markdown() const {
  auto cell = [](const std::string& c) {
    std::string o;
    for (char ch : c) {
      o += ch == '|' ? std::string("\\|") : std::string(1, ch);
    }
    return o;
  };
  auto line = [&](const std::vector<std::string>& r) {
    std::string o = "|";
    for (std::size_t i = 0; i < head.size(); ++i) {
      o += " " + cell(i < r.size() ? r[i] : "") + " |";
    }
    return o + "\n";
  };
  std::string out = line(head) + "|";
  for (std::size_t i = 0; i < head.size(); ++i) {
    out += i < right.size() && right[i] ? "---:|" : "---|";
  }
  out += "\n";
  for (const auto& r : rows) {
    out += line(r);
  }
  return out;
}

std::string fixed4(double v) {
  if (std::isnan(v)) {
    return "-";
  }
  if (v == 0 || std::isinf(v)) {
    return fmt::format("{}", v);
  }
  const int mag = static_cast<int>(std::floor(std::log10(std::fabs(v))));
  const int decimals = std::clamp(3 - mag, 0, 9);
  return fmt::format("{:.{}f}", v, decimals);
}

std::string group_label(const std::string& group, const std::string& sweep) {
  return group + (sweep.empty() ? "" : "[" + sweep + "]");
}

}  // namespace colo
