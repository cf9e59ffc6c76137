// Python's repr() of str and float and json.dumps' string quoting: how values print.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <string>

#include "chat/text.h"

namespace hearth::chat::text {

// ---------------------------------------------------------------------------------------------
// repr / float repr / JSON strings

std::string repr(std::string_view s) {
    const std::u32string in = decode(s);
    bool has_single = false, has_double = false;
    for (char32_t c : in) {
        has_single |= c == '\'';
        has_double |= c == '"';
    }
    const char quote = (has_single && !has_double) ? '"' : '\'';
    std::string out(1, quote);
    char buf[16];
    for (char32_t c : in) {
        if (c == static_cast<char32_t>(quote) || c == '\\') {
            out.push_back('\\');
            out.push_back(static_cast<char>(c));
        } else if (c == '\t') {
            out += "\\t";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (!is_printable(c)) {
            if (c < 0x100) {
                std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(c));
            } else if (c < 0x10000) {
                std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
            } else {
                std::snprintf(buf, sizeof buf, "\\U%08x", static_cast<unsigned>(c));
            }
            out += buf;
        } else {
            append_utf8(out, c);
        }
    }
    out.push_back(quote);
    return out;
}

std::string float_repr(double x) {
    if (std::isnan(x)) return "nan";
    if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
    char buf[64];
    const auto res = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::scientific);
    std::string sci(buf, res.ptr);  // e.g. "-1.2345e+05", "1e-05"
    std::string sign;
    if (sci[0] == '-') {
        sign = "-";
        sci.erase(0, 1);
    }
    const size_t epos = sci.find('e');
    std::string digits = sci.substr(0, epos);
    const int exp = std::stoi(sci.substr(epos + 1));
    digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
    std::string out = sign;
    if (exp >= -4 && exp < 16) {
        if (exp >= 0) {
            const size_t int_len = static_cast<size_t>(exp) + 1;
            if (digits.size() <= int_len) {
                out += digits + std::string(int_len - digits.size(), '0') + ".0";
            } else {
                out += digits.substr(0, int_len) + "." + digits.substr(int_len);
            }
        } else {
            out += "0." + std::string(static_cast<size_t>(-exp - 1), '0') + digits;
        }
        return out;
    }
    out += digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char ebuf[16];
    std::snprintf(ebuf, sizeof ebuf, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    out += ebuf;
    return out;
}

void json_quote(std::string& out, std::string_view s, bool ensure_ascii) {
    out.push_back('"');
    char buf[16];
    auto escape_unit = [&](unsigned u) {
        std::snprintf(buf, sizeof buf, "\\u%04x", u);
        out += buf;
    };
    auto plain = [&](char32_t c) {
        switch (c) {
            case '"': out += "\\\""; return true;
            case '\\': out += "\\\\"; return true;
            case '\n': out += "\\n"; return true;
            case '\r': out += "\\r"; return true;
            case '\t': out += "\\t"; return true;
            case '\b': out += "\\b"; return true;
            case '\f': out += "\\f"; return true;
            default: return false;
        }
    };
    if (!ensure_ascii) {
        for (char ch : s) {
            const unsigned char c = static_cast<unsigned char>(ch);
            if (plain(c)) continue;
            if (c < 0x20) {
                escape_unit(c);
            } else {
                out.push_back(ch);
            }
        }
    } else {
        for (char32_t c : decode(s)) {
            if (plain(c)) continue;
            if (c < 0x20 || c >= 0x7F) {
                if (c >= 0x10000) {
                    const char32_t v = c - 0x10000;
                    escape_unit(0xD800 + (v >> 10));
                    escape_unit(0xDC00 + (v & 0x3FF));
                } else {
                    escape_unit(c);
                }
            } else {
                out.push_back(static_cast<char>(c));
            }
        }
    }
    out.push_back('"');
}

}  // namespace hearth::chat::text
