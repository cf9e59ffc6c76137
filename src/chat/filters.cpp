// jinja2's built-in filters, plus tojson as Hugging Face transformers replaces it:
//   json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)
// Filters that return generators in jinja2 (map, select, reject, selectattr, rejectattr, unique,
// items, batch, slice, reverse) return one-shot iterator values here, which behave the same way
// (always true, no length, consumed by the first loop over them).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <unordered_map>

#include "chat/builtins.h"
#include "chat/error.h"
#include "common/html.h"
#include "chat/interpreter.h"
#include "chat/operators.h"
#include "chat/text.h"

namespace hearth::chat {

namespace {

// -- helpers ----------------------------------------------------------------------------------

// The parts of an attribute path "a.b.0": names, and digits as integers.
std::vector<Value> attribute_parts(const Value& attribute) {
    std::vector<Value> parts;
    if (attribute.is_none() || attribute.is_undefined()) return parts;
    if (!attribute.is_string()) {
        parts.push_back(attribute);
        return parts;
    }
    for (const std::string& p : text::split(attribute.as_string(), std::string("."), -1)) {
        const bool digits = !p.empty() && std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; });
        if (digits && p.size() < 18) {
            parts.emplace_back(static_cast<int64_t>(std::stoll(p)));
        } else {
            parts.emplace_back(p);
        }
    }
    return parts;
}

// jinja2's make_attrgetter.
Value get_path(Interpreter& interp, Value item, const std::vector<Value>& parts, const Value* fallback = nullptr) {
    for (const Value& part : parts) {
        item = interp.getitem(item, part);
        if (fallback && !fallback->is_none() && item.is_undefined()) item = *fallback;
    }
    return item;
}

Value ignore_case(const Value& v) { return v.is_string() ? Value(text::lower(v.as_string())) : v; }

// Lexicographic Python < on key vectors.
bool keys_less(const std::vector<Value>& a, const std::vector<Value>& b) {
    for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
        if (equals(a[i], b[i])) continue;
        return ops::less(a[i], b[i]);
    }
    return a.size() < b.size();
}

// Python sorted(items, key=..., reverse=...): stable in both directions.
std::vector<Value> sorted_by(std::vector<Value> items, const std::vector<std::vector<Value>>& keys, bool reverse) {
    std::vector<size_t> order(items.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
        return reverse ? keys_less(keys[y], keys[x]) : keys_less(keys[x], keys[y]);
    });
    std::vector<Value> out;
    out.reserve(items.size());
    for (size_t i : order) out.push_back(std::move(items[i]));
    return out;
}

// soft_str(v).method(): Markup in, Markup out.
Value like(const Value& in, std::string out) { return in.is_markup() ? Value::markup(std::move(out)) : Value(std::move(out)); }

CallArgs rest_args(const CallArgs& args, size_t skip) {
    CallArgs rest;
    for (size_t i = skip; i < args.positional.size(); ++i) rest.positional.push_back(args.positional[i]);
    rest.keyword = args.keyword;
    return rest;
}

// select / reject / selectattr / rejectattr.
Value select_or_reject(Interpreter& interp, const Value& value, const CallArgs& args, bool select, bool by_attr,
                       const char* name) {
    if (!truthy(value)) return Value::iterator({});
    size_t off = 0;
    std::vector<Value> parts;
    if (by_attr) {
        if (args.positional.empty()) runtime_error(std::string(name) + ": missing parameter for attribute name");
        parts = attribute_parts(args.positional[0]);
        off = 1;
    }
    const bool has_test = args.positional.size() > off;
    std::string test;
    if (has_test) test = to_str(args.positional[off]);
    std::vector<Value> out;
    for (Value& item : ops::iterate(value)) {
        const Value probe = by_attr ? get_path(interp, item, parts) : item;
        bool ok;
        if (has_test) {
            CallArgs test_args = rest_args(args, off + 1);
            ok = interp.call_test(test, probe, test_args);
        } else {
            ok = truthy(probe);
        }
        if (ok == select) out.push_back(std::move(item));
    }
    return Value::iterator(std::move(out));
}

Value min_or_max(Interpreter& interp, const Value& value, const CallArgs& args, bool want_max, const char* name) {
    Args a(name, args, {"case_sensitive", "attribute"});
    std::vector<Value> items = ops::iterate(value);
    if (items.empty()) return Value::undefined("No aggregated item, sequence was empty.");
    const bool case_sensitive = a.get_bool(0, false);
    const std::vector<Value> parts = attribute_parts(a.get_or(1, Value::none()));
    auto key = [&](const Value& v) {
        Value k = get_path(interp, v, parts);
        return case_sensitive ? k : ignore_case(k);
    };
    size_t best = 0;
    Value best_key = key(items[0]);
    for (size_t i = 1; i < items.size(); ++i) {
        Value k = key(items[i]);
        if (want_max ? ops::less(best_key, k) : ops::less(k, best_key)) {
            best = i;
            best_key = std::move(k);
        }
    }
    return items[best];
}

