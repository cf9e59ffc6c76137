#include "chat/operators.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "chat/error.h"
#include "common/html.h"
#include "chat/text.h"

namespace hearth::chat::ops {

namespace {

// Strings and lists built by * are capped so a template cannot exhaust memory.
constexpr int64_t kMaxBuiltSize = int64_t{1} << 28;

[[noreturn]] void unsupported(std::string_view op, const Value& a, const Value& b) {
    runtime_error("unsupported operand type(s) for " + std::string(op) + ": '" + type_name(a) + "' and '" +
                  type_name(b) + "'");
}

void check_undefined(const Value& a, const Value& b) {
    if (a.is_undefined()) runtime_error(a.undefined_message());
    if (b.is_undefined()) runtime_error(b.undefined_message());
}

void check_overflow(bool overflow) {
    if (overflow) runtime_error("integer overflow");
}

// CPython's float divmod.
void float_divmod(double vx, double wx, double* floordiv, double* mod) {
    double m = std::fmod(vx, wx);
    double div = (vx - m) / wx;
    if (m != 0.0) {
        if ((wx < 0) != (m < 0)) {
            m += wx;
            div -= 1.0;
        }
    } else {
        m = std::copysign(0.0, wx);
    }
    double fd;
    if (div != 0.0) {
        fd = std::floor(div);
        if (div - fd > 0.5) fd += 1.0;
    } else {
        fd = std::copysign(0.0, vx / wx);
    }
    *floordiv = fd;
    *mod = m;
}

Value repeat(const Value& seq, int64_t times) {
    if (times < 0) times = 0;
    if (seq.is_string()) {
        const std::string& s = seq.as_string();
        if (!s.empty() && times > kMaxBuiltSize / static_cast<int64_t>(s.size())) runtime_error("result too large");
        std::string out;
        out.reserve(s.size() * static_cast<size_t>(times));
        for (int64_t i = 0; i < times; ++i) out += s;
        return seq.is_markup() ? Value::markup(std::move(out)) : Value(std::move(out));
    }
    const List& l = seq.as_list();
    if (!l.items.empty() && times > kMaxBuiltSize / static_cast<int64_t>(l.items.size()))
        runtime_error("result too large");
    std::vector<Value> out;
    for (int64_t i = 0; i < times; ++i) out.insert(out.end(), l.items.begin(), l.items.end());
    return Value::list_of_kind(static_cast<int>(l.is_tuple() ? List::Kind::Tuple : List::Kind::List), std::move(out));
}

bool is_sequence_value(const Value& v) { return v.is_string() || (v.is_list() && v.as_list().is_sequence()); }

}  // namespace

Value binary(std::string_view op, const Value& a, const Value& b) {
    // str % x is str.__mod__, which accepts anything (an undefined value prints as "").
    if (op == "%" && a.is_string()) {
        if (a.is_markup()) return Value::markup(percent_format(a.as_string(), b, true));
        return Value(percent_format(a.as_string(), b));
    }
    check_undefined(a, b);
    const bool ints = a.is_integral() && b.is_integral();
    const bool nums = a.is_number() && b.is_number();
    if (op == "+") {
        if (ints) {
            int64_t r = 0;
            check_overflow(__builtin_add_overflow(a.integral(), b.integral(), &r));
            return Value(r);
        }
        if (nums) return Value(a.number() + b.number());
        if (a.is_string() && b.is_string()) {
            if (a.is_markup() || b.is_markup())
                return Value::markup((a.is_markup() ? a.as_string() : html_escape(a.as_string())) +
                                     (b.is_markup() ? b.as_string() : html_escape(b.as_string())));
            return Value(a.as_string() + b.as_string());
        }
        if (a.is_list() && b.is_list() && a.as_list().is_sequence() && b.as_list().is_sequence() &&
            a.is_tuple() == b.is_tuple()) {
            std::vector<Value> out = a.as_list().items;
            out.insert(out.end(), b.as_list().items.begin(), b.as_list().items.end());
            return Value::list_of_kind(static_cast<int>(a.is_tuple() ? List::Kind::Tuple : List::Kind::List),
                                       std::move(out));
        }
        if (a.is_string() || (a.is_list() && a.as_list().is_sequence()))
            runtime_error("can only concatenate " + type_name(a) + " (not \"" + type_name(b) + "\") to " +
                          type_name(a));
        unsupported(op, a, b);
    }
    if (op == "-") {
        if (ints) {
            int64_t r = 0;
            check_overflow(__builtin_sub_overflow(a.integral(), b.integral(), &r));
            return Value(r);
        }
        if (nums) return Value(a.number() - b.number());
        unsupported(op, a, b);
    }
    if (op == "*") {
        if (ints) {
            int64_t r = 0;
            check_overflow(__builtin_mul_overflow(a.integral(), b.integral(), &r));
            return Value(r);
        }
        if (nums) return Value(a.number() * b.number());
        if (is_sequence_value(a) && b.is_integral()) return repeat(a, b.integral());
        if (a.is_integral() && is_sequence_value(b)) return repeat(b, a.integral());
        if (is_sequence_value(a) || is_sequence_value(b))
            runtime_error("can't multiply sequence by non-int of type '" + type_name(is_sequence_value(a) ? b : a) +
                          "'");
        unsupported(op, a, b);
    }
    if (op == "/") {
        if (!nums) unsupported(op, a, b);
        if (b.number() == 0.0) runtime_error("division by zero");
        return Value(a.number() / b.number());
    }
    if (op == "//" || op == "%") {
        if (!nums) unsupported(op, a, b);
        if (ints) {
            const int64_t x = a.integral(), y = b.integral();
            if (y == 0) runtime_error(op == "%" ? "integer modulo by zero" : "integer division or modulo by zero");
            if (x == std::numeric_limits<int64_t>::min() && y == -1) runtime_error("integer overflow");
            int64_t q = x / y, r = x % y;
            if (r != 0 && ((r < 0) != (y < 0))) {
                r += y;
                q -= 1;
            }
            return Value(op == "%" ? r : q);
        }
        if (b.number() == 0.0) runtime_error(op == "%" ? "float modulo" : "float floor division by zero");
        double fd, m;
        float_divmod(a.number(), b.number(), &fd, &m);
        return Value(op == "%" ? m : fd);
    }
    if (op == "**") {
        if (ints && b.integral() >= 0) {
            int64_t base = a.integral(), exp = b.integral(), result = 1;
            while (exp > 0) {
                if (exp & 1) check_overflow(__builtin_mul_overflow(result, base, &result));
                exp >>= 1;
                if (exp > 0) check_overflow(__builtin_mul_overflow(base, base, &base));
            }
            return Value(result);
        }
        if (!nums) unsupported(op, a, b);
        const double x = a.number(), y = b.number();
        if (x == 0.0 && y < 0) runtime_error("0.0 cannot be raised to a negative power");
        if (x < 0 && y != std::floor(y)) runtime_error("complex results are not supported");
        const double r = std::pow(x, y);
        if (std::isinf(r) && std::isfinite(x) && std::isfinite(y)) runtime_error("(34, 'Numerical result out of range')");
        return Value(r);
    }
    runtime_error("unknown operator " + std::string(op));
}

Value negate(const Value& a) {
    if (a.is_undefined()) runtime_error(a.undefined_message());
    if (a.is_integral()) {
        if (a.integral() == std::numeric_limits<int64_t>::min()) runtime_error("integer overflow");
        return Value(-a.integral());
    }
    if (a.is_float()) return Value(-a.as_float());
    runtime_error("bad operand type for unary -: '" + type_name(a) + "'");
}

Value positive(const Value& a) {
    if (a.is_undefined()) runtime_error(a.undefined_message());
    if (a.is_integral()) return Value(a.integral());
    if (a.is_float()) return a;
    runtime_error("bad operand type for unary +: '" + type_name(a) + "'");
}

namespace {

// Python's rich comparison for ordering: -1, 0, 1.
int order(const Value& a, const Value& b, std::string_view op) {
    check_undefined(a, b);
    if (a.is_number() && b.is_number()) {
        if (a.is_integral() && b.is_integral()) return a.integral() < b.integral() ? -1 : a.integral() > b.integral();
        const double x = a.number(), y = b.number();
        if (std::isnan(x) || std::isnan(y)) return 2;  // unordered: every comparison false
        return x < y ? -1 : x > y;
    }
    if (a.is_string() && b.is_string()) {
        const int c = a.as_string().compare(b.as_string());
        return c < 0 ? -1 : c > 0;
    }
    if (a.is_list() && b.is_list() && a.as_list().is_sequence() && b.as_list().is_sequence() &&
        a.is_tuple() == b.is_tuple()) {
        const auto& x = a.as_list().items;
        const auto& y = b.as_list().items;
        for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
            if (equals(x[i], y[i])) continue;
            return order(x[i], y[i], op);
        }
        return x.size() < y.size() ? -1 : x.size() > y.size();
    }
    runtime_error("'" + std::string(op) + "' not supported between instances of '" + type_name(a) + "' and '" +
                  type_name(b) + "'");
}

}  // namespace

