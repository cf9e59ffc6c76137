#include "chat/text.h"

#include <algorithm>

namespace hearth::chat::text {

// ---------------------------------------------------------------------------------------------
// UTF-8

std::u32string decode(std::string_view s) {
    std::u32string out;
    out.reserve(s.size());
    size_t i = 0;
    const size_t n = s.size();
    auto cont = [&](size_t k) { return k < n && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80; };
    while (i < n) {
        const unsigned char b = static_cast<unsigned char>(s[i]);
        if (b < 0x80) {
            out.push_back(b);
            ++i;
            continue;
        }
        if (b >= 0xC2 && b <= 0xDF && cont(i + 1)) {
            out.push_back(char32_t((b & 0x1F) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3F));
            i += 2;
            continue;
        }
        if (b >= 0xE0 && b <= 0xEF && cont(i + 1) && cont(i + 2)) {
            const unsigned char b1 = static_cast<unsigned char>(s[i + 1]);
            const bool ok = (b == 0xE0) ? b1 >= 0xA0 : (b == 0xED) ? b1 < 0xA0 : true;
            if (ok) {
                out.push_back(char32_t((b & 0x0F) << 12) | char32_t((b1 & 0x3F) << 6) |
                              (static_cast<unsigned char>(s[i + 2]) & 0x3F));
                i += 3;
                continue;
            }
        }
        if (b >= 0xF0 && b <= 0xF4 && cont(i + 1) && cont(i + 2) && cont(i + 3)) {
            const unsigned char b1 = static_cast<unsigned char>(s[i + 1]);
            const bool ok = (b == 0xF0) ? b1 >= 0x90 : (b == 0xF4) ? b1 < 0x90 : true;
            if (ok) {
                out.push_back(char32_t((b & 0x07) << 18) | char32_t((b1 & 0x3F) << 12) |
                              char32_t((static_cast<unsigned char>(s[i + 2]) & 0x3F) << 6) |
                              (static_cast<unsigned char>(s[i + 3]) & 0x3F));
                i += 4;
                continue;
            }
        }
        out.push_back(0xDC00 + b);  // surrogateescape
        ++i;
    }
    return out;
}

void append_utf8(std::string& out, char32_t c) {
    if (c < 0x80) {
        out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (c >> 6)));
        out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c >= 0xDC80 && c <= 0xDCFF) {
        out.push_back(static_cast<char>(c - 0xDC00));  // surrogateescape: the original byte
    } else if (c < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (c >> 12)));
        out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (c >> 18)));
        out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
}

std::string encode(std::u32string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char32_t c : s) append_utf8(out, c);
    return out;
}

bool is_ascii(std::string_view s) {
    for (char c : s)
        if (static_cast<unsigned char>(c) >= 0x80) return false;
    return true;
}

size_t length(std::string_view s) {
    if (is_ascii(s)) return s.size();
    return decode(s).size();
}

std::string char_at(std::string_view s, size_t i) {
    if (is_ascii(s)) return std::string(1, s[i]);
    std::string out;
    append_utf8(out, decode(s)[i]);
    return out;
}

// ---------------------------------------------------------------------------------------------
// Character classes and case mapping (ASCII, Latin-1, Latin Extended-A/Additional, Greek,
// Cyrillic, Armenian, fullwidth Latin).

bool is_space(char32_t c) {
    if (c <= 0x20) return c == 0x20 || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F);
    return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
           c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

