#include "report/assets.hpp"

// COLO_WEB_DIR comes from CMake; the files are checked to exist at configure time.
#define COLO_INCBIN(sym, file)                                                 \
  __asm__(".section .rodata\n.global " #sym "_begin\n.balign 16\n" #sym        \
          "_begin:\n"                                                          \
          ".incbin \"" COLO_WEB_DIR "/" file "\"\n.global " #sym "_end\n" #sym \
          "_end:\n"                                                            \
          ".byte 0\n.previous\n");                                             \
  extern "C" const char sym##_begin[];                                         \
  extern "C" const char sym##_end[];

COLO_INCBIN(colo_vega_js, "node_modules/vega/build/vega.min.js")
COLO_INCBIN(colo_vega_lite_js, "node_modules/vega-lite/build/vega-lite.min.js")
COLO_INCBIN(colo_vega_embed_js, "node_modules/vega-embed/build/vega-embed.min.js")

namespace colo {

std::string_view asset_vega_js() {
  return {colo_vega_js_begin, static_cast<std::size_t>(colo_vega_js_end - colo_vega_js_begin)};
}
std::string_view asset_vega_lite_js() {
  return {colo_vega_lite_js_begin,
          static_cast<std::size_t>(colo_vega_lite_js_end - colo_vega_lite_js_begin)};
}
std::string_view asset_vega_embed_js() {
  return {colo_vega_embed_js_begin,
          static_cast<std::size_t>(colo_vega_embed_js_end - colo_vega_embed_js_begin)};
}

}  // namespace colo