// Python int(str, base): optional sign, underscores between digits, base prefix.
std::optional<int64_t> parse_int(const std::string& raw, int base) {
    std::string s = text::strip(raw, std::nullopt, true, true);
    bool neg = false;
    if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        s.erase(0, 1);
    }
    if (s.size() > 2 && s[0] == '0') {
        const char p = static_cast<char>(s[1] | 0x20);
        const int prefixed = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 0;
        if (prefixed && (base == prefixed || base == 0)) {
            s.erase(0, 2);
            if (!s.empty() && s[0] == '_') s.erase(0, 1);
            base = prefixed;
        }
    }
    if (base == 0) base = 10;
    if (s.empty() || s.front() == '_' || s.back() == '_' || s.find("__") != std::string::npos) return std::nullopt;
    s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
    int64_t v = 0;
    for (char c : s) {
        const char l = static_cast<char>(c | 0x20);
        int d;
        if (c >= '0' && c <= '9') {
            d = c - '0';
        } else if (l >= 'a' && l <= 'z') {
            d = l - 'a' + 10;
        } else {
            return std::nullopt;
        }
        if (d >= base) return std::nullopt;
        if (__builtin_mul_overflow(v, base, &v) || __builtin_add_overflow(v, d, &v)) return std::nullopt;
    }
    return neg ? -v : v;
}

// Python float(str).
std::optional<double> parse_float(const std::string& raw) {
    std::string s = text::strip(raw, std::nullopt, true, true);
    std::string lower = text::lower(s);
    std::string body = lower;
    double sign = 1;
    if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
        sign = body[0] == '-' ? -1 : 1;
        body.erase(0, 1);
    }
    if (body == "inf" || body == "infinity") return sign * HUGE_VAL;
    if (body == "nan") return std::nan("");
    if (body.empty() || body.front() == '_' || body.back() == '_') return std::nullopt;
    std::string clean;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '_') {
            const bool between = i > 0 && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i - 1])) &&
                                 std::isdigit(static_cast<unsigned char>(s[i + 1]));
            if (!between) return std::nullopt;
            continue;
        }
        clean.push_back(s[i]);
    }
    for (char c : clean)
        if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'))
            return std::nullopt;
    char* end = nullptr;
    const double v = std::strtod(clean.c_str(), &end);
    if (end != clean.c_str() + clean.size() || clean.empty()) return std::nullopt;
    return v;
}

std::string url_quote(const std::string& s, bool for_qs) {
    static const std::string safe_chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-~";
    std::string out;
    char buf[8];
    for (char ch : s) {
        const unsigned char c = static_cast<unsigned char>(ch);
        if (safe_chars.find(ch) != std::string::npos || (!for_qs && ch == '/')) {
            out.push_back(ch);
        } else if (for_qs && ch == ' ') {
            out.push_back('+');
        } else {
            std::snprintf(buf, sizeof buf, "%%%02X", c);
            out += buf;
        }
    }
    return out;
}

std::string strip_tags(const std::string& s) {
    std::string noc;
    size_t i = 0;
    while (i < s.size()) {
        if (s.compare(i, 4, "<!--") == 0) {
            const size_t e = s.find("-->", i + 4);
            if (e == std::string::npos) {
                noc += s.substr(i);
                break;
            }
            i = e + 3;
        } else if (s[i] == '<') {
            const size_t e = s.find('>', i + 1);
            if (e == std::string::npos) {
                noc += s.substr(i);
                break;
            }
            i = e + 1;
        } else {
            noc.push_back(s[i++]);
        }
    }
    std::string joined;
    for (const auto& w : text::split(noc, std::nullopt, -1)) {
        if (!joined.empty()) joined.push_back(' ');
        joined += w;
    }
    std::string out;
    for (size_t k = 0; k < joined.size();) {
        if (joined[k] == '&') {
            const size_t semi = joined.find(';', k);
            if (semi != std::string::npos && semi - k <= 10) {
                const std::string ent = joined.substr(k + 1, semi - k - 1);
                std::optional<char32_t> c;
                if (ent == "amp") c = '&';
                if (ent == "lt") c = '<';
                if (ent == "gt") c = '>';
                if (ent == "quot") c = '"';
                if (ent == "apos") c = '\'';
                if (ent == "nbsp") c = 0xA0;
                if (ent.size() > 1 && ent[0] == '#') {
                    const bool hex = ent[1] == 'x' || ent[1] == 'X';
                    if (auto v = parse_int(ent.substr(hex ? 2 : 1), hex ? 16 : 10)) c = static_cast<char32_t>(*v);
                }
                if (c) {
                    text::append_utf8(out, *c);
                    k = semi + 1;
                    continue;
                }
            }
        }
        out.push_back(joined[k++]);
    }
    return out;
}