namespace {

char32_t simple_lower(char32_t c);

char32_t simple_upper(char32_t c) {
    if (c < 0x80) return (c >= 'a' && c <= 'z') ? c - 32 : c;
    if (c < 0x100) {
        if (c >= 0xE0 && c <= 0xFE && c != 0xF7) return c - 32;
        if (c == 0xFF) return 0x178;
        if (c == 0xB5) return 0x39C;
        return c;
    }
    if (c < 0x180) {
        if (c == 0x131) return 'I';
        if (c == 0x17F) return 'S';
        if ((c >= 0x100 && c <= 0x12F) || (c >= 0x132 && c <= 0x137) || (c >= 0x14A && c <= 0x177))
            return (c & 1) ? c - 1 : c;
        if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) return (c & 1) ? c : c - 1;
        return c;
    }
    if (c >= 0x370 && c < 0x400) {
        if (c >= 0x3B1 && c <= 0x3C9 && c != 0x3C2) return c - 32;
        if (c == 0x3C2) return 0x3A3;
        if (c == 0x3AC) return 0x386;
        if (c >= 0x3AD && c <= 0x3AF) return c - 37;
        if (c == 0x3CC) return 0x38C;
        if (c == 0x3CD || c == 0x3CE) return c - 63;
        return c;
    }
    if (c >= 0x400 && c < 0x530) {
        if (c >= 0x430 && c <= 0x44F) return c - 32;
        if (c >= 0x450 && c <= 0x45F) return c - 80;
        if ((c >= 0x460 && c <= 0x481) || (c >= 0x48A && c <= 0x4BF) || (c >= 0x4D0 && c <= 0x52F))
            return (c & 1) ? c - 1 : c;
        if (c >= 0x4C1 && c <= 0x4CE) return (c & 1) ? c : c - 1;
        if (c == 0x4CF) return 0x4C0;
        return c;
    }
    if (c >= 0x561 && c <= 0x586) return c - 48;
    if (c >= 0x180 && c < 0x250) {
        if (c == 0x1C5 || c == 0x1C6) return 0x1C4;
        if (c == 0x1C8 || c == 0x1C9) return 0x1C7;
        if (c == 0x1CB || c == 0x1CC) return 0x1CA;
        if (c == 0x1F2 || c == 0x1F3) return 0x1F1;
        if (c >= 0x1CD && c <= 0x1DC) return (c & 1) ? c : c - 1;
        if ((c >= 0x1DE && c <= 0x1EF) || (c >= 0x1F8 && c <= 0x21F) || (c >= 0x222 && c <= 0x233))
            return (c & 1) ? c - 1 : c;
        return c;
    }
    if (c >= 0x1E00 && c <= 0x1EFF) {
        if ((c <= 0x1E95) || (c >= 0x1EA0)) return (c & 1) ? c - 1 : c;
        return c;
    }
    if (c >= 0x1F00 && c <= 0x1F6F) {
        // Greek Extended: rows of eight lowercase followed by eight uppercase letters.
        return (c & 0x8) ? c : (simple_lower(c + 8) == c ? c + 8 : c);
    }
    if (c >= 0xFF41 && c <= 0xFF5A) return c - 32;
    return c;
}

char32_t simple_lower(char32_t c) {
    if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
    if (c < 0x100) return (c >= 0xC0 && c <= 0xDE && c != 0xD7) ? c + 32 : c;
    if (c < 0x180) {
        if (c == 0x178) return 0xFF;
        if ((c >= 0x100 && c <= 0x12F) || (c >= 0x132 && c <= 0x137) || (c >= 0x14A && c <= 0x177))
            return (c & 1) ? c : c + 1;
        if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) return (c & 1) ? c + 1 : c;
        return c;
    }
    if (c >= 0x370 && c < 0x400) {
        if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) return c + 32;
        if (c == 0x386) return 0x3AC;
        if (c >= 0x388 && c <= 0x38A) return c + 37;
        if (c == 0x38C) return 0x3CC;
        if (c == 0x38E || c == 0x38F) return c + 63;
        return c;
    }
    if (c >= 0x400 && c < 0x530) {
        if (c >= 0x410 && c <= 0x42F) return c + 32;
        if (c >= 0x400 && c <= 0x40F) return c + 80;
        if ((c >= 0x460 && c <= 0x481) || (c >= 0x48A && c <= 0x4BF) || (c >= 0x4D0 && c <= 0x52F))
            return (c & 1) ? c : c + 1;
        if (c >= 0x4C1 && c <= 0x4CE) return (c & 1) ? c + 1 : c;
        if (c == 0x4C0) return 0x4CF;
        return c;
    }
    if (c >= 0x531 && c <= 0x556) return c + 48;
    if (c >= 0x180 && c < 0x250) {
        if (c == 0x1C4 || c == 0x1C5) return 0x1C6;
        if (c == 0x1C7 || c == 0x1C8) return 0x1C9;
        if (c == 0x1CA || c == 0x1CB) return 0x1CC;
        if (c == 0x1F1 || c == 0x1F2) return 0x1F3;
        if (c >= 0x1CD && c <= 0x1DC) return (c & 1) ? c + 1 : c;
        if ((c >= 0x1DE && c <= 0x1EF) || (c >= 0x1F8 && c <= 0x21F) || (c >= 0x222 && c <= 0x233))
            return (c & 1) ? c : c + 1;
        return c;
    }
    if (c >= 0x1E00 && c <= 0x1EFF) {
        if ((c <= 0x1E95) || (c >= 0x1EA0)) return (c & 1) ? c : c + 1;
        return c;
    }
    if (c >= 0x1F08 && c <= 0x1F6F && (c & 0x8)) {
        // Greek Extended uppercase rows; the gaps (U+1F1E..1F1F, 1F4E..1F4F, 1F58/5A/5C/5E) stay.
        static constexpr char32_t gaps[] = {0x1F1E, 0x1F1F, 0x1F4E, 0x1F4F, 0x1F58, 0x1F5A, 0x1F5C, 0x1F5E};
        for (char32_t g : gaps)
            if (c == g) return c;
        return c - 8;
    }
    if (c >= 0xFF21 && c <= 0xFF3A) return c + 32;
    return c;
}