bool less(const Value& a, const Value& b) { return order(a, b, "<") == -1; }

bool compare(std::string_view op, const Value& a, const Value& b) {
    if (op == "==") return equals(a, b);
    if (op == "!=") return !equals(a, b);
    if (op == "in") return contains(b, a);
    if (op == "notin") return !contains(b, a);
    const int c = order(a, b, op);
    if (c == 2) return false;
    if (op == "<") return c < 0;
    if (op == "<=") return c <= 0;
    if (op == ">") return c > 0;
    if (op == ">=") return c >= 0;
    runtime_error("unknown comparison " + std::string(op));
}

bool contains(const Value& container, const Value& item) {
    switch (container.type()) {
        case Value::Type::String:
            if (!item.is_string())
                runtime_error("'in <string>' requires string as left operand, not " + type_name(item));
            return container.as_string().find(item.as_string()) != std::string::npos;
        case Value::Type::List: {
            List& l = container.as_list();
            for (size_t i = 0; i < l.items.size(); ++i) {
                if (equals(l.items[i], item)) {
                    if (l.is_iterator()) l.items.erase(l.items.begin(), l.items.begin() + static_cast<long>(i) + 1);
                    return true;
                }
            }
            if (l.is_iterator()) l.items.clear();
            return false;
        }
        case Value::Type::Dict:
            if (container.is_plain_dict()) {
                if ((item.is_list() && !item.is_tuple()) || item.is_plain_dict())
                    runtime_error("unhashable type: " + quote(type_name(item)));
                return container.as_dict().find(item) != nullptr;
            }
            break;
        case Value::Type::Undefined: return false;
        default: break;
    }
    runtime_error("argument of type '" + type_name(container) + "' is not iterable");
}

