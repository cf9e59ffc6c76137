#pragma once
// Python str semantics on UTF-8 strings: templates index, slice, strip and case-map by code
// point, exactly as Python does. Invalid UTF-8 bytes decode to U+DC80..U+DCFF (Python's
// "surrogateescape") and encode back to the same byte, so every byte string round-trips.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::chat::text {

std::u32string decode(std::string_view s);
std::string encode(std::u32string_view s);
void append_utf8(std::string& out, char32_t c);
bool is_ascii(std::string_view s);
// Number of code points.
size_t length(std::string_view s);
// The i-th code point (0-based, non-negative, < length) as a UTF-8 string.
std::string char_at(std::string_view s, size_t i);

// Character classes (Python str.isspace / isalpha / isdigit / isalnum / \w, approximated
// outside ASCII and the common European scripts by "letter").
bool is_space(char32_t c);
bool is_alpha(char32_t c);
bool is_digit(char32_t c);
bool is_alnum(char32_t c);
bool is_word(char32_t c);
bool is_printable(char32_t c);

// Python str.upper / lower / title / capitalize / swapcase.
std::string upper(std::string_view s);
std::string lower(std::string_view s);
std::string title(std::string_view s);
std::string capitalize(std::string_view s);
std::string swapcase(std::string_view s);
bool is_upper_char(char32_t c);
bool is_lower_char(char32_t c);
// str.islower() / str.isupper(): at least one cased character and no cased character of the
// other case.
bool is_lower(std::string_view s);
bool is_upper(std::string_view s);
// str.istitle: upper case only after an uncased character, lower case only after a cased one,
// and at least one cased character.
bool is_title(std::string_view s);
// str.expandtabs: each tab padded with spaces to the next multiple of tabsize (columns in code
// points, restarting after \n and \r); tabsize <= 0 deletes tabs.
std::string expand_tabs(std::string_view s, int64_t tabsize);

// Python str.strip([chars]) and friends; chars == nullopt strips whitespace.
std::string strip(std::string_view s, const std::optional<std::string>& chars, bool left, bool right);
// Python str.split(sep=None, maxsplit=-1) and rsplit.
std::vector<std::string> split(std::string_view s, const std::optional<std::string>& sep, long long maxsplit);
std::vector<std::string> rsplit(std::string_view s, const std::optional<std::string>& sep, long long maxsplit);
std::vector<std::string> splitlines(std::string_view s, bool keepends);
// Python str.replace(old, new, count=-1).
std::string replace(std::string_view s, std::string_view old, std::string_view with, long long count);

// Python repr() of a str: quotes and escapes as CPython does.
std::string repr(std::string_view s);
// Python float.__repr__ (shortest round-trip digits, "1e+16", "1e-05", "inf", "nan").
std::string float_repr(double x);
// A JSON string literal as json.dumps writes it.
void json_quote(std::string& out, std::string_view s, bool ensure_ascii);

}  // namespace hearth::chat::text
