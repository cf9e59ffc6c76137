// hearth::html_escape: the one HTML escaper (Jinja's |e and the eval-cost report both use it).
#include <string>

#include <gtest/gtest.h>

#include "common/html.h"

namespace hearth {
namespace {

TEST(HtmlEscape, EscapesTheFiveCharactersAsMarkupsafeDoes) {
    EXPECT_EQ(html_escape("&"), "&amp;");
    EXPECT_EQ(html_escape("<"), "&lt;");
    EXPECT_EQ(html_escape(">"), "&gt;");
    EXPECT_EQ(html_escape("\""), "&#34;");
    EXPECT_EQ(html_escape("'"), "&#39;");
    EXPECT_EQ(html_escape("<a href=\"x\">&'</a>"), "&lt;a href=&#34;x&#34;&gt;&amp;&#39;&lt;/a&gt;");
}

TEST(HtmlEscape, LeavesEverythingElseAlone) {
    EXPECT_EQ(html_escape(""), "");
    EXPECT_EQ(html_escape("plain text, ünïcode 🙂 and ;#"), "plain text, ünïcode 🙂 and ;#");
    // Already-escaped text is escaped again (escaping is not idempotent, as in markupsafe).
    EXPECT_EQ(html_escape("&amp;"), "&amp;amp;");
    // Bytes that are not UTF-8 and NULs pass through.
    EXPECT_EQ(html_escape(std::string("a\0\xff<", 4)), std::string("a\0\xff&lt;", 7));
}

}  // namespace
}  // namespace hearth