Value slice(const Value& seq, std::optional<int64_t> start, std::optional<int64_t> stop, std::optional<int64_t> step) {
    const int64_t st = step.value_or(1);
    if (st == 0) runtime_error("slice step cannot be zero");
    std::u32string chars;
    const bool ascii = seq.is_string() && text::is_ascii(seq.as_string());
    if (seq.is_string() && !ascii) chars = text::decode(seq.as_string());
    const int64_t n = seq.is_string() ? static_cast<int64_t>(ascii ? seq.as_string().size() : chars.size())
                                      : static_cast<int64_t>(seq.as_list().items.size());
    const int64_t lower = st > 0 ? 0 : -1;
    const int64_t upper = st > 0 ? n : n - 1;
    auto adjust = [&](std::optional<int64_t> v, int64_t def) {
        if (!v) return def;
        int64_t x = *v;
        if (x < 0) {
            x += n;
            if (x < lower) x = lower;
        } else if (x > upper) {
            x = upper;
        }
        return x;
    };
    const int64_t b = adjust(start, st < 0 ? upper : lower);
    const int64_t e = adjust(stop, st < 0 ? lower : upper);
    if (seq.is_string()) {
        if (ascii) {
            std::string out;
            for (int64_t i = b; st > 0 ? i < e : i > e; i += st) out.push_back(seq.as_string()[static_cast<size_t>(i)]);
            return seq.is_markup() ? Value::markup(std::move(out)) : Value(std::move(out));
        }
        std::u32string out;
        for (int64_t i = b; st > 0 ? i < e : i > e; i += st) out.push_back(chars[static_cast<size_t>(i)]);
        return seq.is_markup() ? Value::markup(text::encode(out)) : Value(text::encode(out));
    }
    std::vector<Value> out;
    const auto& items = seq.as_list().items;
    for (int64_t i = b; st > 0 ? i < e : i > e; i += st) out.push_back(items[static_cast<size_t>(i)]);
    return Value::list_of_kind(static_cast<int>(seq.is_tuple() ? List::Kind::Tuple : List::Kind::List), std::move(out));
}

