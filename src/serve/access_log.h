#pragma once
// The structured access log of `hearth serve`: one JSON line per answered request on stderr
// (journald keeps it as one entry), e.g.
//   {"time":"2026-12-07T23:40:01.123Z","method":"POST","route":"/v1/chat/completions","status":200,
//    "model":"stories","prompt_tokens":12,"completion_tokens":40,"cached_tokens":11,"duration_ms":84.2}
// What only a generation knows (model, tokens) is noted on the request's AccessRecord while it
// runs: cpp-httplib serves a request on one thread from routing through the streamed body to
// its logger callback, so the record is thread-local.
#include <chrono>
#include <string>
#include <string_view>

namespace hearth::serve {

struct AccessRecord {
    std::chrono::steady_clock::time_point start{};  // set when routing begins; default: never set
    std::string model;                               // "": the request named no model
    int prompt_tokens = -1;                          // -1: not a generation (left out of the line)
    int completion_tokens = -1;
    int cached_tokens = -1;
};

// The record of the request this thread is serving.
AccessRecord& current_access();
// Starts a new record for a request arriving now.
void begin_access();

// One JSON line (with its newline) for a finished request. `now` is the log time.
std::string access_log_line(const AccessRecord& record, std::string_view method, std::string_view route, int status,
                            std::chrono::system_clock::time_point now, std::chrono::steady_clock::time_point end);

}  // namespace hearth::serve
