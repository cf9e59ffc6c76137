#include "chat/value.h"

#include <algorithm>
#include <cmath>

#include "chat/error.h"
#include "chat/text.h"

namespace hearth::chat {

namespace {

// Guards printing and JSON encoding against self-referencing namespaces.
constexpr int kMaxNesting = 400;

}  // namespace

// ---------------------------------------------------------------------------------------------
// Value

Value Value::undefined(std::string why) {
    Value v;
    if (!why.empty()) v.v_ = UndefinedData{std::make_shared<const std::string>(std::move(why))};
    return v;
}

Value Value::markup(std::string s) {
    Value v;
    v.v_ = Str{std::move(s), true};
    return v;
}

Value Value::none() {
    Value v;
    v.v_ = NoneData{};
    return v;
}

Value Value::list(std::vector<Value> items) {
    Value v;
    auto l = std::make_shared<List>();
    l->items = std::move(items);
    v.v_ = std::move(l);
    return v;
}

Value Value::tuple(std::vector<Value> items) { return list_of_kind(static_cast<int>(List::Kind::Tuple), std::move(items)); }

Value Value::iterator(std::vector<Value> items) {
    return list_of_kind(static_cast<int>(List::Kind::Iterator), std::move(items));
}

Value Value::list_of_kind(int kind, std::vector<Value> items) {
    Value v = list(std::move(items));
    v.as_list().kind = static_cast<List::Kind>(kind);
    return v;
}

Value Value::dict() {
    Value v;
    v.v_ = std::make_shared<Dict>();
    return v;
}

Value Value::namespace_object() {
    Value v = dict();
    v.as_dict().kind = Dict::Kind::Namespace;
    return v;
}

Value Value::function(std::string name, std::function<Value(Interpreter&, CallArgs&)> fn) {
    Value v;
    v.v_ = std::make_shared<Function>(Function{std::move(name), std::move(fn)});
    return v;
}

bool Value::is_tuple() const { return is_list() && as_list().is_tuple(); }
bool Value::is_plain_dict() const { return is_dict() && as_dict().kind == Dict::Kind::Dict; }
bool Value::is_namespace() const { return is_dict() && as_dict().kind == Dict::Kind::Namespace; }

std::string Value::undefined_message() const {
    const auto& why = std::get<UndefinedData>(v_).why;
    return why ? *why : "undefined value";
}

const void* Value::identity() const {
    switch (type()) {
        case Type::List: return std::get<std::shared_ptr<List>>(v_).get();
        case Type::Dict: return std::get<std::shared_ptr<Dict>>(v_).get();
        case Type::Function: return std::get<std::shared_ptr<Function>>(v_).get();
        default: return nullptr;
    }
}

// ---------------------------------------------------------------------------------------------
// Dict

const Value* Dict::find(const Value& key) const {
    if (key.is_string()) return find(std::string_view(key.as_string()));
    for (const auto& [k, v] : items)
        if (equals(k, key)) return &v;
    return nullptr;
}

const Value* Dict::find(std::string_view key) const {
    for (const auto& [k, v] : items)
        if (k.is_string() && k.as_string() == key) return &v;
    return nullptr;
}

void Dict::set(const Value& key, Value value) {
    for (auto& [k, v] : items) {
        if (equals(k, key)) {
            v = std::move(value);
            return;
        }
    }
    items.emplace_back(key, std::move(value));
}

void Dict::set(std::string_view key, Value value) {
    for (auto& [k, v] : items) {
        if (k.is_string() && k.as_string() == key) {
            v = std::move(value);
            return;
        }
    }
    items.emplace_back(Value(key), std::move(value));
}

// ---------------------------------------------------------------------------------------------
// Python semantics

bool truthy(const Value& v) {
    switch (v.type()) {
        case Value::Type::Undefined:
        case Value::Type::None: return false;
        case Value::Type::Bool: return v.as_bool();
        case Value::Type::Int: return v.as_int() != 0;
        case Value::Type::Float: return v.as_float() != 0.0;
        case Value::Type::String: return !v.as_string().empty();
        case Value::Type::List: return v.as_list().is_iterator() || !v.as_list().items.empty();
        case Value::Type::Dict:
            return v.as_dict().kind != Dict::Kind::Dict || !v.as_dict().items.empty();
        case Value::Type::Function: return true;
    }
    return false;
}

bool equals(const Value& a, const Value& b) {
    if (a.is_number() && b.is_number()) {
        if (a.is_integral() && b.is_integral()) return a.integral() == b.integral();
        return a.number() == b.number();
    }
    if (a.type() != b.type()) return false;
    switch (a.type()) {
        case Value::Type::Undefined:
        case Value::Type::None: return true;
        case Value::Type::String: return a.as_string() == b.as_string();
        case Value::Type::List: {
            const List& x = a.as_list();
            const List& y = b.as_list();
            if (&x == &y) return true;
            if (!x.is_sequence() || !y.is_sequence() || x.is_tuple() != y.is_tuple()) return false;
            if (x.items.size() != y.items.size()) return false;
            for (size_t i = 0; i < x.items.size(); ++i)
                if (!equals(x.items[i], y.items[i])) return false;
            return true;
        }
        case Value::Type::Dict: {
            const Dict& x = a.as_dict();
            const Dict& y = b.as_dict();
            if (&x == &y) return true;
            if (x.kind != Dict::Kind::Dict || y.kind != Dict::Kind::Dict) return false;
            if (x.items.size() != y.items.size()) return false;
            for (const auto& [k, v] : x.items) {
                const Value* other = y.find(k);
                if (!other || !equals(v, *other)) return false;
            }
            return true;
        }
        case Value::Type::Function: return a.identity() == b.identity();
        default: return false;
    }
}

std::string type_name(const Value& v) {
    switch (v.type()) {
        case Value::Type::Undefined: return "Undefined";
        case Value::Type::None: return "NoneType";
        case Value::Type::Bool: return "bool";
        case Value::Type::Int: return "int";
        case Value::Type::Float: return "float";
        case Value::Type::String: return "str";
        case Value::Type::List:
            switch (v.as_list().kind) {
                case List::Kind::List: return "list";
                case List::Kind::Tuple: return "tuple";
                case List::Kind::Group: return "_GroupTuple";
                case List::Kind::Iterator: return "generator";
                case List::Kind::ItemsView: return "dict_items";
                case List::Kind::KeysView: return "dict_keys";
                case List::Kind::ValuesView: return "dict_values";
            }
            return "list";
        case Value::Type::Dict:
            switch (v.as_dict().kind) {
                case Dict::Kind::Dict: return "dict";
                case Dict::Kind::Namespace: return "Namespace";
                case Dict::Kind::Loop: return "LoopContext";
            }
            return "dict";
        case Value::Type::Function: return "function";
    }
    return "object";
}

std::string object_type_repr(const Value& v) {
    if (v.is_none()) return "None";
    if (v.is_undefined()) return "jinja2.runtime.Undefined object";
    if (v.is_namespace()) return "jinja2.utils.Namespace object";
    if (v.is_dict() && v.as_dict().kind == Dict::Kind::Loop) return "jinja2.runtime.LoopContext object";
    return type_name(v) + " object";
}

std::string quote(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 2);
    out += '\'';
    out += text;
    out += '\'';
    return out;
}

