#include "engine/stop_strings.h"

#include <algorithm>

namespace hearth {

StopMatcher::StopMatcher(std::vector<std::string> stops) {
    for (std::string& s : stops)
        if (!s.empty()) stops_.push_back(std::move(s));
}

std::string StopMatcher::push(std::string_view piece) {
    if (stopped_) return "";
    held_.append(piece);
    // The earliest complete match wins (ties: the longer stop string).
    size_t best = std::string::npos, best_len = 0;
    for (const std::string& s : stops_) {
        const size_t at = held_.find(s);
        if (at != std::string::npos && (at < best || (at == best && s.size() > best_len))) {
            best = at;
            best_len = s.size();
        }
    }
    if (best != std::string::npos) {
        stopped_ = true;
        matched_ = held_.substr(best, best_len);
        std::string out = held_.substr(0, best);
        held_.clear();
        return out;
    }
    // Hold back the longest suffix that is a proper prefix of some stop string.
    size_t keep = 0;
    for (const std::string& s : stops_) {
        const size_t max_len = std::min(s.size() - 1, held_.size());
        for (size_t len = max_len; len > keep; --len)
            if (held_.compare(held_.size() - len, len, s, 0, len) == 0) {
                keep = len;
                break;
            }
    }
    std::string out = held_.substr(0, held_.size() - keep);
    held_.erase(0, held_.size() - keep);
    return out;
}

std::string StopMatcher::flush() {
    std::string out;
    out.swap(held_);
    return stopped_ ? std::string() : out;
}

}  // namespace hearth