std::vector<Value> iterate(const Value& v) {
    switch (v.type()) {
        case Value::Type::List: {
            List& l = v.as_list();
            if (l.is_iterator()) {
                std::vector<Value> out = std::move(l.items);
                l.items.clear();
                return out;
            }
            return l.items;
        }
        case Value::Type::Dict:
            if (v.is_plain_dict()) {
                std::vector<Value> out;
                out.reserve(v.as_dict().items.size());
                for (const auto& kv : v.as_dict().items) out.push_back(kv.first);
                return out;
            }
            break;
        case Value::Type::String: {
            std::vector<Value> out;
            const std::string& s = v.as_string();
            if (text::is_ascii(s)) {
                for (char c : s) out.emplace_back(std::string(1, c));
            } else {
                for (char32_t c : text::decode(s)) {
                    std::string one;
                    text::append_utf8(one, c);
                    out.emplace_back(std::move(one));
                }
            }
            return out;
        }
        case Value::Type::Undefined: return {};
        default: break;
    }
    runtime_error(quote(type_name(v)) + " object is not iterable");
}

int64_t length(const Value& v) {
    switch (v.type()) {
        case Value::Type::String: return static_cast<int64_t>(text::length(v.as_string()));
        case Value::Type::List:
            if (!v.as_list().is_iterator()) return static_cast<int64_t>(v.as_list().items.size());
            break;
        case Value::Type::Dict:
            if (v.as_dict().kind == Dict::Kind::Dict) return static_cast<int64_t>(v.as_dict().items.size());
            if (v.as_dict().kind == Dict::Kind::Loop) {
                const Value* n = v.as_dict().find("length");
                return n ? n->integral() : 0;
            }
            break;
        case Value::Type::Undefined: return 0;
        default: break;
    }
    runtime_error("object of type '" + type_name(v) + "' has no len()");
}

// ---------------------------------------------------------------------------------------------
// printf-style formatting

namespace {

std::string pad(std::string s, int64_t width, bool left, char fill = ' ') {
    const int64_t n = static_cast<int64_t>(text::length(s));
    if (width <= n) return s;
    const std::string padding(static_cast<size_t>(width - n), fill);
    return left ? s + padding : padding + s;
}

std::string format_int(int64_t v, const std::string& flags, int64_t width, char type) {
    const bool neg = v < 0;
    const uint64_t mag = neg ? uint64_t(0) - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
    std::string digits;
    char buf[72];
    if (type == 'x' || type == 'X') {
        std::snprintf(buf, sizeof buf, type == 'x' ? "%llx" : "%llX", static_cast<unsigned long long>(mag));
    } else if (type == 'o') {
        std::snprintf(buf, sizeof buf, "%llo", static_cast<unsigned long long>(mag));
    } else {
        std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(mag));
    }
    digits = buf;
    std::string prefix;
    if (flags.find('#') != std::string::npos) {
        if (type == 'x') prefix = "0x";
        if (type == 'X') prefix = "0X";
        if (type == 'o') prefix = "0o";
    }
    std::string sign = neg ? "-" : flags.find('+') != std::string::npos ? "+" : flags.find(' ') != std::string::npos ? " " : "";
    const bool left = flags.find('-') != std::string::npos;
    if (!left && flags.find('0') != std::string::npos) {
        const int64_t used = static_cast<int64_t>(sign.size() + prefix.size() + digits.size());
        if (width > used) digits = std::string(static_cast<size_t>(width - used), '0') + digits;
    }
    return pad(sign + prefix + digits, width, left);
}

std::string format_float(double v, const std::string& flags, int64_t width, int64_t precision, char type) {
    std::string spec = "%" + flags;
    if (width > 0) spec += std::to_string(width);
    spec += "." + std::to_string(precision < 0 ? 6 : precision);
    spec.push_back(type);
    char buf[512];
    std::snprintf(buf, sizeof buf, spec.c_str(), v);
    return buf;
}

}  // namespace

