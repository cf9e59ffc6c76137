// Python methods of str, dict, list/tuple and float that templates call, e.g.
// message.content.strip(), content.split('</think>')[-1], tool.items(), d.get('k', 'x').
#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "chat/builtins.h"
#include "chat/error.h"
#include "common/html.h"
#include "chat/operators.h"
#include "chat/text.h"

namespace hearth::chat {

namespace {

using Method = Value (*)(const Value& self, const CallArgs& args);

Value string_list(const std::vector<std::string>& parts) {
    std::vector<Value> out;
    out.reserve(parts.size());
    for (const auto& p : parts) out.emplace_back(p);
    return Value::list(std::move(out));
}

const std::string& str_arg(const Args& a, size_t i, const char* fn) {
    const Value& v = a.get(i);
    if (!v.is_string()) runtime_error(std::string(fn) + "() argument must be str, not " + type_name(v));
    return v.as_string();
}

std::optional<std::string> chars_arg(const Args& a, size_t i, const char* fn) {
    if (!a.has(i) || a.get(i).is_none()) return std::nullopt;
    return str_arg(a, i, fn);
}

// Code-point index range [start, end) of a str method's optional start/end arguments.
void index_range(const Args& a, size_t first, size_t n, size_t* start, size_t* end) {
    auto adjust = [&](size_t i, size_t def) -> size_t {
        if (!a.has(i) || a.get(i).is_none()) return def;
        int64_t v = a.get(i).integral();
        if (v < 0) v = std::max<int64_t>(0, v + static_cast<int64_t>(n));
        return std::min<size_t>(static_cast<size_t>(v), n);
    };
    *start = adjust(first, 0);
    *end = adjust(first + 1, n);
}

// find / rfind / index / rindex / count on code points.
int64_t find_impl(const Value& self, const CallArgs& args, const char* fn, bool reverse) {
    Args a(fn, args, {"sub", "start", "end"}, 1);
    const std::u32string s = text::decode(self.as_string());
    const std::u32string sub = text::decode(str_arg(a, 0, fn));
    size_t start, end;
    index_range(a, 1, s.size(), &start, &end);
    if (start > end || end - start < sub.size()) return -1;
    const std::u32string_view window = std::u32string_view(s).substr(start, end - start);
    const size_t hit = reverse ? window.rfind(sub) : window.find(sub);
    return hit == std::u32string_view::npos ? -1 : static_cast<int64_t>(start + hit);
}

bool affix_matches(const Value& self, const CallArgs& args, const char* fn, bool suffix) {
    Args a(fn, args, {"prefix", "start", "end"}, 1);
    const std::u32string s = text::decode(self.as_string());
    size_t start, end;
    index_range(a, 1, s.size(), &start, &end);
    std::vector<std::u32string> candidates;
    const Value& p = a.get(0);
    if (p.is_string()) {
        candidates.push_back(text::decode(p.as_string()));
    } else if (p.is_tuple()) {
        for (const auto& item : p.as_list().items) {
            if (!item.is_string())
                runtime_error("tuple for " + std::string(fn) + " must only contain str, not " + type_name(item));
            candidates.push_back(text::decode(item.as_string()));
        }
    } else {
        runtime_error(std::string(fn) + " first arg must be str or a tuple of str, not " + type_name(p));
    }
    if (start > end) return false;
    const std::u32string_view window = std::u32string_view(s).substr(start, end - start);
    for (const auto& c : candidates) {
        if (c.size() > window.size()) continue;
        if (suffix ? window.substr(window.size() - c.size()) == c : window.substr(0, c.size()) == c) return true;
    }
    return false;
}

std::string justify(const Value& self, const CallArgs& args, const char* fn, char how) {
    Args a(fn, args, {"width", "fillchar"}, 1);
    const std::string& s = self.as_string();
    const int64_t width = a.get_int(0, 0);
    std::string fill = " ";
    if (a.has(1)) {
        fill = str_arg(a, 1, fn);
        if (text::length(fill) != 1) runtime_error("The fill character must be exactly one character long");
    }
    const auto n = static_cast<int64_t>(text::length(s));
    if (width <= n) return s;
    const int64_t marg = width - n;
    int64_t left = 0;
    if (how == 'c') left = marg / 2 + (marg & width & 1);
    if (how == 'r') left = marg;
    std::string out;
    for (int64_t i = 0; i < left; ++i) out += fill;
    out += s;
    for (int64_t i = 0; i < marg - left; ++i) out += fill;
    return out;
}

template <bool (*Pred)(char32_t)>
Value all_chars(const Value& self, const CallArgs& args, const char* fn) {
    Args(fn, args, {});
    const std::u32string s = text::decode(self.as_string());
    if (s.empty()) return Value(false);
    return Value(std::all_of(s.begin(), s.end(), Pred));
}

const std::unordered_map<std::string, Method>& string_methods() {
    static const std::unordered_map<std::string, Method> m = {
        {"strip", [](const Value& self, const CallArgs& args) {
             Args a("strip", args, {"chars"});
             return Value(text::strip(self.as_string(), chars_arg(a, 0, "strip"), true, true));
         }},
        {"lstrip", [](const Value& self, const CallArgs& args) {
             Args a("lstrip", args, {"chars"});
             return Value(text::strip(self.as_string(), chars_arg(a, 0, "lstrip"), true, false));
         }},
        {"rstrip", [](const Value& self, const CallArgs& args) {
             Args a("rstrip", args, {"chars"});
             return Value(text::strip(self.as_string(), chars_arg(a, 0, "rstrip"), false, true));
         }},
        {"split", [](const Value& self, const CallArgs& args) {
             Args a("split", args, {"sep", "maxsplit"});
             auto sep = chars_arg(a, 0, "split");
             if (sep && sep->empty()) runtime_error("empty separator");
             return string_list(text::split(self.as_string(), sep, a.get_int(1, -1)));
         }},
        {"rsplit", [](const Value& self, const CallArgs& args) {
             Args a("rsplit", args, {"sep", "maxsplit"});
             auto sep = chars_arg(a, 0, "rsplit");
             if (sep && sep->empty()) runtime_error("empty separator");
             return string_list(text::rsplit(self.as_string(), sep, a.get_int(1, -1)));
         }},
        {"splitlines", [](const Value& self, const CallArgs& args) {
             Args a("splitlines", args, {"keepends"});
             return string_list(text::splitlines(self.as_string(), a.get_bool(0, false)));
         }},
        {"startswith", [](const Value& self, const CallArgs& args) {
             return Value(affix_matches(self, args, "startswith", false));
         }},
        {"endswith", [](const Value& self, const CallArgs& args) {
             return Value(affix_matches(self, args, "endswith", true));
         }},
        {"upper", [](const Value& self, const CallArgs& args) {
             Args("upper", args, {});
             return Value(text::upper(self.as_string()));
         }},
        {"lower", [](const Value& self, const CallArgs& args) {
             Args("lower", args, {});
             return Value(text::lower(self.as_string()));
         }},
        {"casefold", [](const Value& self, const CallArgs& args) {
             Args("casefold", args, {});
             return Value(text::lower(self.as_string()));
         }},
        {"title", [](const Value& self, const CallArgs& args) {
             Args("title", args, {});
             return Value(text::title(self.as_string()));
         }},
        {"capitalize", [](const Value& self, const CallArgs& args) {
             Args("capitalize", args, {});
             return Value(text::capitalize(self.as_string()));
         }},
        {"swapcase", [](const Value& self, const CallArgs& args) {
             Args("swapcase", args, {});
             return Value(text::swapcase(self.as_string()));
         }},
        {"replace", [](const Value& self, const CallArgs& args) {
             Args a("replace", args, {"old", "new", "count"}, 2);
             return Value(text::replace(self.as_string(), str_arg(a, 0, "replace"), str_arg(a, 1, "replace"),
                                        a.get_int(2, -1)));
         }},
        {"find", [](const Value& self, const CallArgs& args) { return Value(find_impl(self, args, "find", false)); }},
        {"rfind", [](const Value& self, const CallArgs& args) { return Value(find_impl(self, args, "rfind", true)); }},
        {"index", [](const Value& self, const CallArgs& args) {
             const int64_t i = find_impl(self, args, "index", false);
             if (i < 0) runtime_error("substring not found");
             return Value(i);
         }},
        {"rindex", [](const Value& self, const CallArgs& args) {
             const int64_t i = find_impl(self, args, "rindex", true);
             if (i < 0) runtime_error("substring not found");
             return Value(i);
         }},
        {"count", [](const Value& self, const CallArgs& args) {
             Args a("count", args, {"sub", "start", "end"}, 1);
             const std::u32string s = text::decode(self.as_string());
             const std::u32string sub = text::decode(str_arg(a, 0, "count"));
             size_t start, end;
             index_range(a, 1, s.size(), &start, &end);
             if (start > end) return Value(0);
             const std::u32string_view w = std::u32string_view(s).substr(start, end - start);
             if (sub.empty()) return Value(static_cast<int64_t>(w.size() + 1));
             int64_t n = 0;
             for (size_t p = w.find(sub); p != std::u32string_view::npos; p = w.find(sub, p + sub.size())) ++n;
             return Value(n);
         }},
        {"format", [](const Value& self, const CallArgs& args) {
             return Value(ops::str_format(self.as_string(), args.positional, args.keyword));
         }},
        {"join", [](const Value& self, const CallArgs& args) {
             Args a("join", args, {"iterable"}, 1);
             std::string out;
             size_t i = 0;
             for (const Value& item : ops::iterate(a.get(0))) {
                 if (!item.is_string())
                     runtime_error("sequence item " + std::to_string(i) + ": expected str instance, " +
                                   type_name(item) + " found");
                 if (i++) out += self.as_string();
                 out += item.as_string();
             }
             return Value(std::move(out));
         }},
        {"isdigit", [](const Value& self, const CallArgs& args) {
             return all_chars<text::is_digit>(self, args, "isdigit");
         }},
        {"isdecimal", [](const Value& self, const CallArgs& args) {
             return all_chars<text::is_digit>(self, args, "isdecimal");
         }},
        {"isnumeric", [](const Value& self, const CallArgs& args) {
             return all_chars<text::is_digit>(self, args, "isnumeric");
         }},
        {"isalpha", [](const Value& self, const CallArgs& args) {
             return all_chars<text::is_alpha>(self, args, "isalpha");
         }},
        {"isalnum", [](const Value& self, const CallArgs& args) {
             return all_chars<text::is_alnum>(self, args, "isalnum");
         }},
        {"isspace", [](const Value& self, const CallArgs& args) {
             return all_chars<text::is_space>(self, args, "isspace");
         }},
        {"islower", [](const Value& self, const CallArgs& args) {
             Args("islower", args, {});
             return Value(text::is_lower(self.as_string()));
         }},
        {"isupper", [](const Value& self, const CallArgs& args) {
             Args("isupper", args, {});
             return Value(text::is_upper(self.as_string()));
         }},
        {"istitle", [](const Value& self, const CallArgs& args) {
             Args("istitle", args, {});
             return Value(text::is_title(self.as_string()));
         }},
        {"expandtabs", [](const Value& self, const CallArgs& args) {
             Args a("expandtabs", args, {"tabsize"});
             return Value(text::expand_tabs(self.as_string(), a.get_int(0, 8)));
         }},
        {"center", [](const Value& self, const CallArgs& args) { return Value(justify(self, args, "center", 'c')); }},
        {"ljust", [](const Value& self, const CallArgs& args) { return Value(justify(self, args, "ljust", 'l')); }},
        {"rjust", [](const Value& self, const CallArgs& args) { return Value(justify(self, args, "rjust", 'r')); }},
        {"zfill", [](const Value& self, const CallArgs& args) {
             Args a("zfill", args, {"width"}, 1);
             std::string s = self.as_string();
             const int64_t width = a.get_int(0, 0);
             const auto n = static_cast<int64_t>(text::length(s));
             if (width <= n) return Value(s);
             const size_t at = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
             s.insert(at, std::string(static_cast<size_t>(width - n), '0'));
             return Value(s);
         }},
        {"partition", [](const Value& self, const CallArgs& args) {
             Args a("partition", args, {"sep"}, 1);
             const std::string& sep = str_arg(a, 0, "partition");
             if (sep.empty()) runtime_error("empty separator");
             const std::string& s = self.as_string();
             const size_t p = s.find(sep);
             if (p == std::string::npos) return Value::tuple({Value(s), Value(""), Value("")});
             return Value::tuple({Value(s.substr(0, p)), Value(sep), Value(s.substr(p + sep.size()))});
         }},
        {"rpartition", [](const Value& self, const CallArgs& args) {
             Args a("rpartition", args, {"sep"}, 1);
             const std::string& sep = str_arg(a, 0, "rpartition");
             if (sep.empty()) runtime_error("empty separator");
             const std::string& s = self.as_string();
             const size_t p = s.rfind(sep);
             if (p == std::string::npos) return Value::tuple({Value(""), Value(""), Value(s)});
             return Value::tuple({Value(s.substr(0, p)), Value(sep), Value(s.substr(p + sep.size()))});
         }},
        {"removeprefix", [](const Value& self, const CallArgs& args) {
             Args a("removeprefix", args, {"prefix"}, 1);
             const std::string& p = str_arg(a, 0, "removeprefix");
             const std::string& s = self.as_string();
             return Value(s.compare(0, p.size(), p) == 0 ? s.substr(p.size()) : s);
         }},
        {"removesuffix", [](const Value& self, const CallArgs& args) {
             Args a("removesuffix", args, {"suffix"}, 1);
             const std::string& p = str_arg(a, 0, "removesuffix");
             const std::string& s = self.as_string();
             if (!p.empty() && s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0)
                 return Value(s.substr(0, s.size() - p.size()));
             return Value(s);
         }},
    };
    return m;
}

Value dict_view(const Value& self, List::Kind kind) {
    std::vector<Value> items;
    for (const auto& [k, v] : self.as_dict().items) {
        if (kind == List::Kind::ItemsView) {
            items.push_back(Value::tuple({k, v}));
        } else {
            items.push_back(kind == List::Kind::KeysView ? k : v);
        }
    }
    return Value::list_of_kind(static_cast<int>(kind), std::move(items));
}

const std::unordered_map<std::string, Method>& dict_methods() {
    static const std::unordered_map<std::string, Method> m = {
        {"items", [](const Value& self, const CallArgs& args) {
             Args("items", args, {});
             return dict_view(self, List::Kind::ItemsView);
         }},
        {"keys", [](const Value& self, const CallArgs& args) {
             Args("keys", args, {});
             return dict_view(self, List::Kind::KeysView);
         }},
        {"values", [](const Value& self, const CallArgs& args) {
             Args("values", args, {});
             return dict_view(self, List::Kind::ValuesView);
         }},
        {"get", [](const Value& self, const CallArgs& args) {
             if (!args.keyword.empty()) runtime_error("get() takes no keyword arguments");
             Args a("get", args, {"key", "default"}, 1);
             const Value& key = a.get(0);
             if ((key.is_list() && !key.is_tuple()) || key.is_plain_dict())
                 runtime_error("unhashable type: '" + type_name(key) + "'");
             if (const Value* v = self.as_dict().find(key)) return *v;
             return a.get_or(1, Value::none());
         }},
        {"copy", [](const Value& self, const CallArgs& args) {
             Args("copy", args, {});
             Value d = Value::dict();
             d.as_dict().items = self.as_dict().items;
             return d;
         }},
    };
    return m;
}

const std::unordered_map<std::string, Method>& list_methods() {
    static const std::unordered_map<std::string, Method> m = {
        {"count", [](const Value& self, const CallArgs& args) {
             Args a("count", args, {"value"}, 1);
             int64_t n = 0;
             for (const auto& item : self.as_list().items) n += equals(item, a.get(0)) ? 1 : 0;
             return Value(n);
         }},
        {"index", [](const Value& self, const CallArgs& args) {
             Args a("index", args, {"value"}, 1);
             const auto& items = self.as_list().items;
             for (size_t i = 0; i < items.size(); ++i)
                 if (equals(items[i], a.get(0))) return Value(static_cast<int64_t>(i));
             runtime_error(repr(a.get(0)) + " is not in list");
         }},
        {"copy", [](const Value& self, const CallArgs& args) {
             Args("copy", args, {});
             return Value::list(self.as_list().items);
         }},
    };
    return m;
}

Value bind_method(const std::string& name, const Value& self, Method method) {
    return Value::function(name, [self, method](Interpreter&, CallArgs& args) { return method(self, args); });
}

// markupsafe.Markup's methods: most return Markup; replace/ljust/rjust/center escape their
// string argument, join escapes the items and format escapes each field.
bool returns_markup(const std::string& name) {
    static const char* const names[] = {"capitalize", "title",     "lower",        "upper",        "replace",
                                        "ljust",      "rjust",     "lstrip",       "rstrip",       "center",
                                        "strip",      "swapcase",  "zfill",        "casefold",     "removeprefix",
                                        "removesuffix", "partition", "rpartition", "split",        "rsplit",
                                        "splitlines", "join",      "format",       "expandtabs"};
    return std::find(std::begin(names), std::end(names), name) != std::end(names);
}

Value escaped(const Value& v) { return v.is_markup() ? v : Value::markup(html_escape(to_str(v))); }

Value as_markup(const Value& r) {
    if (r.is_string()) return Value::markup(r.as_string());
    if (r.is_list()) {
        std::vector<Value> items;
        for (const Value& item : r.as_list().items) items.push_back(as_markup(item));
        return Value::list_of_kind(static_cast<int>(r.as_list().kind), std::move(items));
    }
    return r;
}

Value bind_markup_method(const std::string& name, const Value& self, Method method) {
    return Value::function(name, [name, self, method](Interpreter&, CallArgs& args) {
        if (name == "format") return Value::markup(ops::str_format(self.as_string(), args.positional, args.keyword, true));
        CallArgs a = args;
        if ((name == "replace" || name == "ljust" || name == "rjust" || name == "center") && a.positional.size() > 1)
            a.positional[1] = escaped(a.positional[1]);
        if (name == "join" && !a.positional.empty()) {
            std::vector<Value> items;
            for (const Value& item : ops::iterate(a.positional[0])) items.push_back(escaped(item));
            a.positional[0] = Value::list(std::move(items));
        }
        return as_markup(method(self, a));
    });
}

Value unsafe(const std::string& attr, const Value& obj) {
    return Value::undefined("access to attribute '" + attr + "' of '" + type_name(obj) + "' object is unsafe.");
}

}  // namespace

std::optional<Value> bound_method(const Value& obj, const std::string& name) {
    switch (obj.type()) {
        case Value::Type::String: {
            const auto& m = string_methods();
            const auto it = m.find(name);
            if (it == m.end()) return std::nullopt;
            if (obj.is_markup() && returns_markup(name)) return bind_markup_method(name, obj, it->second);
            return bind_method(name, obj, it->second);
        }
        case Value::Type::Dict: {
            if (!obj.is_plain_dict()) return std::nullopt;
            const auto& m = dict_methods();
            if (auto it = m.find(name); it != m.end()) return bind_method(name, obj, it->second);
            if (name == "clear" || name == "pop" || name == "popitem" || name == "setdefault" || name == "update")
                return unsafe(name, obj);
            return std::nullopt;
        }
        case Value::Type::List: {
            const List& l = obj.as_list();
            if (!l.is_sequence()) return std::nullopt;
            if (name == "count" || name == "index" || (name == "copy" && !l.is_tuple()))
                return bind_method(name, obj, list_methods().at(name));
            if (!l.is_tuple() && (name == "append" || name == "clear" || name == "extend" || name == "insert" ||
                                  name == "pop" || name == "remove" || name == "reverse" || name == "sort"))
                return unsafe(name, obj);
            return std::nullopt;
        }
        case Value::Type::Float:
            if (name == "is_integer") {
                return bind_method(name, obj, [](const Value& self, const CallArgs& args) {
                    Args("is_integer", args, {});
                    const double d = self.as_float();
                    return Value(std::isfinite(d) && d == std::floor(d));
                });
            }
            return std::nullopt;
        default: return std::nullopt;
    }
}

}  // namespace hearth::chat
