#pragma once
// Plain tables for terminals and Markdown, and number formats shared by the reports. Pure.
#include <string>
#include <vector>

namespace colo {

// A table rendered with every column as wide as its widest cell (UTF-8 aware), numbers right
// aligned where `right` says so. Units belong in the header ("rate (samples/s)").
struct TextTable {
  std::vector<std::string> head;
  std::vector<bool> right;  // per column; missing entries are left aligned
  std::vector<std::vector<std::string>> rows;

  // Rows prefixed by `indent`, columns separated by two spaces, no trailing spaces.
  [[nodiscard]] std::string render(const std::string& indent = "  ") const;
  // A GitHub Markdown table ('|' in cells escaped).
  [[nodiscard]] std::string markdown() const;
};

// Display width of UTF-8 text (code points; colo's tables hold no wide characters).
std::size_t display_width(const std::string& s);

// A number with 4 significant digits in fixed notation, never scientific: 27413, 7733, 12.35,
// 0.01234. "-" for NaN.
std::string fixed4(double v);

// "group" or "group[sweep]".
std::string group_label(const std::string& group, const std::string& sweep);

}  // namespace colo
