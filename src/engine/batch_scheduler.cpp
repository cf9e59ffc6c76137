#include "engine/batch_scheduler.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <optional>
#include <unordered_map>

#include "common/error.h"
#include "engine/session.h"
#include "engine/stop_strings.h"

namespace hearth {

using Clock = std::chrono::steady_clock;

static double ms_between(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

const char* finish_reason_name(FinishReason r) {
    switch (r) {
        case FinishReason::Stop: return "stop";
        case FinishReason::Length: return "length";
        case FinishReason::Cancelled: return "cancelled";
        case FinishReason::Error: return "error";
    }
    return "?";
}

// ---- Job ------------------------------------------------------------------------------------

bool Job::next(std::string& out, std::vector<TokenLogprob>* logprobs) {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return !pending_.empty() || done_; });
    if (logprobs) {
        std::move(pending_logprobs_.begin(), pending_logprobs_.end(), std::back_inserter(*logprobs));
        pending_logprobs_.clear();
    }
    if (pending_.empty()) return false;
    out += pending_;
    pending_.clear();
    return true;
}

const JobResult& Job::wait() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return done_; });
    return result_;
}

void Job::push_text(std::string text) {
    if (text.empty()) return;
    {
        std::lock_guard lock(mutex_);
        pending_ += text;
    }
    cv_.notify_all();
}

void Job::push_logprob(TokenLogprob entry) {
    std::lock_guard lock(mutex_);
    pending_logprobs_.push_back(std::move(entry));
}

void Job::finish(JobResult result) {
    {
        std::lock_guard lock(mutex_);
        result_ = std::move(result);
        done_ = true;
    }
    cv_.notify_all();
}

// ---- Slot -----------------------------------------------------------------------------------

struct BatchScheduler::Slot {
    Slot(const HParams& hp, int n_ctx, ops::KvType type) : cache(hp, n_ctx, type) {}

    KvCache cache;
    std::shared_ptr<Job> job;  // null: free
    std::optional<Sampler> sampler;
    std::optional<StreamDecoder> decoder;
    std::unique_ptr<grammar::TokenConstraint> constraint;  // the request's grammar state, if any
    StopMatcher stops;
    std::unordered_map<TokenId, int> counts;  // generated tokens, for the OpenAI penalties
    std::vector<float> work;                  // penalized logits
    JobResult result;
    int n_past = 0;
    size_t prompt_done = 0;  // prompt tokens evaluated so far
    TokenId next_input = 0;  // the last sampled token, evaluated at the next step
    Clock::time_point admitted, first_logits;
    // Prompt cache: the tokens at the cache's positions [0, size) once the slot is free again,
    // and when it last finished a request (least recently used goes first).
    std::vector<TokenId> cached;
    uint64_t last_used = 0;

    bool decoding() const { return job && prompt_done == job->request_.prompt.size(); }
};

// ---- BatchScheduler -------------------------------------------------------------------------

static int checked_threads(int n) {
    if (n < 0) fail("-t/--threads must be positive (got {})", n);
    return n == 0 ? ThreadPool::default_threads() : n;
}

BatchScheduler::BatchScheduler(const Model& model, const Tokenizer& tokenizer, const SchedulerOptions& options)
    : model_(model),
      tokenizer_(tokenizer),
      options_(options),
      n_ctx_(resolve_context_size(model.hparams(), options.n_ctx)),
      pool_(checked_threads(options.n_threads)) {
    if (options_.n_slots < 1 || options_.n_slots > 256)
        fail("--parallel must be in [1, 256] (got {})", options_.n_slots);
    if (options_.max_queue < 0) fail("--max-queue must be >= 0 (got {})", options_.max_queue);
    if (options_.n_batch < options_.n_slots)
        fail("-b/--batch-size ({}) must be at least --parallel ({}): every slot decodes one token per step",
             options_.n_batch, options_.n_slots);
    ctx_.pool = &pool_;
    for (int i = 0; i < options_.n_slots; ++i)
        slots_.push_back(std::make_unique<Slot>(model.hparams(), n_ctx_, options_.kv_type));
    thread_ = std::thread([this] { loop(); });
}

BatchScheduler::~BatchScheduler() {
    {
        std::lock_guard lock(mutex_);
        accepting_ = false;
        cancel_all_ = true;
        quit_ = true;
    }
    wake_.notify_all();
    thread_.join();
}