namespace {

void print(std::string& out, const Value& v, bool as_repr, int depth);

void print_items(std::string& out, const std::vector<Value>& items, int depth) {
    for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += ", ";
        print(out, items[i], true, depth + 1);
    }
}

void print_dict_body(std::string& out, const Dict& d, int depth) {
    out.push_back('{');
    for (size_t i = 0; i < d.items.size(); ++i) {
        if (i) out += ", ";
        print(out, d.items[i].first, true, depth + 1);
        out += ": ";
        print(out, d.items[i].second, true, depth + 1);
    }
    out.push_back('}');
}

void print(std::string& out, const Value& v, bool as_repr, int depth) {
    if (depth > kMaxNesting) {
        out += "...";
        return;
    }
    switch (v.type()) {
        case Value::Type::Undefined:
            if (as_repr) out += "Undefined";
            return;
        case Value::Type::None: out += "None"; return;
        case Value::Type::Bool: out += v.as_bool() ? "True" : "False"; return;
        case Value::Type::Int: out += std::to_string(v.as_int()); return;
        case Value::Type::Float: out += text::float_repr(v.as_float()); return;
        case Value::Type::String:
            if (as_repr && v.is_markup()) {
                out += "Markup(" + text::repr(v.as_string()) + ")";
            } else if (as_repr) {
                out += text::repr(v.as_string());
            } else {
                out += v.as_string();
            }
            return;
        case Value::Type::List: {
            const List& l = v.as_list();
            if (l.is_iterator()) {
                out += "<generator object>";
                return;
            }
            if (l.is_view()) out += type_name(v) + "(";
            out.push_back(l.is_tuple() ? '(' : '[');
            print_items(out, l.items, depth);
            if (l.is_tuple() && l.items.size() == 1) out.push_back(',');
            out.push_back(l.is_tuple() ? ')' : ']');
            if (l.is_view()) out.push_back(')');
            return;
        }
        case Value::Type::Dict: {
            const Dict& d = v.as_dict();
            if (d.kind == Dict::Kind::Namespace) {
                out += "<Namespace ";
                print_dict_body(out, d, depth);
                out += ">";
            } else if (d.kind == Dict::Kind::Loop) {
                const Value* index = d.find("index");
                const Value* length = d.find("length");
                out += "<LoopContext " + (index ? to_str(*index) : "?") + "/" + (length ? to_str(*length) : "?") +
                       ">";
            } else {
                print_dict_body(out, d, depth);
            }
            return;
        }
        case Value::Type::Function: out += "<function " + v.as_function().name + ">"; return;
    }
}

}  // namespace

