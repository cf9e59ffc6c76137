// jinja2's global functions: range (with the sandbox's size limit), dict, namespace, joiner,
// cycler.
#include "chat/builtins.h"
#include "chat/error.h"
#include "chat/interpreter.h"
#include "chat/operators.h"

namespace hearth::chat {

namespace {

// jinja2.sandbox.MAX_RANGE
constexpr int64_t kMaxRange = 100000;

int64_t int_arg(const Value& v) {
    if (v.is_integral()) return v.integral();
    runtime_error(quote(type_name(v)) + " object cannot be interpreted as an integer");
}

Value range(Interpreter&, CallArgs& args) {
    if (!args.keyword.empty()) runtime_error("range() takes no keyword arguments");
    const auto& a = args.positional;
    if (a.empty() || a.size() > 3) runtime_error("range expected 1 to 3 arguments, got " + std::to_string(a.size()));
    int64_t start = 0, stop, step = 1;
    if (a.size() == 1) {
        stop = int_arg(a[0]);
    } else {
        start = int_arg(a[0]);
        stop = int_arg(a[1]);
        if (a.size() == 3) step = int_arg(a[2]);
    }
    if (step == 0) runtime_error("range() arg 3 must not be zero");
    int64_t count = 0;
    if (step > 0 && start < stop) count = (stop - start + step - 1) / step;
    if (step < 0 && start > stop) count = (start - stop - step - 1) / -step;
    if (count > kMaxRange)
        runtime_error("Range too big. The sandbox blocks ranges larger than MAX_RANGE (" + std::to_string(kMaxRange) + ").");
    std::vector<Value> out;
    out.reserve(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) out.emplace_back(start + i * step);
    return Value::list(std::move(out));
}

// dict(mapping or iterable of pairs, **kwargs) into `d`.
void fill_dict(Dict& d, CallArgs& args, const char* fn) {
    if (args.positional.size() > 1)
        runtime_error(std::string(fn) + " expected at most 1 argument, got " + std::to_string(args.positional.size()));
    if (!args.positional.empty()) {
        const Value& src = args.positional[0];
        if (src.is_plain_dict() || src.is_namespace()) {
            for (const auto& [k, v] : src.as_dict().items) d.set(k, v);
        } else {
            size_t i = 0;
            for (const Value& pair : ops::iterate(src)) {
                const std::vector<Value> kv = ops::iterate(pair);
                if (kv.size() != 2)
                    runtime_error("dictionary update sequence element #" + std::to_string(i) + " has length " +
                                  std::to_string(kv.size()) + "; 2 is required");
                d.set(kv[0], kv[1]);
                ++i;
            }
        }
    }
    for (const auto& [k, v] : args.keyword) d.set(k, v);
}

}  // namespace

void add_global_functions(Scope& scope) {
    scope.set("range", Value::function("range", range));
    scope.set("dict", Value::function("dict", [](Interpreter&, CallArgs& args) {
                  Value d = Value::dict();
                  fill_dict(d.as_dict(), args, "dict");
                  return d;
              }));
    scope.set("namespace", Value::function("namespace", [](Interpreter& interp, CallArgs& args) {
                  Value ns = Value::namespace_object();
                  interp.track_namespace(ns);
                  fill_dict(ns.as_dict(), args, "namespace");
                  return ns;
              }));
    scope.set("joiner", Value::function("joiner", [](Interpreter&, CallArgs& args) {
                  Args a("joiner", args, {"sep"});
                  const std::string sep = a.has(0) ? to_str(a.get(0)) : ", ";
                  auto used = std::make_shared<bool>(false);
                  return Value::function("joiner", [sep, used](Interpreter&, CallArgs&) {
                      if (!*used) {
                          *used = true;
                          return Value("");
                      }
                      return Value(sep);
                  });
              }));
    scope.set("cycler", Value::function("cycler", [](Interpreter& interp, CallArgs& args) {
                  if (args.positional.empty()) runtime_error("cycler requires at least one item");
                  struct State {
                      std::vector<Value> items;
                      size_t pos = 0;
                  };
                  auto state = std::make_shared<State>();
                  state->items = args.positional;
                  Value c = Value::namespace_object();
                  interp.track_namespace(c);
                  c.as_dict().set("next", Value::function("next", [state](Interpreter&, CallArgs&) {
                                      Value v = state->items[state->pos];
                                      state->pos = (state->pos + 1) % state->items.size();
                                      return v;
                                  }));
                  c.as_dict().set("reset", Value::function("reset", [state](Interpreter&, CallArgs&) {
                                      state->pos = 0;
                                      return Value::none();
                                  }));
                  return c;
              }));
}

}  // namespace hearth::chat
