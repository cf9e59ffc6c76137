#pragma once
// Continuous batching for many users of one model. The scheduler owns N slots (each a KV cache
// and a sampler) and a bounded queue of requests. One thread loops: admit queued requests into
// free slots, build one batch (the next token of every decoding slot plus chunks of new
// prompts, at most n_batch tokens), run one batched forward pass, sample per slot, hand text to
// each request, and retire finished or cancelled ones. New requests join between steps.
//
// Prompt cache: a slot keeps its KV cache and the tokens it holds when its request ends. A new
// request goes to the free slot whose cached tokens share the longest prefix with its prompt
// (the least recently used one when none shares any) and evaluates only the rest. Recurrent
// state (qwen35 hybrids) cannot be cut back: those slots resume only where the state, or one of
// its checkpoints, stands (model/kv_cache.h), else from position 0.
//
//   BatchScheduler sched(model, tokenizer, {.n_slots = 4});
//   auto job = sched.submit(std::move(request));   // nullptr: the queue is full
//   std::string piece;
//   while (job->next(piece)) print(piece);          // blocks; false once finished
//   job->result().finish ...
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/thread_pool.h"
#include "grammar/token_constraint.h"
#include "model/model.h"
#include "sample/logprobs.h"
#include "sample/sampler.h"
#include "tokenizer/tokenizer.h"

namespace hearth {

struct SchedulerOptions {
    int n_slots = 4;           // sequences decoded together (--parallel)
    int n_ctx = 0;             // context per slot; 0: the model's, capped as for a Session
    ops::KvType kv_type = ops::KvType::F16;
    int n_threads = 0;         // 0: all cores
    int n_batch = 512;         // tokens per forward pass (at least n_slots)
    int max_queue = 64;        // requests waiting for a slot; more are rejected
    bool prompt_cache = true;  // reuse a slot's cached prefix (false: every request from position 0)
};

struct BatchRequest {
    std::vector<TokenId> prompt;  // non-empty, at most n_ctx tokens
    int n_predict = -1;           // -1: until end of generation or a full context
    SamplingParams sampling;
    // OpenAI penalties over the tokens generated so far: logit -= presence·[count > 0] + frequency·count.
    float presence_penalty = 0.0f;
    float frequency_penalty = 0.0f;
    std::vector<std::string> stop;  // stop strings (not included in the output)
    // -1: no log-probabilities; 0..kMaxTopLogprobs: each generated token's, and this many of
    // the most likely alternatives (sample/logprobs.h).
    int top_logprobs = -1;
    // Grammar-constrained sampling (structured output, forced tool calls): only tokens that keep
    // the text inside the grammar are sampled, and generation ends when it is complete. The
    // caller parses the grammar (so a bad one fails before submit); the slot that runs the
    // request keeps its own parse state over the shared vocabulary trie
    // (engine/grammar_constraint.h). Both set, or neither.
    std::shared_ptr<const grammar::Grammar> grammar;
    std::shared_ptr<const grammar::VocabTrie> vocab;
};

inline constexpr int kMaxTopLogprobs = 20;

enum class FinishReason { Stop, Length, Cancelled, Error };
const char* finish_reason_name(FinishReason r);  // "stop", "length", "cancelled", "error"

struct JobResult {
    FinishReason finish = FinishReason::Stop;
    std::string error;              // for FinishReason::Error
    std::vector<TokenId> tokens;    // generated ids (no end-of-generation token)
    std::vector<TokenLogprob> logprobs;  // one per generated token, when the request asked
    std::string text;               // the whole output text (stop string excluded)
    int n_prompt = 0;
    int n_cached = 0;               // prompt tokens taken from the slot's cache (n_prompt − n_cached evaluated)
    int n_generated = 0;            // == tokens.size()
    uint64_t seed = 0;              // the seed actually used
    double queue_ms = 0;            // from submit to admission into a slot
    double prompt_ms = 0;           // admission to the first token's logits
    double gen_ms = 0;              // from there to the end
};

// A submitted request: a thread-safe handle the front-end reads text from.
class Job {
public:
    // Blocks until text is ready (appended to `out`, returns true) or the job is finished
    // (returns false; result() is then final). `logprobs`, when given, receives the entries of
    // the tokens generated since the last call (a token's text may still be held back for a
    // stop string or an incomplete character, so entries can come before their text).
    bool next(std::string& out, std::vector<TokenLogprob>* logprobs = nullptr);
    // Asks the scheduler to stop this job at its next step; frees its slot.
    void cancel() { cancel_.store(true); }
    bool cancelled() const { return cancel_.load(); }
    // Waits for the end and returns the result (the text is in result().text too).
    const JobResult& wait();
    const JobResult& result() const { return result_; }

private:
    friend class BatchScheduler;
    void push_text(std::string text);
    void push_logprob(TokenLogprob entry);
    void finish(JobResult result);

