#pragma once
// HTML escaping shared by the Jinja interpreter (markupsafe's escape for `|e` and autoescaped
// output) and the eval-cost HTML report.
#include <string>
#include <string_view>

namespace hearth {

// & < > " ' as &amp; &lt; &gt; &#34; &#39; — markupsafe's exact output (chat templates are checked
// against Python's Jinja byte for byte), and safe in HTML text and in both kinds of quoted attribute.
std::string html_escape(std::string_view s);

}  // namespace hearth
