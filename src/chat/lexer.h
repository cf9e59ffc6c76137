#pragma once
// Splits a Jinja2 template into tokens, the way jinja2's lexer does with the settings Hugging Face
// transformers uses (trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False):
// newlines are normalized to "\n", one trailing newline is dropped, comments vanish, raw blocks
// become text, and {%- -%} {{- -}} {#- -#} / {%+ +%} whitespace control is applied to the text
// tokens. Every token carries its 1-based line and column (columns count code points).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::chat {

enum class Tok {
    Data,        // template text
    VarBegin,    // {{
    VarEnd,      // }}
    BlockBegin,  // {%
    BlockEnd,    // %}
    Name,
    String,      // text holds the decoded value
    Integer,
    Float,
    Op,          // text holds the operator: + - * / // % ** ~ == != < <= > >= = . , : | ( ) [ ] { } ;
    Eof,
};

struct Token {
    Tok kind = Tok::Eof;
    std::string text;
    int64_t int_value = 0;
    double float_value = 0;
    int line = 1;
    int column = 1;
};

// Throws TemplateError (Kind::Syntax) on unterminated comments and raw blocks, bad characters,
// unbalanced brackets and malformed literals.
std::vector<Token> tokenize(std::string_view source);

// How a token reads in an error message ("end of print statement", "'x'", ...).
std::string describe(const Token& token);

}  // namespace hearth::chat
