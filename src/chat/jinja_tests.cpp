// jinja2's built-in tests (`x is defined`, `x is divisibleby 3`, `x is equalto y`, ...).
#include <unordered_map>

#include "chat/builtins.h"
#include "chat/error.h"
#include "chat/operators.h"
#include "chat/text.h"

namespace hearth::chat {

namespace {

const Value& one_arg(const CallArgs& args, const char* name) {
    if (args.positional.size() + args.keyword.size() != 1)
        runtime_error(std::string(name) + "() takes exactly one argument");
    return args.positional.empty() ? args.keyword.front().second : args.positional.front();
}

TestFn comparison(const char* op) {
    return [op](Interpreter&, const Value& v, CallArgs& args) { return ops::compare(op, v, one_arg(args, op)); };
}

bool same_object(const Value& a, const Value& b) {
    if (a.type() != b.type()) return false;
    if (const void* id = a.identity()) return id == b.identity();
    return equals(a, b);  // None, bools, small ints and equal constants are one object in jinja2
}

const std::unordered_map<std::string, TestFn>& tests() {
    static const std::unordered_map<std::string, TestFn> t = [] {
        std::unordered_map<std::string, TestFn> m;
        m["defined"] = [](Interpreter&, const Value& v, CallArgs&) { return !v.is_undefined(); };
        m["undefined"] = [](Interpreter&, const Value& v, CallArgs&) { return v.is_undefined(); };
        m["none"] = [](Interpreter&, const Value& v, CallArgs&) { return v.is_none(); };
        m["boolean"] = [](Interpreter&, const Value& v, CallArgs&) { return v.is_bool(); };
        m["true"] = [](Interpreter&, const Value& v, CallArgs&) { return v.is_bool() && v.as_bool(); };
        m["false"] = [](Interpreter&, const Value& v, CallArgs&) { return v.is_bool() && !v.as_bool(); };
        m["integer"] = [](Interpreter&, const Value& v, CallArgs&) { return v.is_int(); };
        m["float"] = [](Interpreter&, const Value& v, CallArgs&) { return v.is_float(); };
        m["number"] = [](Interpreter&, const Value& v, CallArgs&) { return v.is_number(); };
        m["string"] = [](Interpreter&, const Value& v, CallArgs&) { return v.is_string(); };
        m["mapping"] = [](Interpreter&, const Value& v, CallArgs&) { return v.is_plain_dict(); };
        m["sequence"] = [](Interpreter&, const Value& v, CallArgs&) {
            return v.is_undefined() || v.is_string() || v.is_plain_dict() ||
                   (v.is_list() && v.as_list().is_sequence());
        };
        m["iterable"] = [](Interpreter&, const Value& v, CallArgs&) {
            return v.is_undefined() || v.is_string() || v.is_list() ||
                   (v.is_dict() && !v.is_namespace());
        };
        m["callable"] = [](Interpreter&, const Value& v, CallArgs&) {
            return v.is_function() || v.is_undefined() || (v.is_dict() && v.as_dict().call);
        };
        m["odd"] = [](Interpreter&, const Value& v, CallArgs&) {
            return equals(ops::binary("%", v, Value(2)), Value(1));
        };
        m["even"] = [](Interpreter&, const Value& v, CallArgs&) {
            return equals(ops::binary("%", v, Value(2)), Value(0));
        };
        m["divisibleby"] = [](Interpreter&, const Value& v, CallArgs& args) {
            return equals(ops::binary("%", v, one_arg(args, "divisibleby")), Value(0));
        };
        m["lower"] = [](Interpreter&, const Value& v, CallArgs&) { return text::is_lower(to_str(v)); };
        m["upper"] = [](Interpreter&, const Value& v, CallArgs&) { return text::is_upper(to_str(v)); };
        m["sameas"] = [](Interpreter&, const Value& v, CallArgs& args) {
            return same_object(v, one_arg(args, "sameas"));
        };
        m["escaped"] = [](Interpreter&, const Value&, CallArgs&) { return false; };
        m["in"] = [](Interpreter&, const Value& v, CallArgs& args) { return ops::contains(one_arg(args, "in"), v); };
        m["filter"] = [](Interpreter&, const Value& v, CallArgs&) {
            return v.is_string() && has_filter(v.as_string());
        };
        m["test"] = [](Interpreter&, const Value& v, CallArgs&) { return v.is_string() && has_test(v.as_string()); };
        for (const char* name : {"==", "eq", "equalto"}) m[name] = comparison("==");
        for (const char* name : {"!=", "ne"}) m[name] = comparison("!=");
        for (const char* name : {">", "gt", "greaterthan"}) m[name] = comparison(">");
        for (const char* name : {">=", "ge"}) m[name] = comparison(">=");
        for (const char* name : {"<", "lt", "lessthan"}) m[name] = comparison("<");
        for (const char* name : {"<=", "le"}) m[name] = comparison("<=");
        return m;
    }();
    return t;
}

}  // namespace

bool has_test(std::string_view name) { return find_test(name) != nullptr; }

const TestFn* find_test(std::string_view name) {
    const auto& t = tests();
    const auto it = t.find(std::string(name));
    return it == t.end() ? nullptr : &it->second;
}

}  // namespace hearth::chat
