#pragma once
// Python's operators on template values: arithmetic (+ - * / // % **), comparison, membership,
// sequence slicing and printf-style "%" string formatting, with Python's results and errors
// (TypeError / ZeroDivisionError messages) and Jinja's rule that using an undefined value in
// arithmetic or ordering raises its "... is undefined" error.
#include <optional>
#include <string_view>
#include <vector>

#include "chat/value.h"

namespace hearth::chat::ops {

// op: "+", "-", "*", "/", "//", "%", "**".
Value binary(std::string_view op, const Value& a, const Value& b);
Value negate(const Value& a);
Value positive(const Value& a);

// op: "==", "!=", "<", "<=", ">", ">=", "in", "notin".
bool compare(std::string_view op, const Value& a, const Value& b);
// Python a < b (TypeError for unorderable types).
bool less(const Value& a, const Value& b);
// Python `item in container`.
bool contains(const Value& container, const Value& item);

// Python sequence[start:stop:step] on a list, tuple or str.
Value slice(const Value& seq, std::optional<int64_t> start, std::optional<int64_t> stop, std::optional<int64_t> step);

// The items a for loop (or list(), join, ...) sees: list items, dict keys, string characters;
// nothing for undefined; TypeError for the rest. Iterating an iterator consumes it.
std::vector<Value> iterate(const Value& v);
// len(v), or TypeError "object of type 'int' has no len()".
int64_t length(const Value& v);

// Python "fmt % args"; escape_args: fmt is a Markup string, so %s / %r values are HTML-escaped.
std::string percent_format(const std::string& fmt, const Value& args, bool escape_args = false);
// Python str.format(*args, **kwargs) for the common replacement fields; escape_fields: Markup's
// format, which HTML-escapes every formatted field that is not itself Markup.
std::string str_format(const std::string& fmt, const std::vector<Value>& args,
                       const std::vector<std::pair<std::string, Value>>& kwargs, bool escape_fields = false);

}  // namespace hearth::chat::ops
