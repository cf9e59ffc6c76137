// Continuous batching: Model::forward_batch against one-sequence passes, the BatchScheduler
// (several requests decoding together give the tokens each gives alone, cancellation frees
// the slot, a full queue rejects) and StopMatcher.
#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/error.h"
#include "convert/quant_mix.h"
#include "convert/synth.h"
#include "engine/batch_scheduler.h"
#include "engine/generate.h"
#include "engine/loader.h"
#include "engine/session.h"
#include "engine/stop_strings.h"
#include "test_support.h"

namespace hearth {
namespace {

// ---- StopMatcher ------------------------------------------------------------------------------

TEST(StopMatcher, PassesTextThroughWithoutStops) {
    StopMatcher m;
    EXPECT_EQ(m.push("hello"), "hello");
    EXPECT_EQ(m.push(" world"), " world");
    EXPECT_FALSE(m.stopped());
    EXPECT_EQ(m.flush(), "");
}

TEST(StopMatcher, StopsAtAStringSplitOverPieces) {
    StopMatcher m({"END"});
    EXPECT_EQ(m.push("abc E"), "abc ");  // "E" could start "END": held
    EXPECT_EQ(m.push("N"), "");
    EXPECT_EQ(m.push("Dxyz"), "");
    EXPECT_TRUE(m.stopped());
    EXPECT_EQ(m.matched(), "END");
    EXPECT_EQ(m.push("more"), "");
    EXPECT_EQ(m.flush(), "");
}

TEST(StopMatcher, ReleasesHeldTextWhenItDoesNotMatch) {
    StopMatcher m({"END"});
    EXPECT_EQ(m.push("EN"), "");
    EXPECT_EQ(m.push("x"), "ENx");
    EXPECT_EQ(m.push("E"), "");
    EXPECT_EQ(m.flush(), "E");
    EXPECT_FALSE(m.stopped());
}

TEST(StopMatcher, EarliestOfSeveralWinsAndEmptyStopsAreIgnored) {
    StopMatcher m({"", "cd", "bcd", "\n"});
    EXPECT_EQ(m.push("abcde"), "a");
    EXPECT_EQ(m.matched(), "bcd");
}

// ---- batched forward and scheduler ----------------------------------------------------------------

class BatchTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        path_ = new std::filesystem::path(test::temp_dir() / "tiny-f32.gguf");
        test::write_tiny_model(*path_);
        tiny_ = new LoadedModel(load_model(path_->string()));
    }
    static void TearDownTestSuite() {
        delete tiny_;
        std::error_code ec;
        std::filesystem::remove(*path_, ec);
        delete path_;
    }
    static std::filesystem::path* path_;
    static LoadedModel* tiny_;
};
std::filesystem::path* BatchTest::path_ = nullptr;
LoadedModel* BatchTest::tiny_ = nullptr;

std::vector<int32_t> some_tokens(int n, int seed, int n_vocab) {
    std::vector<int32_t> t;
    for (int i = 0; i < n; ++i) t.push_back(3 + (seed * 131 + i * 17) % (n_vocab - 3));
    return t;
}

