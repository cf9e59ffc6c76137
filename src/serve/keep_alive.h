#pragma once
// Ollama's `keep_alive`: how long a model stays loaded after a request. A number is seconds; a
// string is a Go duration ("10m", "1h30m", "250ms", "-1") or plain seconds ("300"). 0 unloads
// the model when the request ends; a negative value keeps it loaded until the server stops.
#include <chrono>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

namespace hearth::serve {

using KeepAlive = std::chrono::milliseconds;
// What "forever" is stored as: any negative duration means it.
inline constexpr KeepAlive kKeepForever{-1};

// "1h30m", "2.5s", "-1m", "300" -> the duration. Throws ApiError (400) naming `field`.
KeepAlive parse_keep_alive_text(std::string_view text, std::string_view field = "keep_alive");
// The object's "keep_alive" (absent or null: nullopt). Throws ApiError (400).
std::optional<KeepAlive> read_keep_alive(const nlohmann::ordered_json& obj);

}  // namespace hearth::serve