std::shared_ptr<Job> BatchScheduler::submit(BatchRequest request) {
    if (request.prompt.empty()) fail("the prompt is empty");
    if (static_cast<int64_t>(request.prompt.size()) > n_ctx_)
        fail("the prompt has {} tokens, more than the context size {}", request.prompt.size(), n_ctx_);
    for (TokenId t : request.prompt)
        if (t < 0 || t >= model_.hparams().n_vocab) fail("prompt token id {} is out of range", t);
    if (request.n_predict < -1) fail("the token limit must be -1 (none) or at least 0 (got {})", request.n_predict);
    if (!std::isfinite(request.presence_penalty) || !std::isfinite(request.frequency_penalty))
        fail("the presence and frequency penalties must be finite numbers");
    request.sampling.validate();
    if (request.top_logprobs < -1 || request.top_logprobs > kMaxTopLogprobs)
        fail("top_logprobs must be in [0, {}] (got {})", kMaxTopLogprobs, request.top_logprobs);
    if (!request.grammar != !request.vocab) fail("grammar: a grammar needs the vocabulary trie, and the trie a grammar");
    if (request.vocab && request.vocab->n_vocab() != model_.hparams().n_vocab)
        fail("grammar: built for {} tokens, the model has {}", request.vocab->n_vocab(), model_.hparams().n_vocab);

    auto job = std::make_shared<Job>();
    job->request_ = std::move(request);
    job->submitted_ = Clock::now();
    {
        std::lock_guard lock(mutex_);
        if (!accepting_) return nullptr;
        const int free_slots = options_.n_slots - active_.load();
        if (static_cast<int>(queue_.size()) >= options_.max_queue + std::max(free_slots, 0)) return nullptr;
        queue_.push_back(job);
    }
    wake_.notify_all();
    return job;
}

void BatchScheduler::stop(bool cancel_running) {
    {
        std::lock_guard lock(mutex_);
        accepting_ = false;
        if (cancel_running) cancel_all_ = true;
    }
    wake_.notify_all();
}

void BatchScheduler::wait_idle() {
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [&] { return queue_.empty() && active_.load() == 0; });
}

int BatchScheduler::queued() const {
    std::lock_guard lock(mutex_);
    return static_cast<int>(queue_.size());
}

int BatchScheduler::reusable(const Slot& slot, const std::vector<TokenId>& prompt) const {
    if (!options_.prompt_cache) return 0;
    const size_t limit = std::min(slot.cached.size(), prompt.size() - 1);
    size_t shared = 0;
    while (shared < limit && slot.cached[shared] == prompt[shared]) ++shared;
    // A KV cache resumes anywhere (later positions are overwritten; window layers read absolute
    // positions from the full cache); a recurrent state only where it or a checkpoint stands.
    return slot.cache.resume_point(static_cast<int>(shared));
}

BatchScheduler::Slot* BatchScheduler::pick_slot(const std::vector<TokenId>& prompt) {
    Slot* best = nullptr;
    int best_reuse = -1;
    for (auto& slot : slots_) {
        if (slot->job) continue;
        const int reuse = reusable(*slot, prompt);
        if (reuse > best_reuse || (reuse == best_reuse && slot->last_used < best->last_used)) {
            best = slot.get();
            best_reuse = reuse;
        }
    }
    return best;
}

void BatchScheduler::admit(Slot& slot, std::shared_ptr<Job> job) {
    const BatchRequest& req = job->request_;
    const int reuse = reusable(slot, req.prompt);
    if (reuse > 0) {
        slot.cache.rewind_to(reuse);  // == reuse (reusable asked resume_point)
        cache_hits_.fetch_add(1);
        cached_tokens_.fetch_add(static_cast<uint64_t>(reuse));
    } else {
        slot.cache.reset();
    }
    slot.cached.resize(static_cast<size_t>(reuse));
    slot.job = std::move(job);
    slot.admitted = Clock::now();
    slot.first_logits = slot.admitted;
    slot.sampler.emplace(req.sampling, model_.hparams().n_vocab);
    for (TokenId t : req.prompt) slot.sampler->accept(t);
    slot.decoder.emplace(tokenizer_);
    slot.stops = StopMatcher(req.stop);
    slot.counts.clear();
    slot.result = JobResult{};
    slot.result.n_prompt = static_cast<int>(req.prompt.size());
    slot.result.n_cached = reuse;
    slot.result.seed = slot.sampler->seed();
    slot.result.queue_ms = ms_between(slot.job->submitted_, slot.admitted);
    slot.n_past = reuse;
    slot.prompt_done = static_cast<size_t>(reuse);
    slot.constraint.reset();
    if (req.grammar) slot.constraint = std::make_unique<grammar::TokenConstraint>(*req.grammar, req.vocab);
    active_.fetch_add(1);
}

