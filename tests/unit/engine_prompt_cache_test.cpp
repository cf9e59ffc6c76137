// The scheduler's prompt cache: a slot keeps its KV cache (and, for hybrids, its recurrent state
// and checkpoints) after a request, and a later request sharing a prefix evaluates only the rest.
// Checked: resumed logits equal fresh ones, cached and uncached schedulers give the same greedy
// tokens, and slot choice (longest prefix, else least recently used) — on the tiny synthetic
// model, a tiny gemma4 (KV sharing), and with ../shared the sliding-window and hybrid goldens.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "convert/quant_mix.h"
#include "convert/synth.h"
#include "engine/batch_scheduler.h"
#include "engine/loader.h"
#include "test_support.h"

namespace hearth {
namespace {

std::vector<TokenId> some_tokens(int n, int seed, int n_vocab) {
    std::vector<TokenId> t;
    for (int i = 0; i < n; ++i) t.push_back(3 + (seed * 131 + i * 17 + i * i * 7) % (n_vocab - 3));
    return t;
}

std::vector<TokenId> concat(std::vector<TokenId> a, const std::vector<TokenId>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

BatchRequest greedy(std::vector<TokenId> prompt, int n_predict) {
    BatchRequest r;
    r.prompt = std::move(prompt);
    r.n_predict = n_predict;
    r.sampling.temperature = 0;
    r.sampling.seed = 7;
    return r;
}

SchedulerOptions options(int n_slots, bool prompt_cache) {
    SchedulerOptions o;
    o.n_slots = n_slots;
    o.n_ctx = 128;
    o.n_threads = 2;
    o.kv_type = ops::KvType::F32;
    o.n_batch = 16;  // long prompts arrive in several chunks
    o.prompt_cache = prompt_cache;
    return o;
}

JobResult run_one(BatchScheduler& sched, std::vector<TokenId> prompt, int n_predict) {
    auto job = sched.submit(greedy(std::move(prompt), n_predict));
    if (!job) ADD_FAILURE() << "the queue rejected a request";
    return job ? job->wait() : JobResult{};
}

std::string tiny_gemma4(const std::filesystem::path& dir) {
    convert::SynthOptions o;
    o.preset = convert::find_model_preset("tiny-gemma4");
    o.mix = &convert::find_quant_mix("F32");
    const std::string path = (dir / "g4.gguf").string();
    convert::synthesize_model(o, path);
    return path;
}

// ---- resumed logits -------------------------------------------------------------------------

// A cache that evaluated `prefix + other` and is cut back to the prefix gives, for the rest of
// the prompt, the logits a fresh cache gives for the whole prompt (F32 golden tolerance).
void expect_resumed_logits_equal_fresh(const Model& model) {
    const int n_vocab = model.hparams().n_vocab;
    ThreadPool pool(2);
    ops::Context ctx{&pool};
    // Longer than gemma3's and gpt-oss's window of 16: the window slides across the cut.
    const std::vector<TokenId> prefix = some_tokens(37, 1, n_vocab), rest = some_tokens(9, 2, n_vocab),
                               other = some_tokens(13, 3, n_vocab);
    const std::vector<TokenId> prompt = concat(prefix, rest);

    std::vector<float> fresh, resumed, ignored;
    KvCache a(model.hparams(), 128, ops::KvType::F32);
    model.forward(ctx, prompt, 0, a, LogitsFor::All, fresh);

    KvCache b(model.hparams(), 128, ops::KvType::F32);
    model.forward(ctx, prefix, 0, b, LogitsFor::Last, ignored);
    b.checkpoint();  // what the scheduler takes at a prompt's end (a no-op for transformers)
    model.forward(ctx, other, static_cast<int>(prefix.size()), b, LogitsFor::Last, ignored);
    ASSERT_EQ(b.rewind_to(static_cast<int>(prefix.size())), static_cast<int>(prefix.size()));
    model.forward(ctx, rest, static_cast<int>(prefix.size()), b, LogitsFor::All, resumed);

    const std::span<const float> fresh_rest(fresh.data() + prefix.size() * n_vocab, rest.size() * n_vocab);
    const test::LogitsDiff d = test::compare_logits(resumed, fresh_rest, static_cast<size_t>(n_vocab));
    EXPECT_LE(d.max_abs, 1e-3) << d;
    EXPECT_EQ(d.top1_agree, d.rows()) << d;
}

TEST(PromptCache, ResumedLogitsEqualFresh) {
    const std::filesystem::path dir = test::temp_dir();
    test::write_tiny_model(dir / "tiny.gguf");
    {
        SCOPED_TRACE("tiny");
        expect_resumed_logits_equal_fresh(*load_model((dir / "tiny.gguf").string()).model);
    }
    {
        SCOPED_TRACE("tiny-gemma4 (KV sharing, window layers)");
        expect_resumed_logits_equal_fresh(*load_model(tiny_gemma4(dir)).model);
    }
}

TEST(PromptCache, ResumedLogitsEqualFreshForWindowAndHybridModels) {
    for (const char* name : {"synth-gemma3-256-F32", "synth-gptoss-256-F32", "synth-qwen35-256-F32",
                             "synth-qwen35moe-256-F32"}) {
        SCOPED_TRACE(name);
        HEARTH_SHARED_OR_SKIP(path, std::string("golden/arch/") + name + ".gguf");
        expect_resumed_logits_equal_fresh(*load_model(path).model);
    }
}

// ---- the scheduler: cache on equals cache off -----------------------------------------------

struct Turn {
    std::vector<TokenId> prompt;
    int n_predict;
};

// A scripted conversation on a cached scheduler (each turn built from earlier answers), replayed
// on an uncached one: every turn gives the same greedy tokens. Returns the cached run's results.
std::vector<JobResult> expect_cache_on_equals_off(const LoadedModel& lm) {
    const int n_vocab = lm.model->hparams().n_vocab;
    const std::vector<TokenId> history = some_tokens(30, 1, n_vocab);
    BatchScheduler on(*lm.model, *lm.tokenizer, options(2, true));
    std::vector<Turn> turns;
    std::vector<JobResult> cached;
    auto turn = [&](std::vector<TokenId> prompt, int n_predict) {
        turns.push_back({prompt, n_predict});
        cached.push_back(run_one(on, std::move(prompt), n_predict));
        return cached.back();
    };
    const JobResult first = turn(history, 6);
    // 1: the next chat turn (history, the answer, a new message).
    turn(concat(concat(history, first.tokens), some_tokens(5, 2, n_vocab)), 6);
    // 2: the same history, a different continuation (a regenerated or edited answer).
    turn(concat(history, some_tokens(4, 3, n_vocab)), 6);
    // 3: a strict prefix of what a slot holds.
    turn(std::vector<TokenId>(history.begin(), history.begin() + 20), 6);
    // 4: unrelated.
    turn(some_tokens(12, 9, n_vocab), 6);

    BatchScheduler off(*lm.model, *lm.tokenizer, options(2, false));
    for (size_t i = 0; i < turns.size(); ++i) {
        const JobResult r = run_one(off, turns[i].prompt, turns[i].n_predict);
        EXPECT_EQ(cached[i].tokens, r.tokens) << "turn " << i;
        EXPECT_EQ(cached[i].n_prompt, r.n_prompt) << "turn " << i;
        EXPECT_EQ(r.n_cached, 0) << "turn " << i;
        EXPECT_LT(cached[i].n_cached, cached[i].n_prompt) << "turn " << i;  // the last token is evaluated
    }
    EXPECT_EQ(off.cache_hits(), 0u);
    uint64_t hits = 0, total = 0;
    for (const JobResult& r : cached) hits += r.n_cached > 0, total += static_cast<uint64_t>(r.n_cached);
    EXPECT_EQ(on.cache_hits(), hits);
    EXPECT_EQ(on.cached_tokens_total(), total);
    return cached;
}

TEST(PromptCache, SameGreedyTokensWithAndWithoutCache) {
    const std::filesystem::path dir = test::temp_dir();
    test::write_tiny_model(dir / "tiny.gguf");
    for (const std::string& path : {(dir / "tiny.gguf").string(), tiny_gemma4(dir)}) {
        SCOPED_TRACE(path);
        LoadedModel lm = load_model(path);
        const std::vector<JobResult> r = expect_cache_on_equals_off(lm);
        // Everything cached up to the last token evaluated (turn 0 ended after 6 tokens, its
        // last one sampled but never evaluated), the shared history, the prefix less one.
        if (r[0].finish == FinishReason::Length) {
            EXPECT_EQ(r[1].n_cached, 30 + 5);
        }
        EXPECT_GE(r[1].n_cached, 30);
        EXPECT_GE(r[2].n_cached, 30);
        EXPECT_EQ(r[3].n_cached, 19);
        EXPECT_EQ(r[4].n_cached, 0);
    }
}

TEST(PromptCache, SlidingWindowModelsSameTokensWithAndWithoutCache) {
    for (const char* name : {"synth-gemma3-256-F32", "synth-gptoss-256-F32"}) {
        SCOPED_TRACE(name);
        HEARTH_SHARED_OR_SKIP(path, std::string("golden/arch/") + name + ".gguf");
        LoadedModel lm = load_model(path);
        const std::vector<JobResult> r = expect_cache_on_equals_off(lm);
        EXPECT_GE(r[1].n_cached, 30);
        EXPECT_EQ(r[3].n_cached, 19);
    }
}

// A recurrent state resumes only where it stands (the end of the last request) or at a
// checkpoint (the end of a prompt); elsewhere the slot starts over.
TEST(PromptCache, HybridModelsResumeOnlyWhereTheStateIs) {
    for (const char* name : {"synth-qwen35-256-F32", "synth-qwen35moe-256-F32"}) {
        SCOPED_TRACE(name);
        HEARTH_SHARED_OR_SKIP(path, std::string("golden/arch/") + name + ".gguf");
        LoadedModel lm = load_model(path);
        const std::vector<JobResult> r = expect_cache_on_equals_off(lm);
        if (r[0].finish == FinishReason::Length) {
            EXPECT_EQ(r[1].n_cached, 30 + 5);  // exactly where the state stood
        }
        EXPECT_EQ(r[2].n_cached, 30);  // the checkpoint at the history's end
        EXPECT_EQ(r[3].n_cached, 0);   // no state at position 19
        EXPECT_EQ(r[4].n_cached, 0);
    }
}

// ---- slot choice ----------------------------------------------------------------------------

TEST(PromptCache, LongestPrefixWinsElseLeastRecentlyUsed) {
    const std::filesystem::path dir = test::temp_dir();
    test::write_tiny_model(dir / "tiny.gguf");
    LoadedModel lm = load_model((dir / "tiny.gguf").string());
    const int n_vocab = lm.model->hparams().n_vocab;
    BatchScheduler sched(*lm.model, *lm.tokenizer, options(2, true));
    const std::vector<TokenId> a = some_tokens(24, 1, n_vocab), b = some_tokens(24, 2, n_vocab),
                               c = some_tokens(24, 3, n_vocab), more = some_tokens(3, 4, n_vocab);
    ASSERT_NE(a[0], b[0]);
    ASSERT_NE(a[0], c[0]);
    ASSERT_NE(b[0], c[0]);

    EXPECT_EQ(run_one(sched, a, 1).n_cached, 0);  // slot 0
    EXPECT_EQ(run_one(sched, b, 1).n_cached, 0);  // no match: the least recently used, slot 1
    // Each goes to the slot holding its prefix (the other one would give 0).
    EXPECT_EQ(run_one(sched, concat(a, more), 1).n_cached, 24);
    EXPECT_EQ(run_one(sched, concat(b, more), 1).n_cached, 24);
    // No match: the least recently used slot (a's) is overwritten, b's is kept.
    EXPECT_EQ(run_one(sched, c, 1).n_cached, 0);
    EXPECT_EQ(run_one(sched, b, 1).n_cached, 23);  // a strict prefix: its last token is evaluated
    EXPECT_EQ(run_one(sched, a, 1).n_cached, 0);   // a's slot holds c now
    EXPECT_EQ(sched.cache_hits(), 3u);
    EXPECT_EQ(sched.cached_tokens_total(), 24u + 24u + 23u);
}

// Requests running together each take their own slot's prefix.
TEST(PromptCache, ConcurrentRequestsReuseTheirOwnSlots) {
    const std::filesystem::path dir = test::temp_dir();
    test::write_tiny_model(dir / "tiny.gguf");
    LoadedModel lm = load_model((dir / "tiny.gguf").string());
    const int n_vocab = lm.model->hparams().n_vocab;
    BatchScheduler sched(*lm.model, *lm.tokenizer, options(2, true));
    BatchScheduler fresh(*lm.model, *lm.tokenizer, options(2, false));
    const std::vector<TokenId> a = some_tokens(40, 1, n_vocab), b = some_tokens(40, 2, n_vocab);
    run_one(sched, a, 1);
    run_one(sched, b, 1);
    const std::vector<TokenId> a2 = concat(a, some_tokens(7, 5, n_vocab)), b2 = concat(b, some_tokens(9, 6, n_vocab));
    auto ja = sched.submit(greedy(a2, 12));
    auto jb = sched.submit(greedy(b2, 12));
    ASSERT_TRUE(ja && jb);
    EXPECT_EQ(ja->wait().n_cached, 40);
    EXPECT_EQ(jb->wait().n_cached, 40);
    EXPECT_EQ(ja->result().tokens, run_one(fresh, a2, 12).tokens);
    EXPECT_EQ(jb->result().tokens, run_one(fresh, b2, 12).tokens);
}

}  // namespace
}  // namespace hearth
