#pragma once
// The dynamic value of the chat-template interpreter, modelled on the Python objects Jinja2
// works with: None, bool, int, float, str, list, tuple, dict (insertion-ordered), Jinja's
// Undefined, callables (builtins, bound methods, macros), namespace() objects and the loop
// object. Lists and dicts are shared by reference, as in Python.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace hearth::chat {

class Value;
class Interpreter;
struct List;
struct Dict;
struct Function;

struct CallArgs {
    std::vector<Value> positional;
    std::vector<std::pair<std::string, Value>> keyword;
};

class Value {
public:
    enum class Type { Undefined, None, Bool, Int, Float, String, List, Dict, Function };

    // An undefined value; `why` is the message raised when it is used where a value is needed
    // (e.g. "'foo' is undefined").
    static Value undefined(std::string why = {});
    static Value none();
    static Value list(std::vector<Value> items = {});
    static Value tuple(std::vector<Value> items);
    static Value list_of_kind(int kind, std::vector<Value> items);  // kind: List::Kind
    static Value iterator(std::vector<Value> items);
    static Value dict();
    static Value namespace_object();
    static Value function(std::string name, std::function<Value(Interpreter&, CallArgs&)> fn);

    Value() : v_(UndefinedData{}) {}
    Value(bool b) : v_(b) {}
    Value(int i) : v_(static_cast<int64_t>(i)) {}
    Value(int64_t i) : v_(i) {}
    Value(double d) : v_(d) {}
    Value(std::string s) : v_(Str{std::move(s), false}) {}
    Value(std::string_view s) : v_(Str{std::string(s), false}) {}
    Value(const char* s) : v_(Str{std::string(s), false}) {}
    // A markupsafe.Markup string (what |safe and |escape return): adding a plain string to it
    // HTML-escapes that string.
    static Value markup(std::string s);

    Type type() const { return static_cast<Type>(v_.index()); }
    bool is_undefined() const { return type() == Type::Undefined; }
    bool is_none() const { return type() == Type::None; }
    bool is_bool() const { return type() == Type::Bool; }
    bool is_int() const { return type() == Type::Int; }
    bool is_float() const { return type() == Type::Float; }
    bool is_string() const { return type() == Type::String; }
    bool is_list() const { return type() == Type::List; }  // lists, tuples, iterators, views
    bool is_dict() const { return type() == Type::Dict; }  // dicts, namespaces, loop objects
    bool is_function() const { return type() == Type::Function; }
    // Python numbers: bool, int, float.
    bool is_number() const { return is_bool() || is_int() || is_float(); }
    // int or bool (Python bool is an int).
    bool is_integral() const { return is_bool() || is_int(); }
    bool is_tuple() const;
    bool is_plain_dict() const;  // a real dict (a Mapping), not a namespace or loop object
    bool is_namespace() const;

    bool as_bool() const { return std::get<bool>(v_); }
    int64_t as_int() const { return std::get<int64_t>(v_); }
    double as_float() const { return std::get<double>(v_); }
    const std::string& as_string() const { return std::get<Str>(v_).s; }
    bool is_markup() const { return is_string() && std::get<Str>(v_).markup; }
    List& as_list() const { return *std::get<std::shared_ptr<List>>(v_); }
    Dict& as_dict() const { return *std::get<std::shared_ptr<Dict>>(v_); }
    Function& as_function() const { return *std::get<std::shared_ptr<Function>>(v_); }
    // bool/int as int64.
    int64_t integral() const { return is_bool() ? (as_bool() ? 1 : 0) : as_int(); }
    // Any number as double.
    double number() const { return is_float() ? as_float() : static_cast<double>(integral()); }
    // Why an undefined value is undefined.
    std::string undefined_message() const;
    // Identity of shared objects (lists, dicts, functions); nullptr for others.
    const void* identity() const;

private:
    struct UndefinedData {
        std::shared_ptr<const std::string> why;
    };
    struct NoneData {};
    struct Str {
        std::string s;
        bool markup;
    };
    std::variant<UndefinedData, NoneData, bool, int64_t, double, Str, std::shared_ptr<List>,
                 std::shared_ptr<Dict>, std::shared_ptr<Function>>
        v_;
};

struct List {
    // Python's sequence-like types: list, tuple, jinja's _GroupTuple (a tuple with .grouper and
    // .list), one-shot iterators/generators (what select, map, unique, items, reverse, batch
    // return: always true, no len(), not subscriptable, consumed by iteration) and dict views.
    enum class Kind { List, Tuple, Group, Iterator, ItemsView, KeysView, ValuesView };
    Kind kind = Kind::List;
    std::vector<Value> items;

    bool is_tuple() const { return kind == Kind::Tuple || kind == Kind::Group; }
    bool is_iterator() const { return kind == Kind::Iterator; }
    bool is_view() const { return kind == Kind::ItemsView || kind == Kind::KeysView || kind == Kind::ValuesView; }
    // Supports len(), indexing and slicing.
    bool is_sequence() const { return kind == Kind::List || is_tuple(); }
};

struct Dict {
    enum class Kind { Dict, Namespace, Loop };
    Kind kind = Kind::Dict;
    std::vector<std::pair<Value, Value>> items;
    // Called when the object itself is called (loop(...) in recursive loops).
    std::shared_ptr<Function> call;

    const Value* find(const Value& key) const;
    const Value* find(std::string_view key) const;
    const Value* find(const std::string& key) const { return find(std::string_view(key)); }
    const Value* find(const char* key) const { return find(std::string_view(key)); }
    // Python d[key] = value: an existing equal key keeps its place and gets the new value.
    void set(const Value& key, Value value);
    void set(std::string_view key, Value value);
    void set(const std::string& key, Value value) { set(std::string_view(key), std::move(value)); }
    void set(const char* key, Value value) { set(std::string_view(key), std::move(value)); }
};

struct Function {
    std::string name;
    std::function<Value(Interpreter&, CallArgs&)> call;
};

// Python truthiness.
bool truthy(const Value& v);
// Python ==, with Jinja's Undefined (equal only to Undefined).
bool equals(const Value& a, const Value& b);
// Python str(): what {{ v }} prints.
std::string to_str(const Value& v);
// Python repr().
std::string repr(const Value& v);
// Python type name as used in error messages: 'int', 'str', 'NoneType', 'list', 'dict', ...
std::string type_name(const Value& v);
// Jinja's object_type_repr: "None", "dict object", "str object", ...
std::string object_type_repr(const Value& v);
// 'text' in single quotes, for error messages.
std::string quote(std::string_view text);

// Converts parsed JSON (objects keep their key order) to a Value.
Value from_json(const nlohmann::ordered_json& j);

// json.dumps(v, ensure_ascii, indent, separators, sort_keys) exactly as Python writes it.
struct JsonStyle {
    bool ensure_ascii = false;
    std::optional<std::string> indent;  // nullopt: one line
    std::optional<std::pair<std::string, std::string>> separators;  // nullopt: Python's defaults
    bool sort_keys = false;
};
std::string to_json(const Value& v, const JsonStyle& style);

}  // namespace hearth::chat
