#include "chat/lexer.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "chat/error.h"
#include "chat/text.h"

namespace hearth::chat {

namespace {

bool is_ascii_digit(char c) { return c >= '0' && c <= '9'; }
bool is_ascii_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Decodes the UTF-8 code point at s[i]; *len receives its byte length.
char32_t code_point_at(std::string_view s, size_t i, size_t* len) {
    const unsigned char b = static_cast<unsigned char>(s[i]);
    size_t n = 1;
    if (b >= 0xC0 && b < 0xE0) {
        n = 2;
    } else if (b >= 0xE0 && b < 0xF0) {
        n = 3;
    } else if (b >= 0xF0 && b < 0xF8) {
        n = 4;
    }
    n = std::min(n, s.size() - i);
    const std::u32string cp = text::decode(s.substr(i, n));
    // An invalid sequence decodes to several escaped bytes: consume only the first.
    *len = (cp.size() == 1) ? n : 1;
    return cp.empty() ? char32_t(b) : cp[0];
}

class Lexer {
public:
    explicit Lexer(std::string_view source) {
        // Normalize \r\n and \r to \n; drop one trailing newline (keep_trailing_newline=False).
        src_.reserve(source.size());
        for (size_t i = 0; i < source.size(); ++i) {
            if (source[i] == '\r') {
                src_.push_back('\n');
                if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
            } else {
                src_.push_back(source[i]);
            }
        }
        if (!src_.empty() && src_.back() == '\n') src_.pop_back();
        line_starts_.push_back(0);
        for (size_t i = 0; i < src_.size(); ++i)
            if (src_[i] == '\n') line_starts_.push_back(i + 1);
    }

    std::vector<Token> run() {
        while (pos_ < src_.size()) lex_root();
        Token eof;
        eof.kind = Tok::Eof;
        locate(eof, src_.size());
        out_.push_back(std::move(eof));
        return std::move(out_);
    }

private:
    // -- positions and errors --------------------------------------------------------------