// Appends the full uppercase mapping of c (a few characters map to two).
void push_upper(std::u32string& out, char32_t c) {
    static constexpr const char32_t* ligatures[] = {U"FF", U"FI", U"FL", U"FFI", U"FFL", U"ST", U"ST"};
    if (c == 0xDF) {
        out += U"SS";
    } else if (c == 0x149) {
        out += U"\u02BCN";
    } else if (c >= 0xFB00 && c <= 0xFB06) {
        out += ligatures[c - 0xFB00];
    } else {
        out.push_back(simple_upper(c));
    }
}

// Title case of c: as upper case except for the characters whose title form differs.
void push_title(std::u32string& out, char32_t c) {
    if (c == 0xDF) {
        out += U"Ss";
    } else {
        push_upper(out, c);
    }
}

bool is_cased(char32_t c) { return c == 0xDF || simple_upper(c) != c || simple_lower(c) != c; }

// Python lower() with the two context rules that matter in practice: U+0130 lowers to
// "i\u0307" and capital sigma at the end of a word lowers to final sigma.
void push_lower(std::u32string& out, const std::u32string& s, size_t i) {
    const char32_t c = s[i];
    if (c == 0x130) {
        out += U"i\u0307";
        return;
    }
    if (c == 0x3A3) {
        const bool after_cased = i > 0 && is_cased(s[i - 1]);
        const bool before_cased = i + 1 < s.size() && is_cased(s[i + 1]);
        out.push_back(after_cased && !before_cased ? 0x3C2 : 0x3C3);
        return;
    }
    out.push_back(simple_lower(c));
}

}  // namespace

bool is_upper_char(char32_t c) { return simple_lower(c) != c || c == 0x130; }
bool is_lower_char(char32_t c) { return simple_upper(c) != c || c == 0xDF || c == 0x138; }

bool is_digit(char32_t c) {
    if (c < 0x80) return c >= '0' && c <= '9';
    return c == 0xB2 || c == 0xB3 || c == 0xB9 || (c >= 0x660 && c <= 0x669) || (c >= 0x6F0 && c <= 0x6F9) ||
           (c >= 0x966 && c <= 0x96F) || (c >= 0xFF10 && c <= 0xFF19);
}

bool is_alpha(char32_t c) {
    if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (is_cased(c)) return true;
    if (c < 0xC0) return c == 0xAA || c == 0xBA;
    if (c == 0xD7 || c == 0xF7) return false;
    if (is_space(c) || is_digit(c)) return false;
    if (c >= 0x300 && c <= 0x36F) return false;                         // combining marks
    if (c >= 0x2000 && c <= 0x2BFF) return c >= 0x2C00;                  // punctuation, symbols
    if (c >= 0x3000 && c <= 0x303F) return c >= 0x3005 && c <= 0x3007;   // CJK punctuation
    if (c >= 0xD800 && c <= 0xF8FF) return false;                        // surrogates, private use
    if (c >= 0xFE00 && c <= 0xFE0F) return false;                        // variation selectors
    if (c >= 0xFE30 && c <= 0xFE6F) return false;
    if (c >= 0xFF00 && c <= 0xFF20) return false;
    if ((c >= 0xFF3B && c <= 0xFF40) || (c >= 0xFF5B && c <= 0xFF65)) return false;
    if (c == 0xFEFF || (c >= 0xFFF0 && c <= 0xFFFF)) return false;
    if (c >= 0x1F000 && c <= 0x1FAFF) return false;                      // emoji and symbols
    if (c >= 0xE0000) return false;
    return true;
}

bool is_alnum(char32_t c) { return is_alpha(c) || is_digit(c); }
bool is_word(char32_t c) { return c == '_' || is_alnum(c); }