    BatchRequest request_;
    std::chrono::steady_clock::time_point submitted_;
    std::atomic<bool> cancel_{false};
    std::mutex mutex_;
    std::condition_variable cv_;
    std::string pending_;
    std::vector<TokenLogprob> pending_logprobs_;
    bool done_ = false;
    JobResult result_;
};

class BatchScheduler {
public:
    // Validates the options (throws hearth::Error) and starts the scheduling thread.
    BatchScheduler(const Model& model, const Tokenizer& tokenizer, const SchedulerOptions& options);
    // Cancels everything and joins the thread.
    ~BatchScheduler();
    BatchScheduler(const BatchScheduler&) = delete;
    BatchScheduler& operator=(const BatchScheduler&) = delete;

    // Queues a request. Returns nullptr when the queue is full or the scheduler is stopping.
    // Throws hearth::Error for a request that can never run (empty or too long a prompt, bad
    // sampling values).
    std::shared_ptr<Job> submit(BatchRequest request);

    // Stops accepting requests. With cancel_running, in-flight and queued requests end as
    // Cancelled; otherwise they run to their end. Returns at once; ~BatchScheduler waits.
    void stop(bool cancel_running);
    // Blocks until no request is queued or running.
    void wait_idle();

    int n_slots() const { return options_.n_slots; }
    int n_ctx() const { return n_ctx_; }
    int n_threads() const { return pool_.size(); }
    int active() const { return active_.load(); }
    int queued() const;
    uint64_t steps() const { return steps_.load(); }  // forward passes run so far
    bool prompt_cache() const { return options_.prompt_cache; }
    uint64_t cache_hits() const { return cache_hits_.load(); }            // requests that reused a prefix
    uint64_t cached_tokens_total() const { return cached_tokens_.load(); }  // prompt tokens they did not evaluate

private:
    struct Slot;
    void loop();
    // The free slot for `prompt`: the longest reusable prefix, then the least recently used. Null: none free.
    Slot* pick_slot(const std::vector<TokenId>& prompt);
    // How many of `prompt`'s tokens `slot` can take from its cache (never the last one: its logits are needed).
    int reusable(const Slot& slot, const std::vector<TokenId>& prompt) const;
    void admit(Slot& slot, std::shared_ptr<Job> job);
    void retire(Slot& slot, FinishReason reason, std::string error = {});
    // Samples the next token of `slot` from one row of logits, streams its text and retires the
    // slot when it is done.
    void step_slot(Slot& slot, const float* logits);

    const Model& model_;
    const Tokenizer& tokenizer_;
    SchedulerOptions options_;
    int n_ctx_;
    ThreadPool pool_;
    ops::Context ctx_;
    std::vector<std::unique_ptr<Slot>> slots_;

    mutable std::mutex mutex_;
    std::condition_variable wake_, idle_;
    std::deque<std::shared_ptr<Job>> queue_;
    bool accepting_ = true;
    bool cancel_all_ = false;
    bool quit_ = false;
    std::atomic<int> active_{0};
    std::atomic<uint64_t> steps_{0};
    std::atomic<uint64_t> cache_hits_{0}, cached_tokens_{0};
    uint64_t use_clock_ = 0;  // ticks at each retire; a slot's last_used (scheduler thread only)
    std::thread thread_;
};

}  // namespace hearth