// Greedy word wrap in the spirit of Python's textwrap.wrap as jinja's wordwrap filter calls it.
std::string word_wrap(const std::string& s, int64_t width, bool break_long, const std::string& wrapstring) {
    std::vector<std::string> lines_out;
    for (const std::string& line : text::splitlines(s, false)) {
        std::vector<std::string> wrapped;
        std::u32string current;
        for (const std::string& word_utf8 : text::split(line, std::nullopt, -1)) {
            std::u32string word = text::decode(word_utf8);
            while (true) {
                const size_t need = current.empty() ? word.size() : current.size() + 1 + word.size();
                if (static_cast<int64_t>(need) <= width) {
                    if (!current.empty()) current.push_back(' ');
                    current += word;
                    break;
                }
                if (!current.empty()) {
                    wrapped.push_back(text::encode(current));
                    current.clear();
                    continue;
                }
                if (break_long && width > 0) {
                    wrapped.push_back(text::encode(word.substr(0, static_cast<size_t>(width))));
                    word.erase(0, static_cast<size_t>(width));
                    if (word.empty()) break;
                    continue;
                }
                current = word;
                break;
            }
        }
        if (!current.empty()) wrapped.push_back(text::encode(current));
        std::string joined;
        for (size_t i = 0; i < wrapped.size(); ++i) {
            if (i) joined += wrapstring;
            joined += wrapped[i];
        }
        lines_out.push_back(joined);
    }
    std::string out;
    for (size_t i = 0; i < lines_out.size(); ++i) {
        if (i) out += wrapstring;
        out += lines_out[i];
    }
    return out;
}

// Python round(x, n) for floats: correctly rounded, ties to even on the exact binary value.
double round_float(double x, int64_t n) {
    if (!std::isfinite(x)) return x;
    if (n >= 0) {
        if (n > 300) return x;
        char buf[512];
        std::snprintf(buf, sizeof buf, "%.*f", static_cast<int>(n), x);
        return std::strtod(buf, nullptr);
    }
    const double p = std::pow(10.0, static_cast<double>(-n));
    const double y = x / p;
    double r = std::nearbyint(y);
    return r * p;
}

// -- the table --------------------------------------------------------------------------------

using FilterMap = std::unordered_map<std::string, FilterFn>;

