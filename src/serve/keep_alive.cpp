#include "serve/keep_alive.h"

#include <charconv>
#include <cmath>
#include <string>

#include <fmt/format.h>

#include "serve/json_body.h"

namespace hearth::serve {
namespace {

// Ten years: "keep it" for any practical purpose, and far from overflowing the clocks.
constexpr double kLongestMs = 10.0 * 365 * 24 * 3600 * 1000;

KeepAlive from_ms(double ms) {
    if (ms < 0) return kKeepForever;
    return KeepAlive(static_cast<int64_t>(std::min(ms, kLongestMs)));
}

}  // namespace

KeepAlive parse_keep_alive_text(std::string_view text, std::string_view field) {
    auto fail = [&] {
        body::bad(fmt::format("'{}' must be a duration like \"5m\", \"1h30m\", \"90s\" or a number of seconds, got "
                              "\"{}\"",
                              field, text));
    };
    if (text.empty()) fail();
    std::string_view rest = text;
    bool negative = false;
    if (rest[0] == '-' || rest[0] == '+') {
        negative = rest[0] == '-';
        rest.remove_prefix(1);
    }
    if (rest.empty()) fail();
    double total_ms = 0;
    bool any_unit = false;
    while (!rest.empty()) {
        double value = 0;
        auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), value);
        if (ec != std::errc() || !std::isfinite(value)) fail();
        rest.remove_prefix(static_cast<size_t>(end - rest.data()));
        size_t n = 0;
        while (n < rest.size() && std::isalpha(static_cast<unsigned char>(rest[n]))) ++n;
        const std::string_view unit = rest.substr(0, n);
        rest.remove_prefix(n);
        double ms_per_unit = 0;
        if (unit.empty()) {
            if (any_unit || !rest.empty()) fail();  // a bare number is seconds, and only alone
            ms_per_unit = 1000;
        } else if (unit == "h") ms_per_unit = 3600e3;
        else if (unit == "m") ms_per_unit = 60e3;
        else if (unit == "s") ms_per_unit = 1e3;
        else if (unit == "ms") ms_per_unit = 1;
        else if (unit == "us" || unit == "µs") ms_per_unit = 1e-3;
        else if (unit == "ns") ms_per_unit = 1e-6;
        else fail();
        any_unit = any_unit || !unit.empty();
        total_ms += value * ms_per_unit;
    }
    return from_ms(negative ? -total_ms : total_ms);
}

std::optional<KeepAlive> read_keep_alive(const nlohmann::ordered_json& obj) {
    const nlohmann::ordered_json* v = body::field(obj, "keep_alive");
    if (!v) return std::nullopt;
    if (v->is_number()) {
        const double seconds = v->get<double>();
        if (!std::isfinite(seconds)) body::bad("'keep_alive' must be a finite number of seconds");
        return from_ms(seconds * 1000);
    }
    if (v->is_string()) return parse_keep_alive_text(v->get<std::string>());
    body::bad(fmt::format("'keep_alive' must be a duration string or a number of seconds, got {}", body::kind_of(*v)),
              "invalid_type");
}

}  // namespace hearth::serve