std::string to_str(const Value& v) {
    if (v.is_string()) return v.as_string();
    std::string out;
    print(out, v, false, 0);
    return out;
}

std::string repr(const Value& v) {
    std::string out;
    print(out, v, true, 0);
    return out;
}

// ---------------------------------------------------------------------------------------------
// JSON

Value from_json(const nlohmann::ordered_json& j) {
    using J = nlohmann::ordered_json::value_t;
    switch (j.type()) {
        case J::null: return Value::none();
        case J::boolean: return Value(j.get<bool>());
        case J::number_integer: return Value(static_cast<int64_t>(j.get<int64_t>()));
        case J::number_unsigned: {
            const uint64_t u = j.get<uint64_t>();
            if (u <= static_cast<uint64_t>(INT64_MAX)) return Value(static_cast<int64_t>(u));
            return Value(static_cast<double>(u));
        }
        case J::number_float: return Value(j.get<double>());
        case J::string: return Value(j.get_ref<const std::string&>());
        case J::array: {
            std::vector<Value> items;
            items.reserve(j.size());
            for (const auto& e : j) items.push_back(from_json(e));
            return Value::list(std::move(items));
        }
        case J::object: {
            Value d = Value::dict();
            auto& items = d.as_dict().items;
            items.reserve(j.size());
            for (const auto& [k, e] : j.items()) items.emplace_back(Value(k), from_json(e));
            return d;
        }
        default: throw TemplateError(TemplateError::Kind::Runtime, "unsupported JSON value (binary data)");
    }
}