void BatchScheduler::retire(Slot& slot, FinishReason reason, std::string error) {
    JobResult& r = slot.result;
    if (reason != FinishReason::Cancelled && reason != FinishReason::Error) {
        // Text held back for an incomplete character or a possible stop string is final now.
        std::string tail = slot.stops.push(slot.decoder->flush());
        tail += slot.stops.flush();
        r.text += tail;
        slot.job->push_text(std::move(tail));
    }
    // What the cache holds now: the prompt, then the generated tokens that were evaluated (the
    // last sampled one may not have been). After an error it may hold anything: forget it.
    if (reason == FinishReason::Error) {
        slot.cached.clear();
        slot.cache.reset();
    } else {
        const std::vector<TokenId>& prompt = slot.job->request_.prompt;
        slot.cached.assign(prompt.begin(), prompt.end());
        slot.cached.insert(slot.cached.end(), r.tokens.begin(), r.tokens.end());
        slot.cached.resize(std::min(slot.cached.size(), static_cast<size_t>(slot.n_past)));
    }
    slot.last_used = ++use_clock_;
    r.finish = reason;
    r.error = std::move(error);
    r.n_generated = static_cast<int>(r.tokens.size());
    const Clock::time_point now = Clock::now();
    if (slot.first_logits == slot.admitted) slot.first_logits = now;
    r.prompt_ms = ms_between(slot.admitted, slot.first_logits);
    r.gen_ms = ms_between(slot.first_logits, now);
    slot.job->finish(std::move(r));
    slot.job.reset();
    slot.result = JobResult{};
    active_.fetch_sub(1);
}

void BatchScheduler::step_slot(Slot& slot, const float* logits) {
    const BatchRequest& req = slot.job->request_;
    JobResult& r = slot.result;
    if (r.tokens.empty() && slot.first_logits == slot.admitted) slot.first_logits = Clock::now();
    if (req.n_predict >= 0 && static_cast<int>(r.tokens.size()) >= req.n_predict)
        return retire(slot, FinishReason::Length);

    const size_t n_vocab = static_cast<size_t>(model_.hparams().n_vocab);
    std::span<const float> row(logits, n_vocab);
    if (req.presence_penalty != 0.0f || req.frequency_penalty != 0.0f) {
        slot.work.assign(logits, logits + n_vocab);
        for (const auto& [id, count] : slot.counts)
            slot.work[id] -= req.presence_penalty + req.frequency_penalty * static_cast<float>(count);
        row = slot.work;
    }
    grammar::TokenConstraint* constraint = slot.constraint.get();
    TokenId next = 0;
    if (constraint) {
        const grammar::TokenConstraint::Mask& mask = constraint->allowed();
        if (mask.n_text_allowed == 0) {
            if (mask.end_allowed) return retire(slot, FinishReason::Stop);  // complete; nothing may follow
            return retire(slot, FinishReason::Error, "grammar: no token of the vocabulary can continue the text here");
        }
        next = slot.sampler->sample(row, mask.bits);
    } else {
        next = slot.sampler->sample(row);
    }
    if (tokenizer_.is_end_of_generation(next)) return retire(slot, FinishReason::Stop);

    if (constraint) constraint->accept(next);
    slot.sampler->accept(next);
    r.tokens.push_back(next);
    if (req.top_logprobs >= 0) {
        r.logprobs.push_back(token_logprob(row, next, req.top_logprobs));
        slot.job->push_logprob(r.logprobs.back());
    }
    ++slot.counts[next];
    std::string text = slot.stops.push(slot.decoder->push(next));
    r.text += text;
    slot.job->push_text(std::move(text));
    if (slot.stops.stopped()) return retire(slot, FinishReason::Stop);
    // A complete grammar that no text can continue: done, without another forward pass.
    if (constraint && constraint->finished()) return retire(slot, FinishReason::Stop);
    if (req.n_predict >= 0 && static_cast<int>(r.tokens.size()) >= req.n_predict)
        return retire(slot, FinishReason::Length);
    if (slot.n_past >= n_ctx_) return retire(slot, FinishReason::Length);  // no room to evaluate it
    slot.next_input = next;
}

