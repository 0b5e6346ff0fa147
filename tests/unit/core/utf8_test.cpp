#include "core/utf8.hpp"

#include <gtest/gtest.h>

#include <string>

namespace colo {
namespace {

const std::string k_fffd = "\xEF\xBF\xBD";

TEST(Utf8, ValidTextIsUnchanged) {
  for (const std::string& s : {std::string(), std::string("plain ascii"),
                               std::string("Ger\xC3\xA4t \xE2\x82\xAC \xF0\x9F\x98\x80"),
                               std::string("nul\0inside", 10), std::string("\xF4\x8F\xBF\xBF")}) {
    EXPECT_TRUE(is_valid_utf8(s)) << s;
    EXPECT_EQ(valid_utf8(s), s);
  }
}

TEST(Utf8, IllFormedBytesBecomeReplacementCharacters) {
  EXPECT_EQ(valid_utf8("Ger\xE4t"), "Ger" + k_fffd + "t");                       // Latin-1
  EXPECT_EQ(valid_utf8("\xC0\xAF"), k_fffd + k_fffd);                            // overlong '/'
  EXPECT_EQ(valid_utf8("\xED\xA0\x80"), k_fffd + k_fffd + k_fffd);               // a surrogate
  EXPECT_EQ(valid_utf8("\xF4\x90\x80\x80"), k_fffd + k_fffd + k_fffd + k_fffd);  // > U+10FFFF
  EXPECT_EQ(valid_utf8("a\xE2\x82"), "a" + k_fffd);  // truncated: one maximal subpart
  EXPECT_EQ(valid_utf8("\xE2\x82x"), k_fffd + "x");
  EXPECT_EQ(valid_utf8("\x80\xBF"), k_fffd + k_fffd);  // stray continuation bytes
  EXPECT_EQ(valid_utf8("\xFF"), k_fffd);
  for (const char* s : {"Ger\xE4t", "\xC0\xAF", "\xED\xA0\x80", "a\xE2\x82", "\xFF"}) {
    EXPECT_FALSE(is_valid_utf8(s)) << s;
    EXPECT_TRUE(is_valid_utf8(valid_utf8(s)));
  }
}

}  // namespace
}  // namespace colo