// Batched decode and prefill of several sequences give each one's logits as if it ran alone.
void expect_batched_equals_alone(const Model& model) {
    const int n_vocab = model.hparams().n_vocab;
    ThreadPool pool(2);
    ops::Context ctx{&pool};
    // Three sequences: two decoding after prompts of different lengths, one new prompt chunk.
    // (Longer than gpt-oss's and gemma3's window of 16, so the window slides.)
    const std::vector<std::vector<int32_t>> prompts = {some_tokens(21, 1, n_vocab), some_tokens(3, 2, n_vocab),
                                                       some_tokens(19, 3, n_vocab)};
    const std::vector<int32_t> next = {5, 9};

    std::vector<std::vector<float>> alone(3);
    for (int s = 0; s < 3; ++s) {
        KvCache cache(model.hparams(), 64, ops::KvType::F32);
        if (s < 2) {
            std::vector<float> ignored;
            model.forward(ctx, prompts[s], 0, cache, LogitsFor::Last, ignored);
            model.forward(ctx, {next[s]}, static_cast<int>(prompts[s].size()), cache, LogitsFor::Last, alone[s]);
        } else {
            model.forward(ctx, prompts[s], 0, cache, LogitsFor::Last, alone[s]);
        }
    }

    std::vector<std::unique_ptr<KvCache>> caches;
    for (int s = 0; s < 3; ++s) caches.push_back(std::make_unique<KvCache>(model.hparams(), 64, ops::KvType::F32));
    std::vector<float> ignored, batched;
    for (int s = 0; s < 2; ++s) model.forward(ctx, prompts[s], 0, *caches[s], LogitsFor::Last, ignored);
    std::vector<SequenceBatch> batch = {
        {std::span<const int32_t>(&next[0], 1), static_cast<int>(prompts[0].size()), caches[0].get()},
        {std::span<const int32_t>(&next[1], 1), static_cast<int>(prompts[1].size()), caches[1].get()},
        {std::span<const int32_t>(prompts[2]), 0, caches[2].get()},
    };
    model.forward_batch(ctx, batch, batched);
    ASSERT_EQ(batched.size(), static_cast<size_t>(3 * n_vocab));
    for (int s = 0; s < 3; ++s) {
        double max_diff = 0;
        for (int i = 0; i < n_vocab; ++i)
            max_diff = std::max(max_diff, static_cast<double>(std::fabs(batched[s * n_vocab + i] - alone[s][i])));
        EXPECT_LT(max_diff, 1e-3) << "sequence " << s;
    }
}

TEST_F(BatchTest, BatchedLogitsMatchOneSequenceAtATime) { expect_batched_equals_alone(*tiny_->model); }

// MoE layers group the batch's rows by expert across sequences; gpt-oss adds sliding-window
// layers and sinks, whose per-sequence key ranges must not mix; the qwen35 hybrids advance one
// recurrent state per sequence.
TEST(BatchArch, MoeSlidingWindowAndHybridBatchesMatchAlone) {
    for (const char* name : {"synth-qwen3moe-256-F32", "synth-gptoss-256-F32", "synth-gemma3-256-F32",
                             "synth-qwen35-256-F32", "synth-qwen35moe-256-F32"}) {
        SCOPED_TRACE(name);
        HEARTH_SHARED_OR_SKIP(path, std::string("golden/arch/") + name + ".gguf");
        LoadedModel lm = load_model(path);
        expect_batched_equals_alone(*lm.model);
    }
}

TEST_F(BatchTest, ForwardBatchRejectsBadBatches) {
    const Model& model = *tiny_->model;
    ThreadPool pool(1);
    ops::Context ctx{&pool};
    KvCache cache(model.hparams(), 8, ops::KvType::F32);
    const std::vector<int32_t> one = {3}, nine = some_tokens(9, 1, model.hparams().n_vocab);
    std::vector<float> logits;
    std::vector<SequenceBatch> shared = {{one, 0, &cache}, {one, 1, &cache}};
    EXPECT_THROW(model.forward_batch(ctx, shared, logits), Error);
    std::vector<SequenceBatch> too_long = {{nine, 0, &cache}};
    EXPECT_THROW(model.forward_batch(ctx, too_long, logits), Error);
    std::vector<SequenceBatch> empty = {{std::span<const int32_t>(), 0, &cache}};
    EXPECT_THROW(model.forward_batch(ctx, empty, logits), Error);
    EXPECT_THROW(model.forward_batch(ctx, {}, logits), Error);
}

BatchRequest greedy_request(std::vector<TokenId> prompt, int n_predict) {
    BatchRequest r;
    r.prompt = std::move(prompt);
    r.n_predict = n_predict;
    r.sampling.temperature = 0;
    r.sampling.seed = 7;
    return r;
}