bool is_printable(char32_t c) {
    if (c < 0x20 || (c >= 0x7F && c < 0xA0)) return false;
    if (c < 0x80) return true;
    if (c == 0xA0 || c == 0xAD) return false;
    if ((c >= 0x600 && c <= 0x605) || c == 0x61C || c == 0x6DD || c == 0x70F || c == 0x8E2 || c == 0x180E)
        return false;
    if (c == 0x1680 || (c >= 0x2000 && c <= 0x200F) || (c >= 0x2028 && c <= 0x202F)) return false;
    if ((c >= 0x205F && c <= 0x2064) || (c >= 0x2066 && c <= 0x206F) || c == 0x3000) return false;
    if (c >= 0xD800 && c <= 0xF8FF) return false;
    if (c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFB) || c == 0xFFFE || c == 0xFFFF) return false;
    if (c == 0x110BD || c == 0x110CD || (c >= 0x13430 && c <= 0x1343F) || (c >= 0x1BCA0 && c <= 0x1BCA3))
        return false;
    if ((c >= 0x1D173 && c <= 0x1D17A) || c == 0xE0001 || (c >= 0xE0020 && c <= 0xE007F)) return false;
    if (c >= 0xF0000) return false;
    return true;
}

std::string upper(std::string_view s) {
    if (is_ascii(s)) {
        std::string out(s);
        for (char& c : out)
            if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
        return out;
    }
    std::u32string out;
    for (char32_t c : decode(s)) push_upper(out, c);
    return encode(out);
}

std::string lower(std::string_view s) {
    if (is_ascii(s)) {
        std::string out(s);
        for (char& c : out)
            if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
        return out;
    }
    const std::u32string in = decode(s);
    std::u32string out;
    for (size_t i = 0; i < in.size(); ++i) push_lower(out, in, i);
    return encode(out);
}

std::string title(std::string_view s) {
    const std::u32string in = decode(s);
    std::u32string out;
    bool previous_cased = false;
    for (size_t i = 0; i < in.size(); ++i) {
        const char32_t c = in[i];
        if (previous_cased) {
            push_lower(out, in, i);
        } else {
            push_title(out, c);
        }
        previous_cased = is_cased(c);
    }
    return encode(out);
}

std::string capitalize(std::string_view s) {
    const std::u32string in = decode(s);
    std::u32string out;
    for (size_t i = 0; i < in.size(); ++i) {
        if (i == 0) {
            push_title(out, in[i]);
        } else {
            push_lower(out, in, i);
        }
    }
    return encode(out);
}

std::string swapcase(std::string_view s) {
    const std::u32string in = decode(s);
    std::u32string out;
    for (size_t i = 0; i < in.size(); ++i) {
        if (is_upper_char(in[i])) {
            push_lower(out, in, i);
        } else if (is_lower_char(in[i])) {
            push_upper(out, in[i]);
        } else {
            out.push_back(in[i]);
        }
    }
    return encode(out);
}

bool is_lower(std::string_view s) {
    bool cased = false;
    for (char32_t c : decode(s)) {
        if (is_upper_char(c)) return false;
        if (is_lower_char(c)) cased = true;
    }
    return cased;
}

bool is_upper(std::string_view s) {
    bool cased = false;
    for (char32_t c : decode(s)) {
        if (is_lower_char(c)) return false;
        if (is_upper_char(c)) cased = true;
    }
    return cased;
}

bool is_title(std::string_view s) {
    bool cased = false, previous_cased = false;
    for (char32_t c : decode(s)) {
        if (is_upper_char(c)) {
            if (previous_cased) return false;
            previous_cased = cased = true;
        } else if (is_lower_char(c)) {
            if (!previous_cased) return false;
            previous_cased = cased = true;
        } else {
            previous_cased = false;
        }
    }
    return cased;
}

std::string expand_tabs(std::string_view s, int64_t tabsize) {
    std::u32string out;
    int64_t column = 0;
    for (char32_t c : decode(s)) {
        if (c == U'\t') {
            if (tabsize > 0) {
                const int64_t pad = tabsize - column % tabsize;
                out.append(static_cast<size_t>(pad), U' ');
                column += pad;
            }
        } else {
            out.push_back(c);
            column = (c == U'\n' || c == U'\r') ? 0 : column + 1;
        }
    }
    return encode(out);
}

// ---------------------------------------------------------------------------------------------
// strip / split / replace