void BatchScheduler::loop() {
    std::vector<SequenceBatch> seqs;
    std::vector<Slot*> owners;
    std::vector<bool> wants_logits;
    std::vector<float> logits;
    const size_t n_vocab = static_cast<size_t>(model_.hparams().n_vocab);

    for (;;) {
        bool cancel_all = false;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] {
                return quit_ || active_.load() > 0 ||
                       (!queue_.empty() && (cancel_all_ || active_.load() < options_.n_slots));
            });
            cancel_all = cancel_all_;
            if (cancel_all) {
                for (auto& job : queue_) {
                    JobResult r;
                    r.finish = FinishReason::Cancelled;
                    r.n_prompt = static_cast<int>(job->request_.prompt.size());
                    job->finish(std::move(r));
                }
                queue_.clear();
            }
            // In order of arrival, each into the free slot that caches most of its prompt.
            while (!queue_.empty() && active_.load() < options_.n_slots) {
                std::shared_ptr<Job> job = std::move(queue_.front());
                queue_.pop_front();
                if (job->cancelled()) {
                    JobResult r;
                    r.finish = FinishReason::Cancelled;
                    r.n_prompt = static_cast<int>(job->request_.prompt.size());
                    job->finish(std::move(r));
                    continue;
                }
                Slot* slot = pick_slot(job->request_.prompt);
                if (!slot) {  // cannot happen while active_ counts the busy slots; wait for one
                    queue_.push_front(std::move(job));
                    break;
                }
                admit(*slot, std::move(job));
            }
        }

        for (auto& slot : slots_)
            if (slot->job && (cancel_all || slot->job->cancelled())) retire(*slot, FinishReason::Cancelled);

        // One batch: the next token of every decoding slot, then prompt chunks in slot order.
        seqs.clear();
        owners.clear();
        wants_logits.clear();
        int budget = options_.n_batch;
        for (auto& slot : slots_) {
            if (!slot->decoding()) continue;
            seqs.push_back({std::span<const int32_t>(&slot->next_input, 1), slot->n_past, &slot->cache});
            owners.push_back(slot.get());
            wants_logits.push_back(true);
            --budget;
        }
        for (auto& slot : slots_) {
            if (!slot->job || slot->decoding() || budget <= 0) continue;
            const std::vector<TokenId>& prompt = slot->job->request_.prompt;
            const size_t n = std::min(prompt.size() - slot->prompt_done, static_cast<size_t>(budget));
            seqs.push_back({std::span<const int32_t>(prompt.data() + slot->prompt_done, n), slot->n_past, &slot->cache});
            owners.push_back(slot.get());
            wants_logits.push_back(slot->prompt_done + n == prompt.size());
            budget -= static_cast<int>(n);
        }

        if (!seqs.empty()) {
            try {
                model_.forward_batch(ctx_, seqs, logits);
                steps_.fetch_add(1);
                for (size_t i = 0; i < seqs.size(); ++i) {
                    Slot& slot = *owners[i];
                    slot.n_past += static_cast<int>(seqs[i].tokens.size());
                    if (!slot.decoding()) {
                        slot.prompt_done += seqs[i].tokens.size();
                        // A recurrent state at the prompt's end: a later request may share the prompt but not the reply.
                        if (slot.decoding() && options_.prompt_cache) slot.cache.checkpoint();
                    }
                    if (wants_logits[i]) step_slot(slot, logits.data() + i * n_vocab);
                }
            } catch (const std::exception& e) {
                for (Slot* slot : owners)
                    if (slot->job) retire(*slot, FinishReason::Error, e.what());
            }
        }

        std::lock_guard lock(mutex_);
        if (queue_.empty() && active_.load() == 0) {
            idle_.notify_all();
            if (quit_) break;
        }
    }
}

}  // namespace hearth