namespace {

std::string json_class_name(const Value& v) {
    if (v.is_function()) return "function";
    return type_name(v);
}

bool python_less(const Value& a, const Value& b) {
    if (a.is_number() && b.is_number()) return a.number() < b.number();
    if (a.is_string() && b.is_string()) return a.as_string() < b.as_string();
    runtime_error("'<' not supported between instances of '" + type_name(a) + "' and '" + type_name(b) + "'");
}

class JsonWriter {
public:
    explicit JsonWriter(const JsonStyle& style) : style_(style) {
        if (style.separators) {
            item_sep_ = style.separators->first;
            key_sep_ = style.separators->second;
        } else {
            item_sep_ = style.indent ? "," : ", ";
            key_sep_ = ": ";
        }
    }

    void write(const Value& v, int level) {
        if (level > kMaxNesting) runtime_error("Circular reference detected");
        switch (v.type()) {
            case Value::Type::None: out += "null"; return;
            case Value::Type::Bool: out += v.as_bool() ? "true" : "false"; return;
            case Value::Type::Int: out += std::to_string(v.as_int()); return;
            case Value::Type::Float: write_float(v.as_float()); return;
            case Value::Type::String: text::json_quote(out, v.as_string(), style_.ensure_ascii); return;
            case Value::Type::List:
                if (v.as_list().is_sequence()) {
                    write_list(v.as_list().items, level);
                    return;
                }
                break;
            case Value::Type::Dict:
                if (v.is_plain_dict()) {
                    write_dict(v.as_dict(), level);
                    return;
                }
                break;
            default: break;
        }
        runtime_error("Object of type " + json_class_name(v) + " is not JSON serializable");
    }

    std::string out;

private:
    void write_float(double d) {
        if (std::isnan(d)) {
            out += "NaN";
        } else if (std::isinf(d)) {
            out += d > 0 ? "Infinity" : "-Infinity";
        } else {
            out += text::float_repr(d);
        }
    }

    void newline(int level) {
        out.push_back('\n');
        for (int i = 0; i < level; ++i) out += *style_.indent;
    }

    void write_list(const std::vector<Value>& items, int level) {
        if (items.empty()) {
            out += "[]";
            return;
        }
        out.push_back('[');
        if (style_.indent) newline(level + 1);
        for (size_t i = 0; i < items.size(); ++i) {
            if (i) {
                out += item_sep_;
                if (style_.indent) newline(level + 1);
            }
            write(items[i], level + 1);
        }
        if (style_.indent) newline(level);
        out.push_back(']');
    }

    void write_key(const Value& k) {
        switch (k.type()) {
            case Value::Type::String: text::json_quote(out, k.as_string(), style_.ensure_ascii); return;
            case Value::Type::None: out += "\"null\""; return;
            case Value::Type::Bool: out += k.as_bool() ? "\"true\"" : "\"false\""; return;
            case Value::Type::Int: out += "\"" + std::to_string(k.as_int()) + "\""; return;
            case Value::Type::Float:
                out.push_back('"');
                write_float(k.as_float());
                out.push_back('"');
                return;
            default:
                runtime_error("keys must be str, int, float, bool or None, not " + type_name(k));
        }
    }

    void write_dict(const Dict& d, int level) {
        if (d.items.empty()) {
            out += "{}";
            return;
        }
        std::vector<const std::pair<Value, Value>*> items;
        items.reserve(d.items.size());
        for (const auto& kv : d.items) items.push_back(&kv);
        if (style_.sort_keys)
            std::stable_sort(items.begin(), items.end(),
                             [](const auto* a, const auto* b) { return python_less(a->first, b->first); });
        out.push_back('{');
        if (style_.indent) newline(level + 1);
        for (size_t i = 0; i < items.size(); ++i) {
            if (i) {
                out += item_sep_;
                if (style_.indent) newline(level + 1);
            }
            write_key(items[i]->first);
            out += key_sep_;
            write(items[i]->second, level + 1);
        }
        if (style_.indent) newline(level);
        out.push_back('}');
    }

    const JsonStyle& style_;
    std::string item_sep_;
    std::string key_sep_;
};

}  // namespace

std::string to_json(const Value& v, const JsonStyle& style) {
    JsonWriter w(style);
    w.write(v, 0);
    return std::move(w.out);
}

}  // namespace hearth::chat
