#include "serve/access_log.h"

#include <cmath>
#include <ctime>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace hearth::serve {

AccessRecord& current_access() {
    static thread_local AccessRecord record;
    return record;
}

void begin_access() {
    AccessRecord& r = current_access();
    r = AccessRecord{};
    r.start = std::chrono::steady_clock::now();
}

namespace {

std::string utc_millis(std::chrono::system_clock::time_point t) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
    const std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                       tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
}

}  // namespace

std::string access_log_line(const AccessRecord& record, std::string_view method, std::string_view route, int status,
                            std::chrono::system_clock::time_point now, std::chrono::steady_clock::time_point end) {
    nlohmann::ordered_json j;
    j["time"] = utc_millis(now);
    j["method"] = method;
    j["route"] = route;
    j["status"] = status;
    if (!record.model.empty()) j["model"] = record.model;
    if (record.prompt_tokens >= 0) j["prompt_tokens"] = record.prompt_tokens;
    if (record.completion_tokens >= 0) j["completion_tokens"] = record.completion_tokens;
    if (record.cached_tokens >= 0) j["cached_tokens"] = record.cached_tokens;
    // A request httplib refused before routing (e.g. a malformed request line) has no start.
    const double ms = record.start == std::chrono::steady_clock::time_point{}
                          ? 0.0
                          : std::chrono::duration<double, std::milli>(end - record.start).count();
    j["duration_ms"] = std::round(ms * 10) / 10;
    // Paths and model names come from clients: dump() escapes them (invalid UTF-8 replaced).
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace hearth::serve