std::string percent_format(const std::string& fmt, const Value& args, bool escape_args) {
    std::vector<Value> positional;
    const Dict* mapping = nullptr;
    // Python treats any non-tuple argument with __getitem__ (dict, list, ...) as a mapping: it
    // may be used whole by %s, and is never "not all arguments converted".
    bool mapping_like = false;
    if (args.is_tuple()) {
        positional = args.as_list().items;
    } else {
        if (args.is_plain_dict()) mapping = &args.as_dict();
        mapping_like = args.is_dict() || args.is_undefined() || (args.is_list() && args.as_list().is_sequence());
        positional.push_back(args);
    }
    size_t next_arg = 0;
    bool used_mapping = false;
    auto take = [&]() -> Value {
        if (next_arg >= positional.size()) runtime_error("not enough arguments for format string");
        return positional[next_arg++];
    };
    std::string out;
    size_t i = 0;
    while (i < fmt.size()) {
        const char c = fmt[i++];
        if (c != '%') {
            out.push_back(c);
            continue;
        }
        if (i >= fmt.size()) runtime_error("incomplete format");
        if (fmt[i] == '%') {
            out.push_back('%');
            ++i;
            continue;
        }
        std::optional<Value> value;
        if (fmt[i] == '(') {
            if (!mapping) runtime_error("format requires a mapping");
            int depth = 1;
            size_t j = ++i;
            while (j < fmt.size() && depth > 0) {
                if (fmt[j] == '(') ++depth;
                if (fmt[j] == ')') --depth;
                ++j;
            }
            if (depth) runtime_error("incomplete format key");
            const std::string key = fmt.substr(i, j - 1 - i);
            const Value* found = mapping->find(std::string_view(key));
            if (!found) runtime_error("'" + key + "'");
            value = *found;
            used_mapping = true;
            i = j;
        }
        std::string flags;
        while (i < fmt.size() && std::string_view("-+ #0").find(fmt[i]) != std::string_view::npos) flags.push_back(fmt[i++]);
        int64_t width = 0, precision = -1;
        if (i < fmt.size() && fmt[i] == '*') {
            ++i;
            const Value w = take();
            if (!w.is_integral()) runtime_error("* wants int");
            width = w.integral();
            if (width < 0) {
                flags.push_back('-');
                width = -width;
            }
        } else {
            while (i < fmt.size() && fmt[i] >= '0' && fmt[i] <= '9') width = width * 10 + (fmt[i++] - '0');
        }
        if (i < fmt.size() && fmt[i] == '.') {
            ++i;
            precision = 0;
            if (i < fmt.size() && fmt[i] == '*') {
                ++i;
                const Value p = take();
                if (!p.is_integral()) runtime_error("* wants int");
                precision = std::max<int64_t>(0, p.integral());
            } else {
                while (i < fmt.size() && fmt[i] >= '0' && fmt[i] <= '9') precision = precision * 10 + (fmt[i++] - '0');
            }
        }
        while (i < fmt.size() && (fmt[i] == 'h' || fmt[i] == 'l' || fmt[i] == 'L')) ++i;
        if (i >= fmt.size()) runtime_error("incomplete format");
        const char type = fmt[i++];
        if (!value) value = take();
        const Value& v = *value;
        const bool left = flags.find('-') != std::string::npos;
        switch (type) {
            case 's':
            case 'r':
            case 'a': {
                std::string s = type == 's' ? to_str(v) : repr(v);
                if (escape_args && !v.is_markup()) s = html_escape(s);
                if (precision >= 0) {
                    const std::u32string cs = text::decode(s);
                    if (static_cast<int64_t>(cs.size()) > precision)
                        s = text::encode(std::u32string_view(cs).substr(0, static_cast<size_t>(precision)));
                }
                out += pad(std::move(s), width, left);
                break;
            }
            case 'd':
            case 'i':
            case 'u':
                if (v.is_undefined()) runtime_error(v.undefined_message());
                if (!v.is_number())
                    runtime_error(std::string("%") + type + " format: a real number is required, not " + type_name(v));
                out += format_int(v.is_float() ? static_cast<int64_t>(std::trunc(v.as_float())) : v.integral(), flags,
                                  width, 'd');
                break;
            case 'x':
            case 'X':
            case 'o':
                if (!v.is_integral())
                    runtime_error(std::string("%") + type + " format: an integer is required, not " + type_name(v));
                out += format_int(v.integral(), flags, width, type);
                break;
            case 'e':
            case 'E':
            case 'f':
            case 'F':
            case 'g':
            case 'G':
                if (!v.is_number()) runtime_error("must be real number, not " + type_name(v));
                out += format_float(v.number(), flags, width, precision, type);
                break;
            case 'c':
                if (v.is_integral()) {
                    std::string one;
                    text::append_utf8(one, static_cast<char32_t>(v.integral()));
                    out += pad(one, width, left);
                } else if (v.is_string() && text::length(v.as_string()) == 1) {
                    out += pad(v.as_string(), width, left);
                } else {
                    runtime_error("%c requires int or char");
                }
                break;
            default: {
                char buf[96];
                std::snprintf(buf, sizeof buf, "unsupported format character '%c' (0x%x) at index %zu", type,
                              static_cast<unsigned>(static_cast<unsigned char>(type)), i - 1);
                runtime_error(buf);
            }
        }
    }
    if (!used_mapping && !mapping_like && next_arg < positional.size())
        runtime_error("not all arguments converted during string formatting");
    return out;
}