void add_string_filters(FilterMap& m) {
    m["upper"] = [](Interpreter&, const Value& v, CallArgs& args) {
        Args("upper", args, {});
        return like(v, text::upper(to_str(v)));
    };
    m["lower"] = [](Interpreter&, const Value& v, CallArgs& args) {
        Args("lower", args, {});
        return like(v, text::lower(to_str(v)));
    };
    m["capitalize"] = [](Interpreter&, const Value& v, CallArgs& args) {
        Args("capitalize", args, {});
        return like(v, text::capitalize(to_str(v)));
    };
    m["title"] = [](Interpreter&, const Value& v, CallArgs& args) {
        Args("title", args, {});
        // jinja2 splits on runs of "-", whitespace and opening brackets, then capitalizes each
        // piece's first character and lowercases the rest.
        const std::u32string s = text::decode(to_str(v));
        auto is_sep = [](char32_t c) { return c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || text::is_space(c); };
        std::string out;
        size_t i = 0;
        while (i < s.size()) {
            size_t j = i;
            const bool sep = is_sep(s[i]);
            while (j < s.size() && is_sep(s[j]) == sep) ++j;
            const std::string first = text::encode(std::u32string_view(s).substr(i, 1));
            const std::string rest = text::encode(std::u32string_view(s).substr(i + 1, j - i - 1));
            out += text::upper(first) + text::lower(rest);
            i = j;
        }
        return Value(std::move(out));
    };
    m["trim"] = [](Interpreter&, const Value& v, CallArgs& args) {
        Args a("trim", args, {"chars"});
        return like(v, text::strip(to_str(v), a.get_opt_string(0), true, true));
    };
    m["replace"] = [](Interpreter&, const Value& v, CallArgs& args) {
        Args a("replace", args, {"old", "new", "count"}, 2);
        return Value(text::replace(to_str(v), to_str(a.get(0)), to_str(a.get(1)), a.get_int(2, -1)));
    };
    m["string"] = [](Interpreter&, const Value& v, CallArgs& args) {
        Args("string", args, {});
        return v.is_markup() ? v : Value(to_str(v));
    };
    m["safe"] = [](Interpreter&, const Value& v, CallArgs& args) {
        Args("safe", args, {});
        return v.is_markup() ? v : Value::markup(to_str(v));
    };
    for (const char* name : {"e", "escape"}) {
        m[name] = [name](Interpreter&, const Value& v, CallArgs& args) {
            Args(name, args, {});
            return v.is_markup() ? v : Value::markup(html_escape(to_str(v)));
        };
    }
    m["forceescape"] = [](Interpreter&, const Value& v, CallArgs& args) {
        Args("forceescape", args, {});
        return Value::markup(html_escape(to_str(v)));
    };
    m["striptags"] = [](Interpreter&, const Value& v, CallArgs& args) {
        Args("striptags", args, {});
        return Value(strip_tags(to_str(v)));
    };
    m["center"] = [](Interpreter&, const Value& v, CallArgs& args) {
        Args a("center", args, {"width"});
        const std::string s = to_str(v);
        const int64_t width = a.get_int(0, 80);
        const auto n = static_cast<int64_t>(text::length(s));
        if (width <= n) return like(v, s);
        const int64_t marg = width - n;
        const int64_t left = marg / 2 + (marg & width & 1);
        return like(v, std::string(static_cast<size_t>(left), ' ') + s + std::string(static_cast<size_t>(marg - left), ' '));
    };
    m["indent"] = [](Interpreter&, const Value& v, CallArgs& args) {
        Args a("indent", args, {"width", "first", "blank"});
        std::string indention;
        if (a.has(0) && a.get(0).is_string()) {
            indention = a.get(0).as_string();
        } else {
            indention = std::string(static_cast<size_t>(std::max<int64_t>(0, a.get_int(0, 4))), ' ');
        }
        const bool first = a.get_bool(1, false), blank = a.get_bool(2, false);
        // jinja2 appends "\n" to the value itself before splitting lines: only strings work.
        if (v.is_undefined()) runtime_error(v.undefined_message());
        if (!v.is_string()) runtime_error("unsupported operand type(s) for +=: " + quote(type_name(v)) + " and 'str'");
        const std::string s = v.as_string() + "\n";
        const std::vector<std::string> lines = text::splitlines(s, false);
        std::string rv;
        if (blank) {
            for (size_t i = 0; i < lines.size(); ++i) {
                if (i) rv += "\n" + indention;
                rv += lines[i];
            }
        } else {
            rv = lines.empty() ? "" : lines[0];
            for (size_t i = 1; i < lines.size(); ++i) {
                rv += '\n';
                if (!lines[i].empty()) rv += indention + lines[i];
            }
        }
        if (first) rv = indention + rv;
        return like(v, std::move(rv));
    };
    m["truncate"] = [](Interpreter&, const Value& v, CallArgs& args) {
        Args a("truncate", args, {"length", "killwords", "end", "leeway"});
        const int64_t length = a.get_int(0, 255);
        const bool killwords = a.get_bool(1, false);
        const std::string end = a.has(2) ? to_str(a.get(2)) : "...";
        const int64_t leeway = a.get_int(3, 5);
        const auto end_len = static_cast<int64_t>(text::length(end));
        if (length < end_len) runtime_error("expected length >= " + std::to_string(end_len) + ", got " + std::to_string(length));
        // jinja2 measures and slices the value itself, so a short non-string comes back as is.
        if (ops::length(v) <= length + leeway) return v;
        if (!v.is_string()) runtime_error(quote(type_name(v)) + " object has no attribute 'rsplit'");
        const std::u32string s = text::decode(v.as_string());
        const std::string head = text::encode(std::u32string_view(s).substr(0, static_cast<size_t>(length - end_len)));
        if (killwords) return Value(head + end);
        return Value(text::rsplit(head, std::string(" "), 1)[0] + end);
    };
    m["wordcount"] = [](Interpreter&, const Value& v, CallArgs& args) {
        Args("wordcount", args, {});
        int64_t n = 0;
        bool in_word = false;
        for (char32_t c : text::decode(to_str(v))) {
            const bool w = text::is_word(c);
            if (w && !in_word) ++n;
            in_word = w;
        }
        return Value(n);
    };
    m["wordwrap"] = [](Interpreter&, const Value& v, CallArgs& args) {
        Args a("wordwrap", args, {"width", "break_long_words", "wrapstring", "break_on_hyphens"});
        return Value(word_wrap(to_str(v), a.get_int(0, 79), a.get_bool(1, true), a.get_opt_string(2).value_or("\n")));
    };
    m["format"] = [](Interpreter&, const Value& v, CallArgs& args) {
        if (!args.positional.empty() && !args.keyword.empty())
            runtime_error("can't handle positional and keyword arguments at the same time");
        if (!args.keyword.empty()) {
            Value d = Value::dict();
            for (const auto& [k, x] : args.keyword) d.as_dict().set(k, x);
            return like(v, ops::percent_format(to_str(v), d, v.is_markup()));
        }
        return like(v, ops::percent_format(to_str(v), Value::tuple(args.positional), v.is_markup()));
    };
    m["urlencode"] = [](Interpreter&, const Value& v, CallArgs& args) {
        Args("urlencode", args, {});
        if (v.is_string() || !(v.is_list() || v.is_dict())) return Value(url_quote(to_str(v), false));
        std::string out;
        std::vector<Value> pairs;
        if (v.is_plain_dict()) {
            for (const auto& [k, x] : v.as_dict().items) pairs.push_back(Value::tuple({k, x}));
        } else {
            pairs = ops::iterate(v);
        }
        for (const Value& p : pairs) {
            const std::vector<Value> kv = ops::iterate(p);
            if (kv.size() != 2) runtime_error("urlencode expects (key, value) pairs");
            if (!out.empty()) out += "&";
            out += url_quote(to_str(kv[0]), true) + "=" + url_quote(to_str(kv[1]), true);
        }
        return Value(std::move(out));
    };
    m["filesizeformat"] = [](Interpreter&, const Value& v, CallArgs& args) {
        Args a("filesizeformat", args, {"binary"});
        const bool binary = a.get_bool(0, false);
        double bytes;
        if (v.is_number()) {
            bytes = v.number();
        } else if (auto f = parse_float(to_str(v))) {
            bytes = *f;
        } else {
            runtime_error("could not convert string to float: " + repr(v));
        }
        const double base = binary ? 1024 : 1000;
        static const char* dec[] = {"kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
        static const char* bin[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"};
        if (bytes == 1) return Value("1 Byte");
        if (bytes < base) return Value(std::to_string(static_cast<int64_t>(bytes)) + " Bytes");
        char buf[64];
        double unit = base;
        for (int i = 0; i < 8; ++i) {
            unit = std::pow(base, i + 2);
            if (bytes < unit || i == 7) {
                std::snprintf(buf, sizeof buf, "%.1f %s", base * bytes / unit, binary ? bin[i] : dec[i]);
                break;
            }
        }
        return Value(std::string(buf));
    };
}

void add_number_filters(FilterMap& m) {
    m["abs"] = [](Interpreter&, const Value& v, CallArgs& args) {
        Args("abs", args, {});
        if (v.is_integral()) {
            if (v.integral() == INT64_MIN) runtime_error("integer overflow");
            return Value(v.integral() < 0 ? -v.integral() : v.integral());
        }
        if (v.is_float()) return Value(std::fabs(v.as_float()));
        if (v.is_undefined()) runtime_error(v.undefined_message());
        runtime_error("bad operand type for abs(): '" + type_name(v) + "'");
    };
    m["int"] = [](Interpreter&, const Value& v, CallArgs& args) {
        Args a("int", args, {"default", "base"});
        const Value fallback = a.get_or(0, Value(0));
        if (v.is_undefined()) runtime_error(v.undefined_message());
        if (v.is_integral()) return Value(v.integral());
        if (v.is_float()) {
            const double d = v.as_float();
            if (!std::isfinite(d) || std::fabs(d) >= 9.2e18) return fallback;
            return Value(static_cast<int64_t>(std::trunc(d)));
        }
        if (v.is_string()) {
            if (auto i = parse_int(v.as_string(), static_cast<int>(a.get_int(1, 10)))) return Value(*i);
            if (auto f = parse_float(v.as_string())) {
                if (std::isfinite(*f) && std::fabs(*f) < 9.2e18) return Value(static_cast<int64_t>(std::trunc(*f)));
            }
        }
        return fallback;
    };
    m["float"] = [](Interpreter&, const Value& v, CallArgs& args) {
        Args a("float", args, {"default"});
        if (v.is_undefined()) runtime_error(v.undefined_message());
        if (v.is_number()) return Value(v.number());
        if (v.is_string()) {
            if (auto f = parse_float(v.as_string())) return Value(*f);
        }
        return a.get_or(0, Value(0.0));
    };
    m["round"] = [](Interpreter&, const Value& v, CallArgs& args) {
        Args a("round", args, {"precision", "method"});
        const int64_t precision = a.get_int(0, 0);
        const std::string method = a.has(1) ? to_str(a.get(1)) : "common";
        if (method != "common" && method != "ceil" && method != "floor")
            runtime_error("method must be common, ceil or floor");
        if (v.is_undefined()) runtime_error(v.undefined_message());
        if (!v.is_number()) runtime_error("type " + type_name(v) + " doesn't define __round__ method");
        if (method == "common") {
            if (v.is_integral()) {
                if (precision >= 0) return Value(v.integral());
                return Value(static_cast<int64_t>(round_float(static_cast<double>(v.integral()), precision)));
            }
            return Value(round_float(v.as_float(), precision));
        }
        const double p = std::pow(10.0, static_cast<double>(precision));
        const double scaled = v.number() * p;
        return Value((method == "ceil" ? std::ceil(scaled) : std::floor(scaled)) / p);
    };
}

void add_sequence_filters(FilterMap& m) {
    for (const char* name : {"length", "count"}) {
        m[name] = [name](Interpreter&, const Value& v, CallArgs& args) {
            Args(name, args, {});
            return Value(ops::length(v));
        };
    }
    m["list"] = [](Interpreter&, const Value& v, CallArgs& args) {
        Args("list", args, {});
        return Value::list(ops::iterate(v));
    };
    m["first"] = [](Interpreter&, const Value& v, CallArgs& args) {
        Args("first", args, {});
        if (v.is_list() && v.as_list().is_iterator()) {
            auto& items = v.as_list().items;
            if (items.empty()) return Value::undefined("No first item, sequence was empty.");
            Value first = items.front();
            items.erase(items.begin());
            return first;
        }
        std::vector<Value> items = ops::iterate(v);
        if (items.empty()) return Value::undefined("No first item, sequence was empty.");
        return items.front();
    };
    m["last"] = [](Interpreter&, const Value& v, CallArgs& args) {
        Args("last", args, {});
        if ((v.is_list() && v.as_list().is_iterator()) || v.is_namespace() || !(v.is_list() || v.is_dict() || v.is_string() || v.is_undefined()))
            runtime_error(quote(type_name(v)) + " object is not reversible");
        std::vector<Value> items = ops::iterate(v);
        if (items.empty()) return Value::undefined("No last item, sequence was empty.");
        return items.back();
    };
    m["join"] = [](Interpreter& interp, const Value& v, CallArgs& args) {
        Args a("join", args, {"d", "attribute"});
        const std::string sep = a.has(0) ? to_str(a.get(0)) : "";
        const std::vector<Value> parts = attribute_parts(a.get_or(1, Value::none()));
        std::string out;
        size_t i = 0;
        for (const Value& item : ops::iterate(v)) {
            if (i++) out += sep;
            out += to_str(parts.empty() ? item : get_path(interp, item, parts));
        }
        return Value(std::move(out));
    };
    m["reverse"] = [](Interpreter&, const Value& v, CallArgs& args) {
        Args("reverse", args, {});
        if (v.is_string()) {
            std::u32string s = text::decode(v.as_string());
            std::reverse(s.begin(), s.end());
            return Value(text::encode(s));
        }
        if (v.is_list() && v.as_list().is_iterator()) {
            std::vector<Value> items = ops::iterate(v);
            std::reverse(items.begin(), items.end());
            return Value::list(std::move(items));
        }
        if (!(v.is_list() || v.is_plain_dict() || v.is_undefined())) runtime_error("argument must be iterable");
        std::vector<Value> items = ops::iterate(v);
        std::reverse(items.begin(), items.end());
        return Value::iterator(std::move(items));
    };
    m["sort"] = [](Interpreter& interp, const Value& v, CallArgs& args) {
        Args a("sort", args, {"reverse", "case_sensitive", "attribute"});
        const bool reverse = a.get_bool(0, false), case_sensitive = a.get_bool(1, false);
        std::vector<std::vector<Value>> paths;
        const Value attribute = a.get_or(2, Value::none());
        if (attribute.is_string()) {
            for (const std::string& one : text::split(attribute.as_string(), std::string(","), -1))
                paths.push_back(attribute_parts(Value(one)));
        } else {
            paths.push_back(attribute_parts(attribute));
        }
        std::vector<Value> items = ops::iterate(v);
        std::vector<std::vector<Value>> keys;
        keys.reserve(items.size());
        for (const Value& item : items) {
            std::vector<Value> key;
            for (const auto& path : paths) {
                Value k = get_path(interp, item, path);
                key.push_back(case_sensitive ? k : ignore_case(k));
            }
            keys.push_back(std::move(key));
        }
        return Value::list(sorted_by(std::move(items), keys, reverse));
    };
    m["dictsort"] = [](Interpreter&, const Value& v, CallArgs& args) {
        Args a("dictsort", args, {"case_sensitive", "by", "reverse"});
        const bool case_sensitive = a.get_bool(0, false), reverse = a.get_bool(2, false);
        const std::string by = a.has(1) ? to_str(a.get(1)) : "key";
        if (by != "key" && by != "value") runtime_error("You can only sort by either \"key\" or \"value\"");
        if (!v.is_plain_dict()) runtime_error(quote(type_name(v)) + " object has no attribute 'items'");
        std::vector<Value> items;
        std::vector<std::vector<Value>> keys;
        for (const auto& [k, x] : v.as_dict().items) {
            items.push_back(Value::tuple({k, x}));
            const Value& key = by == "key" ? k : x;
            keys.push_back({case_sensitive ? key : ignore_case(key)});
        }
        return Value::list(sorted_by(std::move(items), keys, reverse));
    };
    m["unique"] = [](Interpreter& interp, const Value& v, CallArgs& args) {
        Args a("unique", args, {"case_sensitive", "attribute"});
        const bool case_sensitive = a.get_bool(0, false);
        const std::vector<Value> parts = attribute_parts(a.get_or(1, Value::none()));
        std::vector<Value> seen, out;
        for (Value& item : ops::iterate(v)) {
            Value key = get_path(interp, item, parts);
            if (!case_sensitive) key = ignore_case(key);
            if ((key.is_list() && !key.is_tuple()) || key.is_plain_dict())
                runtime_error("unhashable type: " + quote(type_name(key)));
            if (std::any_of(seen.begin(), seen.end(), [&](const Value& s) { return equals(s, key); })) continue;
            seen.push_back(std::move(key));
            out.push_back(std::move(item));
        }
        return Value::iterator(std::move(out));
    };
    m["min"] = [](Interpreter& interp, const Value& v, CallArgs& args) { return min_or_max(interp, v, args, false, "min"); };
    m["max"] = [](Interpreter& interp, const Value& v, CallArgs& args) { return min_or_max(interp, v, args, true, "max"); };
    m["sum"] = [](Interpreter& interp, const Value& v, CallArgs& args) {
        Args a("sum", args, {"attribute", "start"});
        const std::vector<Value> parts = attribute_parts(a.get_or(0, Value::none()));
        Value total = a.get_or(1, Value(0));
        for (const Value& item : ops::iterate(v)) total = ops::binary("+", total, get_path(interp, item, parts));
        return total;
    };
    m["batch"] = [](Interpreter&, const Value& v, CallArgs& args) {
        Args a("batch", args, {"linecount", "fill_with"}, 1);
        const int64_t n = a.get_int(0, 1);
        if (n <= 0) runtime_error("batch size must be positive");
        const Value fill = a.get_or(1, Value::none());
        std::vector<Value> out, tmp;
        for (Value& item : ops::iterate(v)) {
            if (static_cast<int64_t>(tmp.size()) == n) {
                out.push_back(Value::list(std::move(tmp)));
                tmp.clear();
            }
            tmp.push_back(std::move(item));
        }
        if (!tmp.empty()) {
            if (!fill.is_none())
                while (static_cast<int64_t>(tmp.size()) < n) tmp.push_back(fill);
            out.push_back(Value::list(std::move(tmp)));
        }
        return Value::iterator(std::move(out));
    };
    m["slice"] = [](Interpreter&, const Value& v, CallArgs& args) {
        Args a("slice", args, {"slices", "fill_with"}, 1);
        const int64_t slices = a.get_int(0, 1);
        if (slices <= 0) runtime_error("slice count must be positive");
        const Value fill = a.get_or(1, Value::none());
        const std::vector<Value> seq = ops::iterate(v);
        const auto length = static_cast<int64_t>(seq.size());
        const int64_t per = length / slices, extra = length % slices;
        int64_t offset = 0;
        std::vector<Value> out;
        for (int64_t k = 0; k < slices; ++k) {
            const int64_t start = offset + k * per;
            if (k < extra) ++offset;
            const int64_t end = offset + (k + 1) * per;
            std::vector<Value> tmp(seq.begin() + start, seq.begin() + end);
            if (!fill.is_none() && k >= extra) tmp.push_back(fill);
            out.push_back(Value::list(std::move(tmp)));
        }
        return Value::iterator(std::move(out));
    };
    m["items"] = [](Interpreter&, const Value& v, CallArgs& args) {
        Args("items", args, {});
        if (v.is_undefined()) return Value::iterator({});
        if (!v.is_plain_dict()) runtime_error("Can only get item pairs from a mapping.");
        std::vector<Value> out;
        for (const auto& [k, x] : v.as_dict().items) out.push_back(Value::tuple({k, x}));
        return Value::iterator(std::move(out));
    };
    m["map"] = [](Interpreter& interp, const Value& v, CallArgs& args) {
        if (!truthy(v)) return Value::iterator({});
        std::vector<Value> out;
        if (args.positional.empty()) {
            std::optional<Value> attribute;
            Value fallback = Value::none();
            for (const auto& [k, x] : args.keyword) {
                if (k == "attribute") {
                    attribute = x;
                } else if (k == "default") {
                    fallback = x;
                } else {
                    runtime_error("Unexpected keyword argument '" + k + "'");
                }
            }
            if (!attribute) runtime_error("map requires a filter argument");
            const std::vector<Value> parts = attribute_parts(*attribute);
            for (const Value& item : ops::iterate(v)) out.push_back(get_path(interp, item, parts, &fallback));
            return Value::iterator(std::move(out));
        }
        const std::string filter = to_str(args.positional[0]);
        for (const Value& item : ops::iterate(v)) {
            CallArgs rest = rest_args(args, 1);
            out.push_back(interp.call_filter(filter, item, rest));
        }
        return Value::iterator(std::move(out));
    };
    m["select"] = [](Interpreter& interp, const Value& v, CallArgs& args) {
        return select_or_reject(interp, v, args, true, false, "select");
    };
    m["reject"] = [](Interpreter& interp, const Value& v, CallArgs& args) {
        return select_or_reject(interp, v, args, false, false, "reject");
    };
    m["selectattr"] = [](Interpreter& interp, const Value& v, CallArgs& args) {
        return select_or_reject(interp, v, args, true, true, "selectattr");
    };
    m["rejectattr"] = [](Interpreter& interp, const Value& v, CallArgs& args) {
        return select_or_reject(interp, v, args, false, true, "rejectattr");
    };
    m["groupby"] = [](Interpreter& interp, const Value& v, CallArgs& args) {
        Args a("groupby", args, {"attribute", "default", "case_sensitive"}, 1);
        const std::vector<Value> parts = attribute_parts(a.get(0));
        const Value fallback = a.get_or(1, Value::none());
        const bool case_sensitive = a.get_bool(2, false);
        std::vector<Value> items = ops::iterate(v);
        std::vector<std::vector<Value>> keys;
        for (const Value& item : items) {
            Value k = get_path(interp, item, parts, &fallback);
            keys.push_back({case_sensitive ? k : ignore_case(k)});
        }
        std::vector<size_t> order(items.size());
        for (size_t i = 0; i < order.size(); ++i) order[i] = i;
        std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) { return keys_less(keys[x], keys[y]); });
        std::vector<Value> out;
        size_t i = 0;
        while (i < order.size()) {
            size_t j = i;
            std::vector<Value> group;
            while (j < order.size() && equals(keys[order[j]][0], keys[order[i]][0])) group.push_back(items[order[j++]]);
            const Value grouper = case_sensitive ? keys[order[i]][0] : get_path(interp, group[0], parts, &fallback);
            out.push_back(Value::list_of_kind(static_cast<int>(List::Kind::Group), {grouper, Value::list(std::move(group))}));
            i = j;
        }
        return Value::list(std::move(out));
    };
}

