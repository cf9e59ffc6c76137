#pragma once
// Where a run's responses go as they are measured: each is appended to DIR/results.jsonl and
// DIR/results.csv and flushed at once, so an interrupted or killed run loses at most the
// response in progress. `--resume DIR` reads the JSONL back (load_results_jsonl).
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "cost/results.h"

namespace hearth::cost {

// A response's identity within a run: which backend, which prompt, which repetition.
using SampleKey = std::tuple<std::string, std::string, int>;
inline SampleKey key_of(const CostSample& s) { return {s.model, s.prompt_id, s.run}; }

class ResultsLog {
public:
    // Appends to DIR/results.jsonl and DIR/results.csv (created when missing; the CSV gets its
    // header when empty). `previous` are the samples those files already hold (--resume).
    // Throws hearth::Error naming a file that cannot be opened.
    ResultsLog(const std::string& dir, std::vector<CostSample> previous);
    ~ResultsLog();
    ResultsLog(const ResultsLog&) = delete;
    ResultsLog& operator=(const ResultsLog&) = delete;

    // Writes the sample to both files and flushes them; a sample of a key already present
    // replaces it (a failed response run again). Safe from any thread.
    void append(const CostSample& s);
    // Every sample so far, one per key, in the order the keys first came.
    std::vector<CostSample> samples() const;
    // Whether a successful sample of this key is recorded (--resume skips it).
    bool done(const SampleKey& key) const;

private:
    void put_locked(const CostSample& s);

    mutable std::mutex mutex_;
    std::FILE* jsonl_ = nullptr;
    std::FILE* csv_ = nullptr;
    std::vector<CostSample> samples_;
    std::map<SampleKey, size_t> index_;
};

// Reads results.jsonl: one sample a line, a later line of the same key replacing an earlier
// one. A last line cut short (the process was killed while writing it) is dropped; any other
// bad line is an error naming FILE:LINE.
std::vector<CostSample> load_results_jsonl(const std::string& path);

}  // namespace hearth::cost