    // Line and column (in code points) of a position. Tokens arrive in source order, so the
    // column is counted on from the previous token instead of from the start of the line.
    void locate(Token& t, size_t pos) const {
        if (pos < cursor_pos_) {
            const auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), pos);
            const size_t line_index = static_cast<size_t>(it - line_starts_.begin()) - 1;
            cursor_pos_ = line_starts_[line_index];
            cursor_line_ = static_cast<int>(line_index + 1);
            cursor_column_ = 1;
        }
        for (; cursor_pos_ < pos; ++cursor_pos_) {
            const char c = src_[cursor_pos_];
            if (c == '\n') {
                ++cursor_line_;
                cursor_column_ = 1;
            } else if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) {
                ++cursor_column_;
            }
        }
        t.line = cursor_line_;
        t.column = cursor_column_;
    }

    [[noreturn]] void fail(size_t pos, const std::string& message) const {
        Token t;
        locate(t, pos);
        throw TemplateError(TemplateError::Kind::Syntax, message, t.line, t.column);
    }

    void emit(Tok kind, size_t pos, std::string text = {}) {
        Token t;
        t.kind = kind;
        t.text = std::move(text);
        locate(t, pos);
        out_.push_back(std::move(t));
    }

    bool at(size_t p, std::string_view s) const { return src_.compare(p, s.size(), s) == 0; }

    // Byte length of the Python whitespace character at p, 0 if none.
    size_t space_len(size_t p) const {
        if (p >= src_.size()) return 0;
        const unsigned char b = static_cast<unsigned char>(src_[p]);
        if (b < 0x80) return text::is_space(b) ? 1 : 0;
        size_t len = 0;
        const char32_t c = code_point_at(src_, p, &len);
        return text::is_space(c) ? len : 0;
    }

    size_t skip_space(size_t p) const {
        while (size_t n = space_len(p)) p += n;
        return p;
    }

    // Python str.rstrip() of text.
    static std::string_view rstrip(std::string_view s) {
        size_t end = s.size();
        while (end > 0) {
            size_t start = end - 1;
            while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80 && end - start < 4) --start;
            size_t len = 0;
            const char32_t c = code_point_at(s, start, &len);
            // A partial code point (invalid UTF-8) is a byte, never whitespace.
            if (start + len != end || !text::is_space(c)) break;
            end = start;
        }
        return s.substr(0, end);
    }

    static bool all_space(std::string_view s) {
        if (s.empty()) return false;
        for (char32_t c : text::decode(s))
            if (!text::is_space(c)) return false;
        return true;
    }

    // Applies -/+ and lstrip_blocks to the text before a tag, then emits it.
    void emit_text(size_t start, std::string_view body, char sign, bool is_variable) {
        if (sign == '-') {
            body = rstrip(body);
        } else if (sign != '+' && !is_variable) {
            const size_t nl = body.rfind('\n');
            const size_t l_pos = (nl == std::string_view::npos) ? 0 : nl + 1;
            if ((l_pos > 0 || line_starting_) && all_space(body.substr(l_pos))) body = body.substr(0, l_pos);
        }
        if (!body.empty()) emit(Tok::Data, start, std::string(body));
    }

    // -- root state -------------------------------------------------------------------------

    void lex_root() {
        const size_t start = pos_;
        size_t p = pos_;
        while (true) {
            p = src_.find('{', p);
            if (p == std::string::npos || p + 1 >= src_.size()) {
                // Plain text up to the end.
                emit(Tok::Data, start, src_.substr(start));
                pos_ = src_.size();
                return;
            }
            const char c = src_[p + 1];
            if (c == '{' || c == '%' || c == '#') break;
            ++p;
        }
        const std::string_view body = std::string_view(src_).substr(start, p - start);
        const char kind = src_[p + 1];
        const char sign = (p + 2 < src_.size() && (src_[p + 2] == '-' || src_[p + 2] == '+')) ? src_[p + 2] : 0;

        if (kind == '%') {
            size_t raw_end = 0;
            char raw_sign = 0;
            if (match_raw_begin(p, &raw_end, &raw_sign)) {
                emit_text(start, body, raw_sign, false);
                line_starting_ = src_[raw_end - 1] == '\n';
                lex_raw(p, raw_end);
                return;
            }
        }
        emit_text(start, body, sign, kind == '{');
        const size_t after = p + 2 + (sign ? 1 : 0);
        if (kind == '#') {
            lex_comment(p, after);
        } else {
            emit(kind == '%' ? Tok::BlockBegin : Tok::VarBegin, p);
            lex_tag(after, kind == '%');
        }
    }

    // {%(-|+|)\s*raw\s*(-%}\s*|%})
    bool match_raw_begin(size_t p, size_t* end, char* sign) const {
        size_t q = p + 2;
        *sign = 0;
        if (q < src_.size() && (src_[q] == '-' || src_[q] == '+')) *sign = src_[q++];
        q = skip_space(q);
        if (!at(q, "raw")) return false;
        q = skip_space(q + 3);
        if (at(q, "-%}")) {
            *end = skip_space(q + 3);
            return true;
        }
        if (at(q, "%}")) {
            *end = q + 2;
            return true;
        }
        return false;
    }

    void lex_comment(size_t open, size_t p) {
        for (size_t q = p; q < src_.size(); ++q) {
            if (at(q, "+#}")) {
                finish_end(q + 3);
                return;
            }
            if (at(q, "-#}")) {
                finish_end(skip_space(q + 3));
                return;
            }
            if (at(q, "#}")) {
                size_t e = q + 2;
                if (e < src_.size() && src_[e] == '\n') ++e;  // trim_blocks
                finish_end(e);
                return;
            }
        }
        fail(open, "missing end of comment tag");
    }

    void lex_raw(size_t open, size_t p) {
        for (size_t q = p; q < src_.size(); ++q) {
            if (!at(q, "{%")) continue;
            size_t r = q + 2;
            char sign = 0;
            if (r < src_.size() && (src_[r] == '-' || src_[r] == '+')) sign = src_[r++];
            r = skip_space(r);
            if (!at(r, "endraw")) continue;
            r = skip_space(r + 6);
            size_t e;
            if (at(r, "+%}")) {
                e = r + 3;
            } else if (at(r, "-%}")) {
                e = skip_space(r + 3);
            } else if (at(r, "%}")) {
                e = r + 2;
                if (e < src_.size() && src_[e] == '\n') ++e;
            } else {
                continue;
            }
            emit_text(p, std::string_view(src_).substr(p, q - p), sign, false);
            finish_end(e);
            return;
        }
        fail(open, "missing end of raw directive");
    }

    void finish_end(size_t end) {
        line_starting_ = end > 0 && src_[end - 1] == '\n';
        pos_ = end;
    }

    // -- inside {{ }} and {% %} ----------------------------------------------------------------

    void lex_tag(size_t p, bool block) {
        std::vector<char> balance;
        while (p < src_.size()) {
            if (balance.empty()) {
                if (block) {
                    if (at(p, "+%}")) {
                        emit(Tok::BlockEnd, p);
                        finish_end(p + 3);
                        return;
                    }
                    if (at(p, "-%}")) {
                        emit(Tok::BlockEnd, p);
                        finish_end(skip_space(p + 3));
                        return;
                    }
                    if (at(p, "%}")) {
                        emit(Tok::BlockEnd, p);
                        size_t e = p + 2;
                        if (e < src_.size() && src_[e] == '\n') ++e;  // trim_blocks
                        finish_end(e);
                        return;
                    }
                } else {
                    if (at(p, "-}}")) {
                        emit(Tok::VarEnd, p);
                        finish_end(skip_space(p + 3));
                        return;
                    }
                    if (at(p, "}}")) {
                        emit(Tok::VarEnd, p);
                        finish_end(p + 2);
                        return;
                    }
                }
            }
            if (size_t n = space_len(p)) {
                p = skip_space(p + n);
                continue;
            }
            if (size_t n = match_float(p)) {
                lex_float(p, n);
                p += n;
                continue;
            }
            if (size_t n = match_integer(p)) {
                lex_integer(p, n);
                p += n;
                continue;
            }
            if (size_t n = match_name(p)) {
                emit(Tok::Name, p, src_.substr(p, n));
                p += n;
                continue;
            }
            if (src_[p] == '\'' || src_[p] == '"') {
                p = lex_string(p);
                continue;
            }
            if (size_t n = match_operator(p)) {
                const std::string op = src_.substr(p, n);
                check_balance(balance, op, p);
                emit(Tok::Op, p, op);
                p += n;
                continue;
            }
            size_t len = 0;
            const char32_t c = code_point_at(src_, p, &len);
            std::string shown;
            text::append_utf8(shown, c);
            fail(p, "unexpected char " + text::repr(shown));
        }
        pos_ = p;  // end of template inside a tag: the parser reports it
    }

    void check_balance(std::vector<char>& balance, const std::string& op, size_t p) const {
        if (op == "{") {
            balance.push_back('}');
        } else if (op == "(") {
            balance.push_back(')');
        } else if (op == "[") {
            balance.push_back(']');
        } else if (op == "}" || op == ")" || op == "]") {
            if (balance.empty()) fail(p, "unexpected '" + op + "'");
            const char expected = balance.back();
            balance.pop_back();
            if (expected != op[0]) fail(p, "unexpected '" + op + "', expected '" + std::string(1, expected) + "'");
        }
    }

    // (\d+_)*\d+ starting at p: end position, or p when no digit.
    size_t match_digits(size_t p) const {
        size_t q = p;
        if (q >= src_.size() || !is_ascii_digit(src_[q])) return p;
        while (true) {
            while (q < src_.size() && is_ascii_digit(src_[q])) ++q;
            if (q + 1 < src_.size() && src_[q] == '_' && is_ascii_digit(src_[q + 1])) {
                ++q;
                continue;
            }
            return q;
        }
    }

    size_t match_float(size_t p) const {
        if (p > 0 && src_[p - 1] == '.') return 0;
        const size_t int_end = match_digits(p);
        if (int_end == p) return 0;
        size_t q = int_end;
        bool fraction = false;
        if (q < src_.size() && src_[q] == '.') {
            const size_t f = match_digits(q + 1);
            if (f > q + 1) {
                q = f;
                fraction = true;
            }
        }
        if (q < src_.size() && (src_[q] == 'e' || src_[q] == 'E')) {
            size_t e = q + 1;
            if (e < src_.size() && (src_[e] == '+' || src_[e] == '-')) ++e;
            const size_t d = match_digits(e);
            if (d > e) return d - p;
        }
        return fraction ? q - p : 0;
    }

    void lex_float(size_t p, size_t n) {
        std::string digits;
        for (size_t i = p; i < p + n; ++i)
            if (src_[i] != '_') digits.push_back(src_[i]);
        double v = 0;
        const auto res = std::from_chars(digits.data(), digits.data() + digits.size(), v);
        if (res.ec == std::errc::result_out_of_range) v = HUGE_VAL;
        emit(Tok::Float, p, digits);
        out_.back().float_value = v;
    }

    size_t match_integer(size_t p) const {
        const char c = src_[p];
        if (!is_ascii_digit(c)) return 0;
        if (c == '0' && p + 1 < src_.size()) {
            const char b = static_cast<char>(src_[p + 1] | 0x20);
            int base = b == 'b' ? 2 : b == 'o' ? 8 : b == 'x' ? 16 : 0;
            if (base) {
                auto ok = [&](char d) {
                    const char l = static_cast<char>(d | 0x20);
                    if (base == 2) return d == '0' || d == '1';
                    if (base == 8) return d >= '0' && d <= '7';
                    return is_ascii_digit(d) || (l >= 'a' && l <= 'f');
                };
                size_t q = p + 2;
                size_t end = 0;
                while (true) {
                    size_t r = q;
                    if (r < src_.size() && src_[r] == '_') ++r;
                    if (r < src_.size() && ok(src_[r])) {
                        q = r + 1;
                        end = q;
                    } else {
                        break;
                    }
                }
                if (end) return end - p;
            }
        }
        size_t q = p + 1;
        const bool zero = c == '0';
        while (true) {
            size_t r = q;
            if (r < src_.size() && src_[r] == '_') ++r;
            if (r < src_.size() && is_ascii_digit(src_[r]) && (!zero || src_[r] == '0')) {
                q = r + 1;
            } else {
                break;
            }
        }
        return q - p;
    }

    void lex_integer(size_t p, size_t n) {
        std::string digits;
        for (size_t i = p; i < p + n; ++i)
            if (src_[i] != '_') digits.push_back(src_[i]);
        int base = 10;
        size_t skip = 0;
        if (digits.size() > 2 && digits[0] == '0') {
            const char b = static_cast<char>(digits[1] | 0x20);
            if (b == 'b' || b == 'o' || b == 'x') {
                base = b == 'b' ? 2 : b == 'o' ? 8 : 16;
                skip = 2;
            }
        }
        int64_t v = 0;
        const auto res = std::from_chars(digits.data() + skip, digits.data() + digits.size(), v, base);
        if (res.ec != std::errc()) fail(p, "integer literal too large: " + src_.substr(p, n));
        emit(Tok::Integer, p, src_.substr(p, n));
        out_.back().int_value = v;
    }

    size_t match_name(size_t p) const {
        size_t q = p;
        while (q < src_.size()) {
            const char c = src_[q];
            if (is_ascii_alpha(c) || c == '_' || (q > p && is_ascii_digit(c))) {
                ++q;
                continue;
            }
            if (static_cast<unsigned char>(c) >= 0x80) {
                size_t len = 0;
                const char32_t cp = code_point_at(src_, q, &len);
                const bool mark = cp >= 0x300 && cp <= 0x36F;
                if (text::is_alpha(cp) || (q > p && (text::is_digit(cp) || mark))) {
                    q += len;
                    continue;
                }
            }
            break;
        }
        return q - p;
    }

    size_t match_operator(size_t p) const {
        static constexpr std::string_view two[] = {"//", "**", "==", "!=", ">=", "<="};
        for (std::string_view op : two)
            if (at(p, op)) return 2;
        static constexpr std::string_view one = "+-/*%~[](){}><=.:|,;";
        return one.find(src_[p]) != std::string_view::npos ? 1 : 0;
    }

    // Reads a quoted string starting at p and emits its value decoded as Python's
    // "unicode-escape" codec does (jinja2 decodes literals that way). Returns the end position.
    size_t lex_string(size_t p) {
        const char quote = src_[p];
        size_t q = p + 1;
        while (q < src_.size() && src_[q] != quote) q += (src_[q] == '\\' && q + 1 < src_.size()) ? 2 : 1;
        if (q >= src_.size()) fail(p, "unterminated string literal");
        emit(Tok::String, p, decode_escapes(p, std::string_view(src_).substr(p + 1, q - p - 1)));
        return q + 1;
    }

    std::string decode_escapes(size_t at_pos, std::string_view s) const {
        std::string out;
        out.reserve(s.size());
        auto flush_unit = [&](char32_t c) { text::append_utf8(out, c); };
        auto hex = [&](size_t i, size_t n, const char* what) -> char32_t {
            if (i + n > s.size()) fail(at_pos, std::string("truncated ") + what + " escape");
            char32_t v = 0;
            for (size_t k = i; k < i + n; ++k) {
                const char c = s[k];
                const char l = static_cast<char>(c | 0x20);
                int d;
                if (is_ascii_digit(c)) {
                    d = c - '0';
                } else if (l >= 'a' && l <= 'f') {
                    d = l - 'a' + 10;
                } else {
                    fail(at_pos, std::string("truncated ") + what + " escape");
                }
                v = v * 16 + static_cast<char32_t>(d);
            }
            return v;
        };
        size_t i = 0;
        while (i < s.size()) {
            const char c = s[i];
            if (c != '\\' || i + 1 >= s.size()) {
                out.push_back(c);
                ++i;
                continue;
            }
            const char e = s[i + 1];
            i += 2;
            switch (e) {
                case '\n': break;
                case '\\': out.push_back('\\'); break;
                case '\'': out.push_back('\''); break;
                case '"': out.push_back('"'); break;
                case 'a': out.push_back('\a'); break;
                case 'b': out.push_back('\b'); break;
                case 'f': out.push_back('\f'); break;
                case 'n': out.push_back('\n'); break;
                case 'r': out.push_back('\r'); break;
                case 't': out.push_back('\t'); break;
                case 'v': out.push_back('\v'); break;
                case 'x': flush_unit(hex(i, 2, "\\xXX")); i += 2; break;
                case 'u': {
                    char32_t v = hex(i, 4, "\\uXXXX");
                    i += 4;
                    // A high surrogate followed by \uDC00-\uDFFF combines into one character.
                    if (v >= 0xD800 && v < 0xDC00 && i + 6 <= s.size() && s[i] == '\\' && s[i + 1] == 'u') {
                        const char32_t lo = hex(i + 2, 4, "\\uXXXX");
                        if (lo >= 0xDC00 && lo < 0xE000) {
                            v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
                            i += 6;
                        }
                    }
                    flush_unit(v);
                    break;
                }
                case 'U': {
                    const char32_t v = hex(i, 8, "\\UXXXXXXXX");
                    if (v > 0x10FFFF) fail(at_pos, "illegal Unicode character");
                    flush_unit(v);
                    i += 8;
                    break;
                }
                case 'N': fail(at_pos, "\\N{...} escapes are not supported");
                default:
                    if (e >= '0' && e <= '7') {
                        char32_t v = static_cast<char32_t>(e - '0');
                        for (int k = 0; k < 2 && i < s.size() && s[i] >= '0' && s[i] <= '7'; ++k, ++i)
                            v = v * 8 + static_cast<char32_t>(s[i] - '0');
                        flush_unit(v);
                    } else if (static_cast<unsigned char>(e) >= 0x80) {
                        // jinja2 backslash-escapes non-ASCII characters before decoding, so a
                        // backslash before one yields a literal backslash and its escape text.
                        size_t len = 0;
                        const char32_t cp = code_point_at(s, i - 1, &len);
                        char buf[16];
                        if (cp < 0x100) {
                            std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(cp));
                        } else if (cp < 0x10000) {
                            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(cp));
                        } else {
                            std::snprintf(buf, sizeof buf, "\\U%08x", static_cast<unsigned>(cp));
                        }
                        out += buf;
                        i = i - 1 + len;
                    } else {
                        out.push_back('\\');
                        out.push_back(e);
                    }
            }
        }
        return out;
    }

    std::string src_;
    std::vector<size_t> line_starts_;
    mutable size_t cursor_pos_ = 0;
    mutable int cursor_line_ = 1;
    mutable int cursor_column_ = 1;
    std::vector<Token> out_;
    size_t pos_ = 0;
    bool line_starting_ = true;
};

}  // namespace

std::vector<Token> tokenize(std::string_view source) { return Lexer(source).run(); }

std::string describe(const Token& token) {
    switch (token.kind) {
        case Tok::Data: return "template data";
        case Tok::VarBegin: return "begin of print statement";
        case Tok::VarEnd: return "end of print statement";
        case Tok::BlockBegin: return "begin of statement block";
        case Tok::BlockEnd: return "end of statement block";
        case Tok::Name: return "'" + token.text + "'";
        case Tok::String: return "string";
        case Tok::Integer: return "integer";
        case Tok::Float: return "float";
        case Tok::Op: return "'" + token.text + "'";
        case Tok::Eof: return "end of template";
    }
    return "token";
}

}  // namespace hearth::chat