// Four prompts through the scheduler's slots give the greedy tokens each gives alone.
void expect_scheduled_equals_alone(const std::string& path) {
    LoadedModel lm = load_model(path);
    const Tokenizer& tok = *lm.tokenizer;
    const std::vector<std::string> texts = {"Once upon a time", "The little dog", "Tom and Lily went to the park",
                                            "One day"};
    std::vector<std::vector<TokenId>> prompts;
    for (const auto& t : texts) prompts.push_back(tok.encode(t, true, false));

    // Alone: one Session per prompt with the plain generate loop.
    std::vector<std::vector<TokenId>> alone;
    for (const auto& p : prompts) {
        SessionOptions so;
        so.n_ctx = 128;
        so.n_threads = 2;
        so.kv_type = ops::KvType::F32;
        Session session(*lm.model, so);
        GenerateOptions g;
        g.n_predict = 24;
        g.sampling.temperature = 0;
        alone.push_back(generate(session, tok, p, g, nullptr).tokens);
    }

    SchedulerOptions o;
    o.n_slots = 4;
    o.n_ctx = 128;
    o.n_threads = 2;
    o.kv_type = ops::KvType::F32;
    o.n_batch = 8;  // prompts arrive in chunks beside decoding slots
    BatchScheduler sched(*lm.model, tok, o);
    std::vector<std::shared_ptr<Job>> jobs;
    for (const auto& p : prompts) jobs.push_back(sched.submit(greedy_request(p, 24)));
    for (size_t i = 0; i < jobs.size(); ++i) {
        ASSERT_TRUE(jobs[i]);
        const JobResult& r = jobs[i]->wait();
        EXPECT_EQ(r.tokens, alone[i]) << "prompt " << i;
        EXPECT_EQ(r.n_prompt, static_cast<int>(prompts[i].size()));
        EXPECT_EQ(r.n_generated, static_cast<int>(r.tokens.size()));
        EXPECT_EQ(r.text, tok.decode(r.tokens));
        EXPECT_EQ(r.finish, r.tokens.size() == 24 ? FinishReason::Length : FinishReason::Stop);
    }
    // Fewer forward passes than running them one after another: they shared steps.
    EXPECT_LT(sched.steps(), 4u * 24u);
}

TEST(BatchScheduler, GreedyTokensTogetherEqualAlone) {
    HEARTH_SHARED_OR_SKIP(path, "models/stories260K.gguf");
    expect_scheduled_equals_alone(path);
}

// The hybrids' slots each carry a recurrent state, cleared when a slot takes a new request.
TEST(BatchScheduler, HybridGreedyTokensTogetherEqualAlone) {
    for (const char* name : {"synth-qwen35-256-F32", "synth-qwen35moe-256-F32"}) {
        SCOPED_TRACE(name);
        HEARTH_SHARED_OR_SKIP(path, std::string("golden/arch/") + name + ".gguf");
        expect_scheduled_equals_alone(path);
    }
}

TEST_F(BatchTest, StreamedTextEqualsTheResult) {
    SchedulerOptions o;
    o.n_slots = 2;
    o.n_ctx = 64;
    o.n_threads = 1;
    BatchScheduler sched(*tiny_->model, *tiny_->tokenizer, o);
    auto job = sched.submit(greedy_request(some_tokens(5, 4, tiny_->model->hparams().n_vocab), 10));
    ASSERT_TRUE(job);
    std::string streamed;
    while (job->next(streamed)) {
    }
    EXPECT_EQ(streamed, job->result().text);
    EXPECT_EQ(job->result().finish, FinishReason::Length);
    EXPECT_EQ(job->result().n_generated, 10);
}

TEST_F(BatchTest, ZeroTokensAndContextLimit) {
    SchedulerOptions o;
    o.n_slots = 1;
    o.n_ctx = 16;
    o.n_threads = 1;
    BatchScheduler sched(*tiny_->model, *tiny_->tokenizer, o);
    const int n_vocab = tiny_->model->hparams().n_vocab;
    auto none = sched.submit(greedy_request(some_tokens(4, 1, n_vocab), 0));
    ASSERT_TRUE(none);
    EXPECT_EQ(none->wait().finish, FinishReason::Length);
    EXPECT_EQ(none->result().n_generated, 0);
    // Unlimited: stops when the context is full (12 prompt tokens + at most 5 generated).
    BatchRequest r = greedy_request(some_tokens(12, 2, n_vocab), -1);
    r.sampling.temperature = 1.0f;  // avoid an early end-of-generation token mostly; either end is fine
    auto full = sched.submit(r);
    const JobResult& fr = full->wait();
    EXPECT_LE(fr.n_generated, 5);
    if (fr.n_generated == 5) {
        EXPECT_EQ(fr.finish, FinishReason::Length);
    }
    EXPECT_THROW(sched.submit(greedy_request(some_tokens(17, 3, n_vocab), 1)), Error);
    EXPECT_THROW(sched.submit(greedy_request({}, 1)), Error);
    EXPECT_THROW(sched.submit(greedy_request({n_vocab}, 1)), Error);
}