void add_other_filters(FilterMap& m) {
    for (const char* name : {"default", "d"}) {
        m[name] = [name](Interpreter&, const Value& v, CallArgs& args) {
            Args a(name, args, {"default_value", "boolean"});
            if (v.is_undefined() || (a.get_bool(1, false) && !truthy(v))) return a.get_or(0, Value(""));
            return v;
        };
    }
    m["attr"] = [](Interpreter& interp, const Value& v, CallArgs& args) {
        Args a("attr", args, {"name"}, 1);
        const std::string name = to_str(a.get(0));
        if (v.is_namespace()) {
            if (const Value* x = v.as_dict().find(std::string_view(name))) return *x;
            return Value::undefined(quote(object_type_repr(v)) + " has no attribute '" + name + "'");
        }
        if (v.is_undefined()) runtime_error(v.undefined_message());
        if (auto method = bound_method(v, name)) return *method;
        if (v.is_list() && v.as_list().kind == List::Kind::Group) return interp.getattr(v, name);
        return Value::undefined(quote(object_type_repr(v)) + " has no attribute '" + name + "'");
    };
    m["tojson"] = [](Interpreter&, const Value& v, CallArgs& args) {
        Args a("tojson", args, {"ensure_ascii", "indent", "separators", "sort_keys"});
        JsonStyle style;
        style.ensure_ascii = a.get_bool(0, false);
        if (a.has(1) && !a.get(1).is_none()) {
            const Value& indent = a.get(1);
            if (indent.is_string()) {
                style.indent = indent.as_string();
            } else if (indent.is_integral()) {
                style.indent = std::string(static_cast<size_t>(std::max<int64_t>(0, indent.integral())), ' ');
            } else {
                runtime_error("can't multiply sequence by non-int of type '" + type_name(indent) + "'");
            }
        }
        if (a.has(2) && !a.get(2).is_none()) {
            const std::vector<Value> seps = ops::iterate(a.get(2));
            if (seps.size() != 2) runtime_error("separators must be a pair of strings");
            style.separators = std::make_pair(to_str(seps[0]), to_str(seps[1]));
        }
        style.sort_keys = a.get_bool(3, false);
        return Value(to_json(v, style));
    };
    m["pprint"] = [](Interpreter&, const Value& v, CallArgs& args) {
        Args("pprint", args, {});
        return Value(repr(v));
    };
}

const FilterMap& filters() {
    static const FilterMap m = [] {
        FilterMap map;
        add_string_filters(map);
        add_number_filters(map);
        add_sequence_filters(map);
        add_other_filters(map);
        return map;
    }();
    return m;
}

}  // namespace

bool has_filter(std::string_view name) { return find_filter(name) != nullptr; }

const FilterFn* find_filter(std::string_view name) {
    const auto& m = filters();
    const auto it = m.find(std::string(name));
    return it == m.end() ? nullptr : &it->second;
}

}  // namespace hearth::chat
