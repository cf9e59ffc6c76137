#include "cost/results_log.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/error.h"

namespace hearth::cost {

namespace {

std::FILE* open_append(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "ab");
    if (!f) fail("{}: cannot open for appending: {}", path, std::strerror(errno));
    return f;
}

void write_flushed(std::FILE* f, const std::string& text) {
    if (std::fwrite(text.data(), 1, text.size(), f) != text.size() || std::fflush(f) != 0)
        fail("results: write failed: {}", std::strerror(errno));
}

}  // namespace

ResultsLog::ResultsLog(const std::string& dir, std::vector<CostSample> previous) {
    jsonl_ = open_append(dir + "/results.jsonl");
    try {
        csv_ = open_append(dir + "/results.csv");
        if (std::ftell(csv_) == 0) write_flushed(csv_, samples_csv_header());
    } catch (...) {
        std::fclose(jsonl_);
        if (csv_) std::fclose(csv_);
        throw;
    }
    for (auto& s : previous) put_locked(s);
}

ResultsLog::~ResultsLog() {
    std::fclose(jsonl_);
    std::fclose(csv_);
}

void ResultsLog::put_locked(const CostSample& s) {
    auto [it, fresh] = index_.try_emplace(key_of(s), samples_.size());
    if (fresh) samples_.push_back(s);
    else samples_[it->second] = s;
}

void ResultsLog::append(const CostSample& s) {
    std::lock_guard lock(mutex_);
    write_flushed(jsonl_, sample_to_json(s).dump() + "\n");
    write_flushed(csv_, sample_csv_row(s));
    put_locked(s);
}

std::vector<CostSample> ResultsLog::samples() const {
    std::lock_guard lock(mutex_);
    return samples_;
}

bool ResultsLog::done(const SampleKey& key) const {
    std::lock_guard lock(mutex_);
    auto it = index_.find(key);
    return it != index_.end() && samples_[it->second].ok();
}

std::vector<CostSample> load_results_jsonl(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("{}: cannot read: {}", path, std::strerror(errno));
    std::stringstream buffer;
    buffer << in.rdbuf();
    const std::string text = buffer.str();
    std::vector<CostSample> out;
    std::map<SampleKey, size_t> index;
    size_t pos = 0;
    int line_no = 0;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        const bool last_cut_short = nl == std::string::npos;
        std::string line = text.substr(pos, last_cut_short ? std::string::npos : nl - pos);
        pos = last_cut_short ? text.size() : nl + 1;
        ++line_no;
        if (line.empty()) continue;
        CostSample s;
        try {
            s = sample_from_json(nlohmann::json::parse(line));
        } catch (const nlohmann::json::parse_error&) {
            if (last_cut_short) break;  // written when the process was killed
            fail("{}:{}: not a JSON object", path, line_no);
        } catch (const Error& e) {
            fail("{}:{}: {}", path, line_no, e.what());
        }
        auto [it, fresh] = index.try_emplace(key_of(s), out.size());
        if (fresh) out.push_back(std::move(s));
        else out[it->second] = std::move(s);
    }
    return out;
}

}  // namespace hearth::cost
