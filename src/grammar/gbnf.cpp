// GBNF text → Grammar. A recursive-descent parser over bytes; literals and classes are decoded
// as UTF-8 into code points. Groups and repetitions become helper rules named after the rule
// they appear in (root:1, root:2, ...), so error messages can still point somewhere useful.
#include <algorithm>
#include <map>

#include "common/error.h"
#include "grammar/grammar.h"

namespace hearth::grammar {
namespace {

constexpr uint32_t kMaxCodePoint = 0x10FFFF;
// Bounds that keep a hostile grammar from exhausting memory: {m,n} is expanded into copies.
constexpr size_t kMaxRepetition = 10000;
constexpr size_t kMaxElements = 1000000;

bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

class Parser {
public:
    explicit Parser(std::string_view text) : text_(text) {}

    Grammar parse() {
        skip_space(true);
        if (at_end()) error("the grammar is empty (expected rules such as root ::= \"yes\" | \"no\")");
        while (!at_end()) {
            parse_rule();
            skip_space(true);
        }
        for (const auto& [index, where] : first_reference_) {
            if (!defined_[index]) {
                pos_ = where;
                error("rule '{}' is used but never defined", grammar_.rules[index].name);
            }
        }
        auto root = names_.find("root");
        if (root == names_.end() || !defined_[root->second]) {
            pos_ = 0;
            error("the grammar has no 'root' rule (the start rule)");
        }
        grammar_.root = root->second;
        check_no_left_recursion(grammar_);
        return std::move(grammar_);
    }

private:
    template <typename... Args>
    [[noreturn]] void error(fmt::format_string<Args...> format, Args&&... args) const {
        size_t line = 1, column = 1;
        for (size_t i = 0; i < pos_ && i < text_.size(); ++i) {
            if (text_[i] == '\n') {
                ++line;
                column = 1;
            } else {
                ++column;
            }
        }
        fail("grammar: line {}:{}: {}", line, column, fmt::format(format, std::forward<Args>(args)...));
    }

