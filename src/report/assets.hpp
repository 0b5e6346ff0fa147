#pragma once
// The charting libraries inlined into HTML reports, from web/node_modules (npm, pinned by
// web/package-lock.json), embedded into the binary at build time.
#include <string_view>

namespace colo {

std::string_view asset_vega_js();
std::string_view asset_vega_lite_js();
std::string_view asset_vega_embed_js();

}  // namespace colo
