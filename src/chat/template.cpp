#include "chat/template.h"

#include <locale.h>

#include <chrono>
#include <cstdio>
#include <ctime>

#include "chat/builtins.h"
#include "chat/interpreter.h"
#include "chat/parser.h"

namespace hearth::chat {

// ---------------------------------------------------------------------------------------------
// strftime_now

namespace {

struct LocalTime {
    std::tm tm{};
    int microsecond = 0;
    std::optional<int> utc_offset_seconds;  // nullopt: naive
};

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void fill_calendar(std::tm& tm) {
    const int64_t days = days_from_civil(tm.tm_year + 1900, static_cast<unsigned>(tm.tm_mon + 1),
                                         static_cast<unsigned>(tm.tm_mday));
    tm.tm_wday = static_cast<int>(((days % 7) + 11) % 7);  // 1970-01-01 was a Thursday
    tm.tm_yday = static_cast<int>(days - days_from_civil(tm.tm_year + 1900, 1, 1));
    tm.tm_isdst = 0;
}

[[noreturn]] void bad_time(const std::string& s) { throw Error("invalid isoformat string: '" + s + "'"); }

// datetime.fromisoformat for the usual forms.
LocalTime parse_iso(const std::string& s) {
    size_t i = 0;
    auto digits = [&](size_t n) {
        if (i + n > s.size()) bad_time(s);
        int v = 0;
        for (size_t k = 0; k < n; ++k) {
            const char c = s[i + k];
            if (c < '0' || c > '9') bad_time(s);
            v = v * 10 + (c - '0');
        }
        i += n;
        return v;
    };
    auto skip = [&](char c) {
        if (i < s.size() && s[i] == c) {
            ++i;
            return true;
        }
        return false;
    };
    LocalTime t;
    const int year = digits(4);
    const bool extended = skip('-');
    const int month = digits(2);
    if (extended && !skip('-')) bad_time(s);
    const int day = digits(2);
    static constexpr int days_in_month[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (year < 1 || month < 1 || month > 12 || day < 1 ||
        day > days_in_month[month - 1] + (month == 2 && leap ? 1 : 0))
        bad_time(s);
    t.tm.tm_year = year - 1900;
    t.tm.tm_mon = month - 1;
    t.tm.tm_mday = day;
    if (i < s.size()) {
        ++i;  // 'T' or ' '
        t.tm.tm_hour = digits(2);
        if (skip(':') || (i < s.size() && s[i] >= '0' && s[i] <= '9')) {
            t.tm.tm_min = digits(2);
            if (skip(':') || (i < s.size() && s[i] >= '0' && s[i] <= '9')) {
                t.tm.tm_sec = digits(2);
                if (skip('.') || skip(',')) {
                    int n = 0, micro = 0;
                    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
                        if (n < 6) micro = micro * 10 + (s[i] - '0');
                        ++n;
                        ++i;
                    }
                    if (n == 0) bad_time(s);
                    for (; n < 6; ++n) micro *= 10;
                    t.microsecond = micro;
                }
            }
        }
        if (t.tm.tm_hour > 23 || t.tm.tm_min > 59 || t.tm.tm_sec > 59) bad_time(s);
        if (skip('Z')) {
            t.utc_offset_seconds = 0;
        } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
            const int sign = s[i++] == '-' ? -1 : 1;
            int secs = digits(2) * 3600;
            if (i < s.size()) {
                skip(':');
                secs += digits(2) * 60;
                if (i < s.size()) {
                    skip(':');
                    secs += digits(2);
                }
            }
            t.utc_offset_seconds = sign * secs;
        }
        if (i != s.size()) bad_time(s);
    }
    fill_calendar(t.tm);
    return t;
}

LocalTime system_now() {
    const auto now = std::chrono::system_clock::now();
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
    const std::time_t secs = static_cast<std::time_t>(micros / 1000000);
    LocalTime t;
    localtime_r(&secs, &t.tm);
    t.microsecond = static_cast<int>(micros % 1000000);
    return t;  // naive, like datetime.now()
}

// datetime.strftime: %f, %z and %Z by Python's rules, the rest by the C library in the "C"
// locale (Python leaves LC_TIME at "C").
std::string python_strftime(const LocalTime& t, const std::string& fmt) {
    std::string expanded;
    char buf[32];
    for (size_t i = 0; i < fmt.size(); ++i) {
        if (fmt[i] != '%' || i + 1 >= fmt.size()) {
            expanded.push_back(fmt[i]);
            continue;
        }
        const char d = fmt[++i];
        if (d == 'f') {
            std::snprintf(buf, sizeof buf, "%06d", t.microsecond);
            expanded += buf;
        } else if (d == 'z' || d == 'Z') {
            if (t.utc_offset_seconds) {
                const int off = *t.utc_offset_seconds;
                const int a = off < 0 ? -off : off;
                const char sign = off < 0 ? '-' : '+';
                if (d == 'z') {
                    std::snprintf(buf, sizeof buf, "%c%02d%02d", sign, a / 3600, (a / 60) % 60);
                    expanded += buf;
                    if (a % 60) {
                        std::snprintf(buf, sizeof buf, "%02d", a % 60);
                        expanded += buf;
                    }
                } else if (off == 0) {
                    expanded += "UTC";
                } else {
                    std::snprintf(buf, sizeof buf, "UTC%c%02d:%02d", sign, a / 3600, (a / 60) % 60);
                    expanded += buf;
                }
            }
        } else {
            expanded.push_back('%');
            expanded.push_back(d);
        }
    }
    if (expanded.empty()) return {};
    static const locale_t c_locale = newlocale(LC_ALL_MASK, "C", static_cast<locale_t>(0));
    std::string out(expanded.size() * 4 + 64, '\0');
    for (int attempt = 0; attempt < 8; ++attempt) {
        const size_t n = strftime_l(out.data(), out.size(), expanded.c_str(), &t.tm, c_locale);
        if (n > 0) {
            out.resize(n);
            return out;
        }
        out.resize(out.size() * 4);
    }
    return {};
}

Value strftime_function(std::optional<LocalTime> fixed) {
    return Value::function("strftime_now", [fixed](Interpreter&, CallArgs& args) {
        Args a("strftime_now", args, {"format"}, 1);
        if (!a.get(0).is_string()) runtime_error("strftime() argument 1 must be str, not " + type_name(a.get(0)));
        return Value(python_strftime(fixed ? *fixed : system_now(), a.get(0).as_string()));
    });
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// ChatTemplate

ChatTemplate ChatTemplate::parse(std::string source) {
    auto src = std::make_shared<const std::string>(std::move(source));
    auto program = parse_template(*src);
    return ChatTemplate(std::move(src), std::move(program));
}

std::string ChatTemplate::render(const nlohmann::ordered_json& context, const RenderOptions& options) const {
    if (!context.is_object() && !context.is_null()) throw Error("chat template context must be a JSON object");
    auto globals = std::make_shared<Scope>();
    add_global_functions(*globals);
    globals->set("raise_exception", Value::function("raise_exception", [](Interpreter&, CallArgs& args) -> Value {
                     Args a("raise_exception", args, {"message"}, 1);
                     throw TemplateError(TemplateError::Kind::Raised, to_str(a.get(0)));
                 }));
    if (options.now) {
        globals->set("strftime_now", strftime_function(parse_iso(*options.now)));
    } else if (options.system_clock) {
        globals->set("strftime_now", strftime_function(std::nullopt));
    }
    auto vars = std::make_shared<Scope>(globals);
    if (context.is_object())
        for (const auto& [key, value] : context.items()) vars->set(key, from_json(value));
    Interpreter interp(program_, vars);
    return interp.render();
}

std::string render_chat(const ChatTemplate& tmpl, const ChatInputs& in) {
    nlohmann::ordered_json context = nlohmann::ordered_json::object();
    context["messages"] = in.messages;
    context["tools"] = in.tools;
    context["documents"] = nullptr;
    context["add_generation_prompt"] = in.add_generation_prompt;
    if (in.bos_token) context["bos_token"] = *in.bos_token;
    if (in.eos_token) context["eos_token"] = *in.eos_token;
    if (in.kwargs.is_object())
        for (const auto& [key, value] : in.kwargs.items()) context[key] = value;
    return tmpl.render(context, in.options);
}

void arguments_as_text(nlohmann::ordered_json& messages) {
    if (!messages.is_array()) return;
    for (auto& m : messages) {
        if (!m.is_object() || !m.contains("tool_calls") || !m["tool_calls"].is_array()) continue;
        for (auto& call : m["tool_calls"]) {
            if (!call.is_object() || !call.contains("function") || !call["function"].is_object()) continue;
            auto& f = call["function"];
            if (f.contains("arguments") && !f["arguments"].is_string())
                f["arguments"] = to_json(from_json(f["arguments"]), JsonStyle{});
        }
    }
}

bool wants_text_arguments(const ChatTemplate& tmpl) {
    // A key no template writes by itself: it shows up only where the arguments were rendered.
    constexpr const char* kProbeKey = "hearth_probe_argument";
    const nlohmann::ordered_json call = {
        {"id", "call_0"},
        {"type", "function"},
        {"function", {{"name", "hearth_probe"}, {"arguments", {{kProbeKey, 1}}}}}};
    // Templates branch on the call's content (DeepSeek V3 renders calls only when it is null):
    // probe both the OpenAI wire shape (null) and an empty string.
    auto probe = [&](nlohmann::ordered_json content, bool text) {
        ChatInputs in;
        in.messages = nlohmann::ordered_json::array(
            {{{"role", "user"}, {"content", "hi"}},
             {{"role", "assistant"}, {"content", std::move(content)}, {"tool_calls", nlohmann::ordered_json::array({call})}},
             {{"role", "tool"}, {"tool_call_id", "call_0"}, {"name", "hearth_probe"}, {"content", "1"}}});
        if (text) arguments_as_text(in.messages);
        try {
            return render_chat(tmpl, in).find(kProbeKey) != std::string::npos;
        } catch (const std::exception&) {
            return false;
        }
    };
    if (probe(nullptr, false) || probe("", false)) return false;
    return probe(nullptr, true) || probe("", true);
}

ChatInputs chat_inputs_from_conversation(const nlohmann::ordered_json& conv) {
    if (!conv.is_object()) throw Error("a conversation must be a JSON object with \"messages\"");
    const auto messages = conv.find("messages");
    if (messages == conv.end() || !messages->is_array())
        throw Error("a conversation needs a \"messages\" array");
    ChatInputs in;
    in.messages = *messages;
    if (auto it = conv.find("tools"); it != conv.end()) in.tools = *it;
    if (auto it = conv.find("chat_template_kwargs"); it != conv.end()) {
        if (!it->is_object() && !it->is_null()) throw Error("\"chat_template_kwargs\" must be an object");
        if (it->is_object()) in.kwargs = *it;
    }
    if (auto it = conv.find("now"); it != conv.end() && !it->is_null()) {
        if (!it->is_string()) throw Error("\"now\" must be an ISO 8601 string");
        in.options.now = it->get<std::string>();
        parse_iso(*in.options.now);  // reject a bad time before rendering
    }
    return in;
}

const std::string& default_chat_template() {
    static const std::string t =
        "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
        "'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
    return t;
}

}  // namespace hearth::chat
