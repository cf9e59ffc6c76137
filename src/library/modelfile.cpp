#include "library/modelfile.h"

#include <charconv>
#include <cmath>
#include <vector>

#include "common/error.h"

namespace hearth::library {
namespace {

struct ParamSpec {
    const char* name;
    enum Kind { Int, Real, Text } kind;
};
constexpr ParamSpec kParams[] = {
    {"num_ctx", ParamSpec::Int},        {"num_predict", ParamSpec::Int},   {"temperature", ParamSpec::Real},
    {"top_k", ParamSpec::Int},          {"top_p", ParamSpec::Real},        {"min_p", ParamSpec::Real},
    {"repeat_penalty", ParamSpec::Real}, {"repeat_last_n", ParamSpec::Int}, {"seed", ParamSpec::Int},
    {"stop", ParamSpec::Text},
};

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

std::string upper(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return out;
}

}  // namespace

Modelfile parse_modelfile(std::string_view text, const std::string& label) {
    Modelfile mf;
    bool have_from = false;
    size_t pos = 0;
    int line_no = 0;
    auto next_line = [&](std::string_view& line) {
        if (pos >= text.size()) return false;
        size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        line = text.substr(pos, end - pos);
        pos = end + 1;
        ++line_no;
        return true;
    };
    std::string_view line;
    while (next_line(line)) {
        std::string_view s = trim(line);
        if (s.empty() || s[0] == '#') continue;
        const int at = line_no;
        size_t sp = s.find_first_of(" \t");
        const std::string word = upper(s.substr(0, sp));
        std::string_view arg = sp == std::string_view::npos ? std::string_view() : trim(s.substr(sp));

        // A value is the rest of the line, or """ ... """ over several lines.
        auto value = [&]() -> std::string {
            if (arg.substr(0, 3) != "\"\"\"") return std::string(arg);
            std::string_view rest = arg.substr(3);
            size_t close = rest.find("\"\"\"");
            if (close != std::string_view::npos) {
                if (!trim(rest.substr(close + 3)).empty())
                    fail("{}:{}: unexpected text after the closing \"\"\"", label, at);
                return std::string(rest.substr(0, close));
            }
            std::string out(rest);
            std::string_view more;
            while (next_line(more)) {
                out += '\n';
                close = more.find("\"\"\"");
                if (close != std::string_view::npos) {
                    if (!trim(more.substr(close + 3)).empty())
                        fail("{}:{}: unexpected text after the closing \"\"\"", label, line_no);
                    out += more.substr(0, close);
                    // A block that starts right after """ drops that first empty line.
                    if (!out.empty() && out[0] == '\n') out.erase(0, 1);
                    return out;
                }
                out += more;
            }
            fail("{}:{}: the \"\"\" opened here is never closed", label, at);
        };

        if (word == "FROM") {
            if (have_from) fail("{}:{}: FROM given twice", label, at);
            if (arg.empty()) fail("{}:{}: FROM needs a model name or GGUF path", label, at);
            mf.from = std::string(arg);
            have_from = true;
        } else if (word == "SYSTEM") {
            mf.system = value();
        } else if (word == "TEMPLATE") {
            mf.tmpl = value();
        } else if (word == "LICENSE") {
            mf.license = value();
        } else if (word == "PARAMETER") {
            size_t ksp = arg.find_first_of(" \t");
            if (arg.empty() || ksp == std::string_view::npos)
                fail("{}:{}: PARAMETER needs a name and a value, like PARAMETER temperature 0.7", label, at);
            std::string key(arg.substr(0, ksp));
            std::string_view val = trim(arg.substr(ksp));
            const ParamSpec* spec = nullptr;
            for (const auto& p : kParams)
                if (key == p.name) spec = &p;
            if (!spec) {
                std::string names;
                for (const auto& p : kParams) names += (names.empty() ? "" : ", ") + std::string(p.name);
                fail("{}:{}: unknown parameter '{}' (known: {})", label, at, key, names);
            }
            if (spec->kind == ParamSpec::Text) {
                std::string v(val);
                if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
                if (!mf.params.contains(key)) mf.params[key] = nlohmann::ordered_json::array();
                mf.params[key].push_back(v);
            } else if (spec->kind == ParamSpec::Int) {
                long long v = 0;
                auto [end, ec] = std::from_chars(val.data(), val.data() + val.size(), v);
                if (val.empty() || ec != std::errc() || end != val.data() + val.size())
                    fail("{}:{}: parameter {} needs an integer, got '{}'", label, at, key, val);
                if (key == "num_ctx" && (v <= 0 || v > (1 << 24)))
                    fail("{}:{}: num_ctx must be between 1 and {} (got {})", label, at, 1 << 24, v);
                mf.params[key] = v;
            } else {
                double v = 0;
                auto [end, ec] = std::from_chars(val.data(), val.data() + val.size(), v);
                if (val.empty() || ec != std::errc() || end != val.data() + val.size() || !std::isfinite(v))
                    fail("{}:{}: parameter {} needs a number, got '{}'", label, at, key, val);
                mf.params[key] = v;
            }
        } else {
            fail("{}:{}: unknown instruction '{}' (use FROM, SYSTEM, TEMPLATE, PARAMETER or LICENSE)", label, at,
                 std::string(s.substr(0, sp)));
        }
    }
    if (!have_from) fail("{}: no FROM line: say which model this preset is based on (FROM NAME or FROM FILE.gguf)", label);
    return mf;
}

}  // namespace hearth::library
