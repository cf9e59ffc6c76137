#include "chat/error.h"

namespace hearth::chat {

TemplateError::TemplateError(Kind kind, std::string message, int line, int column)
    : Error(format(kind, message, line, column)),
      kind_(kind),
      message_(std::move(message)),
      line_(line),
      column_(column) {}

std::string TemplateError::format(Kind kind, const std::string& message, int line, int column) {
    if (kind == Kind::Raised) return message;
    std::string out = kind == Kind::Syntax ? "chat template syntax error" : "chat template error";
    if (line > 0) out += " at line " + std::to_string(line) + ", column " + std::to_string(column);
    return out + ": " + message;
}

TemplateError TemplateError::located(int line, int column) const { return TemplateError(kind_, message_, line, column); }

void runtime_error(std::string message) { throw TemplateError(TemplateError::Kind::Runtime, std::move(message)); }

}  // namespace hearth::chat