TEST_F(BatchTest, CancelFreesTheSlotAndFullQueueRejects) {
    SchedulerOptions o;
    o.n_slots = 1;
    o.max_queue = 1;
    o.n_ctx = 4096;
    o.n_threads = 1;
    BatchScheduler sched(*tiny_->model, *tiny_->tokenizer, o);
    const int n_vocab = tiny_->model->hparams().n_vocab;
    BatchRequest endless = greedy_request(some_tokens(4, 1, n_vocab), 4000);
    auto a = sched.submit(endless);
    auto b = sched.submit(endless);
    ASSERT_TRUE(a);
    ASSERT_TRUE(b);
    EXPECT_EQ(sched.submit(endless), nullptr);  // one running + one queued: full

    a->cancel();
    EXPECT_EQ(a->wait().finish, FinishReason::Cancelled);
    b->cancel();
    EXPECT_EQ(b->wait().finish, FinishReason::Cancelled);
    sched.wait_idle();
    EXPECT_EQ(sched.active(), 0);
    auto c = sched.submit(greedy_request(some_tokens(4, 2, n_vocab), 3));
    ASSERT_TRUE(c);
    EXPECT_EQ(c->wait().n_generated, 3);
}

TEST_F(BatchTest, StopCancelsEverythingAndRejectsNewWork) {
    SchedulerOptions o;
    o.n_slots = 2;
    o.n_ctx = 4096;
    o.n_threads = 1;
    auto sched = std::make_unique<BatchScheduler>(*tiny_->model, *tiny_->tokenizer, o);
    const int n_vocab = tiny_->model->hparams().n_vocab;
    auto a = sched->submit(greedy_request(some_tokens(4, 1, n_vocab), 4000));
    ASSERT_TRUE(a);
    sched->stop(/*cancel_running=*/true);
    EXPECT_EQ(a->wait().finish, FinishReason::Cancelled);
    EXPECT_EQ(sched->submit(greedy_request(some_tokens(4, 1, n_vocab), 1)), nullptr);
    sched.reset();  // joins without hanging
}

TEST_F(BatchTest, RejectsBadOptions) {
    SchedulerOptions o;
    o.n_slots = 0;
    EXPECT_THROW(BatchScheduler(*tiny_->model, *tiny_->tokenizer, o), Error);
    o.n_slots = 8;
    o.n_batch = 4;
    EXPECT_THROW(BatchScheduler(*tiny_->model, *tiny_->tokenizer, o), Error);
    o.n_batch = 8;
    o.max_queue = -1;
    EXPECT_THROW(BatchScheduler(*tiny_->model, *tiny_->tokenizer, o), Error);
}

TEST_F(BatchTest, StopStringsEndGenerationAndAreNotShown) {
    SchedulerOptions o;
    o.n_slots = 1;
    o.n_ctx = 64;
    o.n_threads = 1;
    BatchScheduler sched(*tiny_->model, *tiny_->tokenizer, o);
    BatchRequest r = greedy_request(some_tokens(4, 5, tiny_->model->hparams().n_vocab), 20);
    auto first = sched.submit(r);
    const JobResult& full = first->wait();
    ASSERT_GE(full.text.size(), 4u);
    // Stop at a piece of what greedy decoding is known to produce.
    const std::string stop = full.text.substr(full.text.size() / 2, 2);
    r.stop = {stop};
    auto job = sched.submit(r);
    std::string streamed;
    while (job->next(streamed)) {
    }
    const JobResult& cut = job->result();
    EXPECT_EQ(cut.finish, FinishReason::Stop);
    EXPECT_EQ(cut.text, full.text.substr(0, full.text.find(stop)));
    EXPECT_EQ(streamed, cut.text);
}

}  // namespace
}  // namespace hearth