// ---------------------------------------------------------------------------------------------
// str.format

namespace {

std::string apply_format_spec(const Value& v, const std::string& spec) {
    if (spec.empty()) return to_str(v);
    size_t i = 0;
    char fill = ' ', align = 0;
    if (spec.size() >= 2 && std::string_view("<>^=").find(spec[1]) != std::string_view::npos) {
        fill = spec[0];
        align = spec[1];
        i = 2;
    } else if (std::string_view("<>^=").find(spec[0]) != std::string_view::npos) {
        align = spec[0];
        i = 1;
    }
    char sign = 0;
    if (i < spec.size() && (spec[i] == '+' || spec[i] == '-' || spec[i] == ' ')) sign = spec[i++];
    if (i < spec.size() && spec[i] == '0') {
        if (!align) {
            fill = '0';
            align = '=';
        }
        ++i;
    }
    int64_t width = 0;
    while (i < spec.size() && spec[i] >= '0' && spec[i] <= '9') width = width * 10 + (spec[i++] - '0');
    char grouping = 0;
    if (i < spec.size() && (spec[i] == ',' || spec[i] == '_')) grouping = spec[i++];
    int64_t precision = -1;
    if (i < spec.size() && spec[i] == '.') {
        ++i;
        precision = 0;
        while (i < spec.size() && spec[i] >= '0' && spec[i] <= '9') precision = precision * 10 + (spec[i++] - '0');
    }
    const char type = i < spec.size() ? spec[i] : 0;
    if (i + 1 < spec.size()) runtime_error("Invalid format specifier '" + spec + "'");
    std::string body;
    bool numeric = v.is_number();
    if (type == 's' || (!type && !numeric)) {
        body = to_str(v);
        if (precision >= 0) {
            const std::u32string cs = text::decode(body);
            if (static_cast<int64_t>(cs.size()) > precision)
                body = text::encode(std::u32string_view(cs).substr(0, static_cast<size_t>(precision)));
        }
        numeric = false;
    } else if (!numeric) {
        runtime_error("Unknown format code '" + std::string(1, type) + "' for object of type '" + type_name(v) + "'");
    } else if (type == 'd' || ((!type) && v.is_integral())) {
        if (!v.is_integral()) runtime_error("Unknown format code 'd' for object of type 'float'");
        body = std::to_string(v.integral());
    } else if (type == 'x' || type == 'X' || type == 'o' || type == 'b') {
        if (!v.is_integral()) runtime_error("Unknown format code for object of type 'float'");
        body = format_int(v.integral(), "", 0, type == 'b' ? 'd' : type);
    } else if (type == '%') {
        body = format_float(v.number() * 100, "", 0, precision < 0 ? 6 : precision, 'f') + "%";
    } else if (!type) {
        body = precision < 0 ? text::float_repr(v.number()) : format_float(v.number(), "", 0, precision, 'g');
    } else {
        body = format_float(v.number(), "", 0, precision < 0 ? 6 : precision, type);
    }
    if (numeric && grouping) {
        // Thousands separators in the integer digits.
        size_t start = (!body.empty() && body[0] == '-') ? 1 : 0;
        size_t end = start;
        while (end < body.size() && body[end] >= '0' && body[end] <= '9') ++end;
        for (size_t k = end; k > start + 3; k -= 3) body.insert(k - 3, 1, grouping);
    }
    if (numeric && !body.empty() && body[0] != '-' && (sign == '+' || sign == ' ')) body.insert(body.begin(), sign);
    const int64_t n = static_cast<int64_t>(text::length(body));
    if (width <= n) return body;
    const size_t padding = static_cast<size_t>(width - n);
    if (!align) align = numeric ? '>' : '<';
    switch (align) {
        case '<': return body + std::string(padding, fill);
        case '^': return std::string(padding / 2, fill) + body + std::string(padding - padding / 2, fill);
        case '=':
            if (!body.empty() && (body[0] == '-' || body[0] == '+' || body[0] == ' '))
                return body.substr(0, 1) + std::string(padding, fill) + body.substr(1);
            return std::string(padding, fill) + body;
        default: return std::string(padding, fill) + body;
    }
}

}  // namespace

