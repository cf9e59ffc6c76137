#pragma once
// The web page of `hearth serve` (webui/ in the source tree, with marked, DOMPurify and
// highlight.js from Debian's packages), embedded in the binary at build time
// (cmake/webui_embed.cmake) and served at / and /webui/... unless --no-webui.
#include <string_view>
#include <vector>

namespace hearth::serve {

struct WebAsset {
    std::string_view url;           // "/" or "/webui/..."
    std::string_view content_type;  // with its charset
    std::string_view body;
};

// Every embedded file (generated source).
const std::vector<WebAsset>& web_assets();
// The file served at url, or nullptr.
const WebAsset* find_web_asset(std::string_view url);
// The Content-Security-Policy of every page response: only this server's own scripts, styles
// and API; no inline script, no other origin.
inline constexpr std::string_view kWebUiCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

}  // namespace hearth::serve
