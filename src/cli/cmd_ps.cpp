// hearth ps: what a running `hearth serve` has loaded, from its GET /api/ps (Ollama's shape:
// {"models":[{"name","model","size","digest","expires_at","size_vram"}]}).
#include <cstdio>
#include <ctime>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "common/error.h"
#include "library/http.h"

namespace hearth::cli {
namespace {

struct PsFlags {
    std::string host = "127.0.0.1";
    int port = 8080;
    bool json = false;
};

// "2026-11-22T05:10:00.123+01:00" -> "4 minutes from now"; the text itself when unparseable.
std::string until(const std::string& stamp) {
    std::tm tm{};
    const char* rest = strptime(stamp.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest) return stamp.empty() ? "-" : stamp;
    long long t = static_cast<long long>(timegm(&tm));
    while (*rest == '.' || (*rest >= '0' && *rest <= '9')) ++rest;
    int hh = 0, mm = 0;
    if ((*rest == '+' || *rest == '-') && std::sscanf(rest + 1, "%d:%d", &hh, &mm) == 2)
        t -= (*rest == '+' ? 1 : -1) * (hh * 3600LL + mm * 60LL);
    const long long left = t - static_cast<long long>(std::time(nullptr));
    if (left > 10LL * 365 * 86400) return "forever";
    if (left <= 0) return "now";
    if (left < 60) return fmt::format("{} seconds from now", left);
    if (left < 3600) return fmt::format("{} minute{} from now", left / 60, left / 60 == 1 ? "" : "s");
    return fmt::format("{} hour{} from now", left / 3600, left / 3600 == 1 ? "" : "s");
}

int run(const PsFlags& f) {
    const std::string url = fmt::format("http://{}:{}/api/ps", f.host, f.port);
    library::HttpResponse r;
    try {
        r = library::http_get(url, {}, 10);
    } catch (const library::NetworkError&) {
        fail("no hearth serve is running on {}:{} (start one with hearth serve, or pass --host/--port)",
             f.host, f.port);
    }
    if (r.status != 200) fail("{} answered HTTP {}; is that a hearth serve?", url, r.status);
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (!j.is_object() || !j.contains("models") || !j["models"].is_array())
        fail("{} did not answer with {{\"models\": [...]}}; is that a hearth serve?", url);
    if (f.json) {
        std::printf("%s\n", j.dump(2).c_str());
        return 0;
    }
    std::printf("%-32s %-14s %-10s %-10s %s\n", "NAME", "ID", "SIZE", "PROCESSOR", "UNTIL");
    for (const auto& m : j["models"]) {
        if (!m.is_object()) continue;
        std::string digest = m.value("digest", "");
        if (digest.rfind("sha256:", 0) == 0) digest = digest.substr(7);
        const uint64_t size = m.value("size", uint64_t{0}), vram = m.value("size_vram", uint64_t{0});
        const std::string processor =
            vram == 0 ? "100% CPU" : vram >= size ? "100% GPU" : fmt::format("{}% GPU", vram * 100 / (size ? size : 1));
        std::printf("%-32s %-14s %-10s %-10s %s\n", m.value("name", "?").c_str(), digest.substr(0, 12).c_str(),
                    library::human_size(size).c_str(), processor.c_str(), until(m.value("expires_at", "")).c_str());
    }
    return 0;
}

}  // namespace

CommandRunner add_ps_command(CLI::App& app) {
    auto flags = std::make_shared<PsFlags>();
    CLI::App* cmd = app.add_subcommand("ps", "show the models a running hearth serve has loaded");
    cmd->footer("Asks the server's GET /api/ps. Columns: name, digest, memory, processor, when it unloads.");
    cmd->add_option("--host", flags->host, "server address")->capture_default_str();
    cmd->add_option("--port", flags->port, "server port")->capture_default_str()->check(CLI::Range(1, 65535));
    cmd->add_flag("--json", flags->json, "print the server's answer as JSON");
    return [flags] { return run(*flags); };
}

}  // namespace hearth::cli