std::string strip(std::string_view s, const std::optional<std::string>& chars, bool left, bool right) {
    const std::u32string in = decode(s);
    std::u32string set;
    if (chars) set = decode(*chars);
    auto strippable = [&](char32_t c) {
        return chars ? set.find(c) != std::u32string::npos : is_space(c);
    };
    size_t b = 0, e = in.size();
    if (left)
        while (b < e && strippable(in[b])) ++b;
    if (right)
        while (e > b && strippable(in[e - 1])) --e;
    return encode(std::u32string_view(in).substr(b, e - b));
}

std::vector<std::string> split(std::string_view s, const std::optional<std::string>& sep, long long maxsplit) {
    std::vector<std::string> out;
    if (sep) {
        size_t pos = 0;
        while (maxsplit < 0 || static_cast<long long>(out.size()) < maxsplit) {
            const size_t hit = s.find(*sep, pos);
            if (hit == std::string_view::npos) break;
            out.emplace_back(s.substr(pos, hit - pos));
            pos = hit + sep->size();
        }
        out.emplace_back(s.substr(pos));
        return out;
    }
    const std::u32string in = decode(s);
    size_t i = 0;
    const size_t n = in.size();
    while (true) {
        while (i < n && is_space(in[i])) ++i;
        if (i == n) break;
        if (maxsplit >= 0 && static_cast<long long>(out.size()) == maxsplit) {
            out.push_back(encode(std::u32string_view(in).substr(i)));
            break;
        }
        size_t j = i;
        while (j < n && !is_space(in[j])) ++j;
        out.push_back(encode(std::u32string_view(in).substr(i, j - i)));
        i = j;
    }
    return out;
}

std::vector<std::string> rsplit(std::string_view s, const std::optional<std::string>& sep, long long maxsplit) {
    std::vector<std::string> out;
    if (sep) {
        size_t end = s.size();
        while (maxsplit < 0 || static_cast<long long>(out.size()) < maxsplit) {
            if (end < sep->size()) break;
            const size_t hit = s.rfind(*sep, end - sep->size());
            if (hit == std::string_view::npos) break;
            out.emplace_back(s.substr(hit + sep->size(), end - hit - sep->size()));
            end = hit;
        }
        out.emplace_back(s.substr(0, end));
        return {out.rbegin(), out.rend()};
    }
    const std::u32string in = decode(s);
    size_t j = in.size();
    while (true) {
        while (j > 0 && is_space(in[j - 1])) --j;
        if (j == 0) break;
        if (maxsplit >= 0 && static_cast<long long>(out.size()) == maxsplit) {
            out.push_back(encode(std::u32string_view(in).substr(0, j)));
            break;
        }
        size_t i = j;
        while (i > 0 && !is_space(in[i - 1])) --i;
        out.push_back(encode(std::u32string_view(in).substr(i, j - i)));
        j = i;
    }
    return {out.rbegin(), out.rend()};
}

std::vector<std::string> splitlines(std::string_view s, bool keepends) {
    const std::u32string in = decode(s);
    std::vector<std::string> out;
    size_t start = 0, i = 0;
    while (i < in.size()) {
        const char32_t c = in[i];
        const bool br = c == '\n' || c == '\r' || c == 0x0B || c == 0x0C || (c >= 0x1C && c <= 0x1E) ||
                        c == 0x85 || c == 0x2028 || c == 0x2029;
        if (!br) {
            ++i;
            continue;
        }
        size_t end = i + 1;
        if (c == '\r' && end < in.size() && in[end] == '\n') ++end;
        out.push_back(encode(std::u32string_view(in).substr(start, (keepends ? end : i) - start)));
        start = i = end;
    }
    if (start < in.size()) out.push_back(encode(std::u32string_view(in).substr(start)));
    return out;
}

std::string replace(std::string_view s, std::string_view old, std::string_view with, long long count) {
    std::string out;
    if (old.empty()) {
        const std::u32string in = decode(s);
        long long done = 0;
        for (size_t i = 0; i <= in.size(); ++i) {
            if (count < 0 || done < count) {
                out += with;
                ++done;
            }
            if (i < in.size()) append_utf8(out, in[i]);
        }
        return out;
    }
    size_t pos = 0;
    long long done = 0;
    while (count < 0 || done < count) {
        const size_t hit = s.find(old, pos);
        if (hit == std::string_view::npos) break;
        out += s.substr(pos, hit - pos);
        out += with;
        pos = hit + old.size();
        ++done;
    }
    out += s.substr(pos);
    return out;
}

}  // namespace hearth::chat::text