std::string str_format(const std::string& fmt, const std::vector<Value>& args,
                       const std::vector<std::pair<std::string, Value>>& kwargs, bool escape_fields) {
    std::string out;
    size_t auto_index = 0;
    size_t i = 0;
    while (i < fmt.size()) {
        const char c = fmt[i];
        if (c == '}') {
            if (i + 1 < fmt.size() && fmt[i + 1] == '}') {
                out.push_back('}');
                i += 2;
                continue;
            }
            runtime_error("Single '}' encountered in format string");
        }
        if (c != '{') {
            out.push_back(c);
            ++i;
            continue;
        }
        if (i + 1 < fmt.size() && fmt[i + 1] == '{') {
            out.push_back('{');
            i += 2;
            continue;
        }
        const size_t close = fmt.find('}', i);
        if (close == std::string::npos) runtime_error("Single '{' encountered in format string");
        std::string field = fmt.substr(i + 1, close - i - 1);
        i = close + 1;
        std::string spec, conversion;
        if (const size_t colon = field.find(':'); colon != std::string::npos) {
            spec = field.substr(colon + 1);
            field.resize(colon);
        }
        if (const size_t bang = field.find('!'); bang != std::string::npos) {
            conversion = field.substr(bang + 1);
            field.resize(bang);
        }
        // field name: [index|name] followed by [key] lookups
        size_t end = field.find('[');
        const std::string head = field.substr(0, end);
        Value v;
        if (head.empty()) {
            if (auto_index >= args.size()) runtime_error("Replacement index " + std::to_string(auto_index) + " out of range for positional args tuple");
            v = args[auto_index++];
        } else if (std::all_of(head.begin(), head.end(), [](char d) { return d >= '0' && d <= '9'; })) {
            const size_t index = std::stoul(head);
            if (index >= args.size()) runtime_error("Replacement index " + head + " out of range for positional args tuple");
            v = args[index];
        } else {
            bool found = false;
            for (const auto& [k, val] : kwargs) {
                if (k == head) {
                    v = val;
                    found = true;
                }
            }
            if (!found) runtime_error("'" + head + "'");
        }
        while (end != std::string::npos && end < field.size()) {
            const size_t stop = field.find(']', end);
            if (stop == std::string::npos) runtime_error("Missing ']' in format string");
            const std::string key = field.substr(end + 1, stop - end - 1);
            if (v.is_plain_dict()) {
                const Value* found = v.as_dict().find(std::string_view(key));
                if (!found) runtime_error("'" + key + "'");
                v = *found;
            } else if (v.is_list() && !key.empty() && std::all_of(key.begin(), key.end(), [](char d) { return d >= '0' && d <= '9'; })) {
                const size_t index = std::stoul(key);
                if (index >= v.as_list().items.size()) runtime_error("list index out of range");
                v = v.as_list().items[index];
            } else {
                runtime_error(quote(type_name(v)) + " object is not subscriptable");
            }
            end = stop + 1;
        }
        if (conversion == "r" || conversion == "a") {
            v = Value(repr(v));
        } else if (conversion == "s") {
            v = Value(to_str(v));
        }
        if (escape_fields && !v.is_markup()) {
            out += html_escape(apply_format_spec(v, spec));
        } else {
            out += apply_format_spec(v, spec);
        }
    }
    return out;
}

}  // namespace hearth::chat::ops
