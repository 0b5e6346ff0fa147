#pragma once
// UTF-8 validity, for text that crosses into stored records and JSON output (a workload's
// stderr in Latin-1 must not make `colo export --format json` fail). Pure; thread-safe.
#include <string>
#include <string_view>

namespace colo {

inline constexpr std::string_view k_replacement_char = "\xEF\xBF\xBD";  // U+FFFD

// True when `text` is well-formed UTF-8 (no overlong forms, surrogates or code points above
// U+10FFFF). NUL bytes are valid.
bool is_valid_utf8(std::string_view text);

// `text` with every ill-formed sequence replaced by U+FFFD, one per maximal ill-formed
// subpart (Unicode's "substitution of maximal subparts"); valid text is returned unchanged.
std::string valid_utf8(std::string_view text);

}  // namespace colo