    bool at_end() const { return pos_ >= text_.size(); }
    char peek(size_t ahead = 0) const { return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0'; }

    // Spaces, tabs and comments; newlines too when `newlines` (inside groups, after | and ::=).
    void skip_space(bool newlines) {
        while (!at_end()) {
            const char c = peek();
            if (c == ' ' || c == '\t' || c == '\r' || (newlines && c == '\n')) {
                ++pos_;
            } else if (c == '#') {
                while (!at_end() && peek() != '\n') ++pos_;
            } else {
                break;
            }
        }
    }

    std::string parse_name() {
        const size_t start = pos_;
        while (!at_end() && is_name_char(peek())) ++pos_;
        if (pos_ == start) error("expected a rule name, found {}", describe_here());
        return std::string(text_.substr(start, pos_ - start));
    }

    std::string describe_here() const {
        if (at_end()) return "the end of the grammar";
        const char c = peek();
        if (c == '\n') return "the end of the line";
        if (static_cast<unsigned char>(c) < 0x20) return fmt::format("byte 0x{:02X}", static_cast<unsigned char>(c));
        return fmt::format("'{}'", c);
    }

    uint32_t rule_index(const std::string& name) {
        auto [it, inserted] = names_.try_emplace(name, uint32_t(grammar_.rules.size()));
        if (inserted) {
            grammar_.rules.push_back(Rule{name, {}});
            defined_.push_back(false);
        }
        return it->second;
    }

    uint32_t new_helper_rule() {
        std::string name;
        do {
            // ':' cannot appear in a written rule name, so helpers never take a user's name.
            name = fmt::format("{}:{}", current_rule_, ++helper_count_);
        } while (names_.count(name));
        const uint32_t index = rule_index(name);
        defined_[index] = true;
        return index;
    }

    void parse_rule() {
        const size_t name_pos = pos_;
        std::string name = parse_name();
        const uint32_t index = rule_index(name);
        if (defined_[index]) {
            pos_ = name_pos;
            error("rule '{}' is defined twice", name);
        }
        defined_[index] = true;
        current_rule_ = name;
        helper_count_ = 0;
        skip_space(false);
        if (text_.substr(pos_, 3) != "::=") error("expected '::=' after the rule name '{}', found {}", name, describe_here());
        pos_ += 3;
        skip_space(true);
        grammar_.rules[index].alternatives = parse_alternatives(false);
        if (!at_end() && peek() != '\n') error("expected the end of the line after rule '{}', found {}", name, describe_here());
    }

    std::vector<Sequence> parse_alternatives(bool nested) {
        std::vector<Sequence> alternatives;
        alternatives.push_back(parse_sequence(nested));
        while (peek() == '|') {
            ++pos_;
            skip_space(true);
            alternatives.push_back(parse_sequence(nested));
        }
        return alternatives;
    }

    Sequence parse_sequence(bool nested) {
        Sequence sequence;
        size_t last_start = 0;  // the last item's first element, for a repetition operator
        bool has_item = false;
        for (;;) {
            const char c = peek();
            if (at_end() || c == '|' || c == ')' || c == '\n') break;
            if (c == '"') {
                last_start = sequence.size();
                ++pos_;
                parse_literal(sequence);
                has_item = true;
            } else if (c == '[') {
                last_start = sequence.size();
                ++pos_;
                sequence.push_back(parse_class());
                has_item = true;
            } else if (c == '.') {
                last_start = sequence.size();
                ++pos_;
                Element any;
                any.ranges.push_back({0, kMaxCodePoint});
                sequence.push_back(std::move(any));
                has_item = true;
            } else if (c == '(') {
                last_start = sequence.size();
                const size_t open = pos_;
                ++pos_;
                skip_space(true);
                const uint32_t group = new_helper_rule();
                auto alternatives = parse_alternatives(true);
                if (peek() != ')') {
                    pos_ = open;
                    error("unbalanced '(': no matching ')'");
                }
                ++pos_;
                grammar_.rules[group].alternatives = std::move(alternatives);
                sequence.push_back(reference(group));
                has_item = true;
            } else if (is_name_char(c)) {
                last_start = sequence.size();
                const size_t where = pos_;
                const uint32_t index = rule_index(parse_name());
                first_reference_.try_emplace(index, where);
                sequence.push_back(reference(index));
                has_item = true;
            } else if (c == '*' || c == '+' || c == '?' || c == '{') {
                if (!has_item) error("'{}' must follow something to repeat", c);
                auto [min, max] = parse_repetition();
                repeat(sequence, last_start, min, max);
                has_item = false;  // "x**" is an error, as in llama.cpp
            } else if (c == ']') {
                error("unbalanced ']': no matching '['");
            } else {
                error("unexpected {}", describe_here());
            }
            check_size(sequence.size());
            skip_space(nested);
        }
        if (peek() == ')' && !nested) error("unbalanced ')': no matching '('");
        return sequence;
    }

    static Element reference(uint32_t rule) {
        Element e;
        e.kind = Element::Kind::Rule;
        e.rule = rule;
        return e;
    }

    void check_size(size_t added) {
        total_elements_ += added;
        if (total_elements_ > kMaxElements) error("the grammar is too large (over {} elements)", kMaxElements);
    }

    // Returns {min, max}; max == SIZE_MAX means unbounded.
    std::pair<size_t, size_t> parse_repetition() {
        const char c = peek();
        ++pos_;
        if (c == '*') return {0, SIZE_MAX};
        if (c == '+') return {1, SIZE_MAX};
        if (c == '?') return {0, 1};
        skip_space(false);
        const size_t min = parse_count();
        size_t max = min;
        skip_space(false);
        if (peek() == ',') {
            ++pos_;
            skip_space(false);
            max = peek() == '}' ? SIZE_MAX : parse_count();
            skip_space(false);
        }
        if (peek() != '}') error("expected '}}' to close the repetition, found {}", describe_here());
        ++pos_;
        if (max < min) error("repetition {{{},{}}}: the maximum is below the minimum", min, max);
        return {min, max};
    }

    size_t parse_count() {
        const size_t start = pos_;
        size_t value = 0;
        while (peek() >= '0' && peek() <= '9') {
            value = value * 10 + size_t(peek() - '0');
            if (value > kMaxRepetition) error("repetition count over {}", kMaxRepetition);
            ++pos_;
        }
        if (pos_ == start) error("expected a number in the repetition, found {}", describe_here());
        return value;
    }

    // Replaces sequence[start..] (one item) by its repetition {min, max}:
    //   x{2,4} → x x opt2,  opt2 ::= x opt1 | ,  opt1 ::= x |
    //   x{1,}  → x star,    star ::= x star |
    void repeat(Sequence& sequence, size_t start, size_t min, size_t max) {
        Sequence item(sequence.begin() + std::ptrdiff_t(start), sequence.end());
        sequence.resize(start);
        if (max == 0) return;
        check_size(item.size() * std::min(max == SIZE_MAX ? min + 1 : max, kMaxRepetition) + 1);
        for (size_t i = 0; i < min; ++i) sequence.insert(sequence.end(), item.begin(), item.end());
        if (max == SIZE_MAX) {
            const uint32_t star = new_helper_rule();
            Sequence loop = item;
            loop.push_back(reference(star));
            grammar_.rules[star].alternatives = {std::move(loop), {}};
            sequence.push_back(reference(star));
            return;
        }
        uint32_t inner = 0;
        bool has_inner = false;
        for (size_t i = min; i < max; ++i) {
            const uint32_t optional = new_helper_rule();
            Sequence once = item;
            if (has_inner) once.push_back(reference(inner));
            grammar_.rules[optional].alternatives = {std::move(once), {}};
            inner = optional;
            has_inner = true;
        }
        if (has_inner) sequence.push_back(reference(inner));
    }

    // After the opening quote; appends one Chars element per code point.
    void parse_literal(Sequence& sequence) {
        const size_t open = pos_ - 1;
        for (;;) {
            if (at_end()) {
                pos_ = open;
                error("unterminated string literal");
            }
            if (peek() == '"') {
                ++pos_;
                return;
            }
            if (peek() == '\n') {
                pos_ = open;
                error("unterminated string literal (a newline inside it; write \\n)");
            }
            const uint32_t cp = parse_char();
            Element e;
            e.ranges.push_back({cp, cp});
            sequence.push_back(std::move(e));
        }
    }

    // After the opening bracket.
    Element parse_class() {
        const size_t open = pos_ - 1;
        Element e;
        if (peek() == '^') {
            e.negated = true;
            ++pos_;
        }
        for (;;) {
            if (at_end() || peek() == '\n') {
                pos_ = open;
                error("unbalanced '[': no matching ']'");
            }
            if (peek() == ']') {
                ++pos_;
                return e;
            }
            const uint32_t first = parse_char();
            uint32_t last = first;
            if (peek() == '-' && peek(1) != ']' && pos_ + 1 < text_.size()) {
                ++pos_;
                const size_t where = pos_;
                last = parse_char();
                if (last < first) {
                    pos_ = where;
                    error("character range with its end below its start (U+{:04X}-U+{:04X})", first, last);
                }
            }
            e.ranges.push_back({first, last});
        }
    }

    // One character of a literal or class: an escape or a UTF-8 sequence.
    uint32_t parse_char() {
        const size_t start = pos_;
        if (peek() != '\\') {
            uint32_t cp = 0;
            if (!decode_utf8(text_, pos_, cp)) error("invalid UTF-8 in the grammar");
            return cp;
        }
        ++pos_;
        const char c = peek();
        ++pos_;
        switch (c) {
            case 'n': return '\n';
            case 't': return '\t';
            case 'r': return '\r';
            case '\\': return '\\';
            case '"': return '"';
            case '[': return '[';
            case ']': return ']';
            case '-': return '-';
            case '^': return '^';
            case 'x': return parse_hex(2, start);
            case 'u': return parse_hex(4, start);
            case 'U': return parse_hex(8, start);
            default:
                pos_ = start;
                error("unknown escape '\\{}' (known: \\n \\t \\r \\\\ \\\" \\[ \\] \\- \\^ \\xHH \\uHHHH \\UHHHHHHHH)",
                      c == '\0' ? std::string("") : std::string(1, c));
        }
    }

    uint32_t parse_hex(int digits, size_t escape_start) {
        uint32_t value = 0;
        for (int i = 0; i < digits; ++i) {
            const char c = peek();
            uint32_t d = 0;
            if (c >= '0' && c <= '9') d = uint32_t(c - '0');
            else if (c >= 'a' && c <= 'f') d = uint32_t(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') d = uint32_t(c - 'A' + 10);
            else {
                pos_ = escape_start;
                error("escape needs {} hex digits", digits);
            }
            value = value * 16 + d;
            ++pos_;
        }
        if (value > kMaxCodePoint || (value >= 0xD800 && value <= 0xDFFF)) {
            pos_ = escape_start;
            error("escape U+{:X} is not a Unicode scalar value", value);
        }
        return value;
    }

    std::string_view text_;
    size_t pos_ = 0;
    Grammar grammar_;
    std::map<std::string, uint32_t> names_;
    std::vector<bool> defined_;
    std::map<uint32_t, size_t> first_reference_;  // rule → offset of its first use
    std::string current_rule_;
    int helper_count_ = 0;
    size_t total_elements_ = 0;
};

}  // namespace

Grammar parse_gbnf(std::string_view text) {
    return Parser(text).parse();
}

}  // namespace hearth::grammar
