#pragma once
// One error type for the whole library: a one-line message that names the file, field or
// value at fault. Front-ends print what() and exit 1; nothing below them prints or exits.
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace hearth {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
    throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace hearth
