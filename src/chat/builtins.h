#pragma once
// The library a template can call: jinja2's built-in filters and tests, Python's str / dict /
// list methods (as the sandbox lets templates call them), and the global functions range, dict,
// namespace, joiner and cycler. raise_exception and strftime_now come from template.cpp, as
// transformers adds them.
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chat/value.h"

namespace hearth::chat {

class Interpreter;
struct Scope;

using FilterFn = std::function<Value(Interpreter&, const Value& subject, CallArgs& args)>;
using TestFn = std::function<bool(Interpreter&, const Value& subject, CallArgs& args)>;

bool has_filter(std::string_view name);
bool has_test(std::string_view name);
// nullptr when there is no such filter / test.
const FilterFn* find_filter(std::string_view name);
const TestFn* find_test(std::string_view name);

// The attribute `name` of a str, dict or list as a bound method, or nullopt when the object has
// no such method. Methods that mutate (list.append, dict.update, ...) give an undefined value that
// explains the sandbox refused them, as jinja2's ImmutableSandboxedEnvironment does.
std::optional<Value> bound_method(const Value& obj, const std::string& name);

// Adds range, dict, namespace, joiner and cycler.
void add_global_functions(Scope& scope);

// Binds call arguments to parameter names like a Python signature `fn(p0, p1=..., ...)`:
// positional arguments fill parameters in order, keywords must name a parameter, and the first
// `required` parameters must be given. Errors read like Python's TypeErrors.
class Args {
public:
    Args(std::string_view fn, const CallArgs& args, std::initializer_list<std::string_view> params,
         size_t required = 0);
    bool has(size_t i) const { return i < bound_.size() && bound_[i].has_value(); }
    const Value& get(size_t i) const { return *bound_[i]; }
    Value get_or(size_t i, Value fallback) const { return has(i) ? *bound_[i] : std::move(fallback); }
    // Typed accessors: TypeError naming the parameter when the value has the wrong type.
    int64_t get_int(size_t i, int64_t fallback) const;
    std::optional<std::string> get_opt_string(size_t i) const;  // absent or None -> nullopt
    bool get_bool(size_t i, bool fallback) const;

private:
    std::string fn_;
    std::vector<std::string_view> names_;
    std::vector<std::optional<Value>> bound_;
};

}  // namespace hearth::chat