namespace hearth {
namespace {

TEST_F(BatchTest, PresenceAndFrequencyPenaltiesApplyToGeneratedTokens) {
    SchedulerOptions o;
    o.n_slots = 2;
    o.n_ctx = 64;
    o.n_threads = 1;
    BatchScheduler sched(*tiny_->model, *tiny_->tokenizer, o);
    const std::vector<TokenId> prompt = some_tokens(4, 6, tiny_->model->hparams().n_vocab);
    auto distinct = [](const std::vector<TokenId>& t) { return std::set<TokenId>(t.begin(), t.end()).size(); };

    BatchRequest r = greedy_request(prompt, 20);
    auto plain = sched.submit(r);
    const JobResult& rp = plain->wait();
    ASSERT_LT(distinct(rp.tokens), rp.tokens.size()) << "without penalties greedy repeats itself here";
    // A huge presence penalty: greedy never picks a token it already generated.
    r.presence_penalty = 1e9f;
    auto a = sched.submit(r);
    const JobResult& ra = a->wait();
    EXPECT_EQ(distinct(ra.tokens), ra.tokens.size());
    // Likewise a huge frequency penalty.
    r.presence_penalty = 0;
    r.frequency_penalty = 1e9f;
    auto b = sched.submit(r);
    const JobResult& rb = b->wait();
    EXPECT_EQ(distinct(rb.tokens), rb.tokens.size());
    // A huge negative one: after the first token, always the same one again.
    r.frequency_penalty = -1e9f;
    auto c = sched.submit(r);
    const JobResult& rc = c->wait();
    ASSERT_GE(rc.tokens.size(), 2u);
    EXPECT_EQ(distinct(rc.tokens), 1u);
}

TEST_F(BatchTest, LogprobsOfEachGeneratedToken) {
    SchedulerOptions o;
    o.n_slots = 2;
    o.n_ctx = 64;
    o.n_threads = 1;
    BatchScheduler sched(*tiny_->model, *tiny_->tokenizer, o);
    BatchRequest r = greedy_request(some_tokens(5, 8, tiny_->model->hparams().n_vocab), 12);
    r.top_logprobs = 3;
    auto job = sched.submit(r);
    std::vector<TokenLogprob> streamed;
    std::string text;
    while (job->next(text, &streamed)) {
    }
    const JobResult& res = job->result();
    ASSERT_EQ(res.logprobs.size(), res.tokens.size());
    ASSERT_EQ(streamed.size(), res.tokens.size());  // every entry reaches the reader, the last ones at the end
    for (size_t i = 0; i < res.tokens.size(); ++i) {
        const TokenLogprob& lp = res.logprobs[i];
        EXPECT_EQ(lp.token, res.tokens[i]);
        EXPECT_EQ(streamed[i].token, lp.token);
        ASSERT_EQ(lp.top.size(), 3u);
        EXPECT_EQ(lp.top[0].first, lp.token);  // greedy: the most likely token
        EXPECT_FLOAT_EQ(lp.top[0].second, lp.logprob);
        EXPECT_LE(lp.logprob, 0.0f);
        EXPECT_GE(lp.top[0].second, lp.top[1].second);
        EXPECT_GE(lp.top[1].second, lp.top[2].second);
        double mass = 0;
        for (const auto& t : lp.top) mass += std::exp(double(t.second));
        EXPECT_LE(mass, 1.0 + 1e-5);
    }
    // Not asked: none.
    BatchRequest plain = greedy_request(some_tokens(5, 8, tiny_->model->hparams().n_vocab), 4);
    EXPECT_TRUE(sched.submit(plain)->wait().logprobs.empty());
    plain.top_logprobs = 21;
    EXPECT_THROW(sched.submit(plain), Error);
}

}  // namespace
}  // namespace hearth
