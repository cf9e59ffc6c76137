#pragma once
// Errors of the chat-template interpreter. One class, three kinds:
//   Syntax  - the template does not parse; what() names the line and column.
//   Runtime - rendering failed (undefined attribute access, type error, ...); what() names the
//             line and column of the expression at fault when known.
//   Raised  - the template called raise_exception(msg); what() is exactly msg, as transformers
//             reports it (str(TemplateError(msg)) == msg).
#include <string>

#include "common/error.h"

namespace hearth::chat {

class TemplateError : public Error {
public:
    enum class Kind { Syntax, Runtime, Raised };

    TemplateError(Kind kind, std::string message, int line = 0, int column = 0);

    Kind kind() const noexcept { return kind_; }
    // The message without the location prefix.
    const std::string& message() const noexcept { return message_; }
    // 1-based; 0 when unknown.
    int line() const noexcept { return line_; }
    int column() const noexcept { return column_; }

    // The same error located at (line, column).
    TemplateError located(int line, int column) const;

private:
    static std::string format(Kind kind, const std::string& message, int line, int column);

    Kind kind_;
    std::string message_;
    int line_;
    int column_;
};

// A runtime error without location yet; the interpreter adds the position of the expression.
[[noreturn]] void runtime_error(std::string message);

}  // namespace hearth::chat
