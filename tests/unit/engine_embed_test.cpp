// Embeddings in the engine: the pooling rule and math on hand-made hidden states, the hidden
// states path of the forward pass against the logits path, batching, chunking and truncation.
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include <gtest/gtest.h>

#include "common/error.h"
#include "convert/quant_mix.h"
#include "convert/synth.h"
#include "engine/embed.h"
#include "engine/loader.h"
#include "engine/session.h"
#include "test_support.h"

namespace hearth {
namespace {

// Three tokens of width 2: rows (1, 2), (3, 4), (5, 12).
const std::vector<float> kHidden = {1, 2, 3, 4, 5, 12};

TEST(EmbedPooling, MeanClsLast) {
    float out[2];
    pool_hidden_states(kHidden, 3, 2, Pooling::Mean, out);
    EXPECT_FLOAT_EQ(out[0], 3.0f);
    EXPECT_FLOAT_EQ(out[1], 6.0f);
    pool_hidden_states(kHidden, 3, 2, Pooling::Cls, out);
    EXPECT_FLOAT_EQ(out[0], 1.0f);
    EXPECT_FLOAT_EQ(out[1], 2.0f);
    pool_hidden_states(kHidden, 3, 2, Pooling::Last, out);
    EXPECT_FLOAT_EQ(out[0], 5.0f);
    EXPECT_FLOAT_EQ(out[1], 12.0f);
    // Fewer tokens than asked for: the rows passed are the input's only.
    pool_hidden_states(kHidden, 2, 2, Pooling::Last, out);
    EXPECT_FLOAT_EQ(out[1], 4.0f);
    EXPECT_THROW(pool_hidden_states(kHidden, 4, 2, Pooling::Mean, out), Error);
    EXPECT_THROW(pool_hidden_states(kHidden, 0, 2, Pooling::Mean, out), Error);
    EXPECT_THROW(pool_hidden_states(kHidden, 3, 2, Pooling::Rank, out), Error);
}

TEST(EmbedPooling, L2Normalize) {
    std::vector<float> v = {5, 12};
    l2_normalize(v);
    EXPECT_FLOAT_EQ(v[0], 5.0f / 13);
    EXPECT_FLOAT_EQ(v[1], 12.0f / 13);
    std::vector<float> zero = {0, 0, 0};
    l2_normalize(zero);
    EXPECT_EQ(zero, (std::vector<float>{0, 0, 0}));
}

std::string synth(const std::string& preset, const std::string& name, int pooling_type) {
    const std::string path = (test::temp_dir() / name).string();
    convert::SynthOptions o;
    o.preset = convert::find_model_preset(preset);
    o.mix = &convert::find_quant_mix("F32");
    o.pooling_type = pooling_type;
    convert::synthesize_model(o, path);
    return path;
}

TEST(EmbedPooling, RuleFromTheFile) {
    struct Case {
        int type;
        Pooling pooling;
        const char* shown;
    };
    for (const Case& c : {Case{-1, Pooling::Mean, "mean (default: the file names none)"},
                          Case{0, Pooling::Mean, "mean (default: the file names none)"}, Case{1, Pooling::Mean, "mean"},
                          Case{2, Pooling::Cls, "cls"}, Case{3, Pooling::Last, "last"}, Case{4, Pooling::Rank, "rank"}}) {
        const std::string path = synth("tiny-qwen3", fmt::format("pool{}.gguf", c.type), c.type);
        auto file = gguf::File::open(path);
        EXPECT_EQ(model_pooling(*file), c.pooling) << c.type;
        EXPECT_EQ(describe_pooling(*file), c.shown);
    }
    // A value outside the enum: an error naming the key; show says so instead of failing.
    const std::string path = synth("tiny-qwen3", "pool9.gguf", 9);
    auto file = gguf::File::open(path);
    try {
        model_pooling(*file);
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("qwen3.pooling_type is 9"), std::string::npos) << e.what();
    }
    EXPECT_EQ(describe_pooling(*file).rfind("invalid: ", 0), 0u);
}

class EmbedModel : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        lm_ = new LoadedModel(load_model(synth("tiny-qwen3", "embed-last.gguf", 3)));
        mean_ = new LoadedModel(load_model(synth("tiny", "embed-mean.gguf", -1)));
    }
    static void TearDownTestSuite() {
        delete lm_;
        delete mean_;
    }
    static std::vector<std::vector<TokenId>> inputs() {
        return {{1, 20, 30, 40, 50}, {1, 7}, {1, 100, 101, 102, 103, 104, 105, 106, 107}, {1, 9, 9, 9}};
    }
    static LoadedModel* lm_;
    static LoadedModel* mean_;
};
LoadedModel* EmbedModel::lm_ = nullptr;
LoadedModel* EmbedModel::mean_ = nullptr;

void expect_near(const std::vector<float>& a, const std::vector<float>& b, float tol, const std::string& what) {
    ASSERT_EQ(a.size(), b.size()) << what;
    float worst = 0;
    for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
    EXPECT_LE(worst, tol) << what;
}

// The hidden state of the last token, through the output matrix, is the logits path's answer:
// hidden_states stops exactly where the logits start.
TEST_F(EmbedModel, HiddenStatesAreWhatTheOutputMatrixReads) {
    const Model& m = *lm_->model;
    const std::vector<TokenId> tokens = {1, 20, 30, 40, 50};
    SessionOptions so;
    so.n_ctx = 64;
    so.kv_type = ops::KvType::F32;
    so.n_threads = 1;
    Session session(m, so);
    const std::vector<float> logits = session.eval(tokens);

    KvCache cache(m.hparams(), 64, ops::KvType::F32);
    SequenceBatch seq{std::span<const TokenId>(tokens), 0, &cache};
    std::vector<float> hidden;
    ThreadPool pool(1);
    ops::Context ctx;
    ctx.pool = &pool;
    m.hidden_states(ctx, std::span<const SequenceBatch>(&seq, 1), hidden);
    const int64_t E = m.hparams().n_embd;
    ASSERT_EQ(hidden.size(), tokens.size() * E);
    std::vector<float> again(static_cast<size_t>(m.hparams().n_vocab));
    ops::matmul(ctx, m.weights().output, &hidden[(tokens.size() - 1) * E], 1, again.data());
    expect_near(again, logits, 1e-5f, "logits from the last hidden state");
}

TEST_F(EmbedModel, VectorsAreUnitLengthAndOfTheModelsWidth) {
    Embedder e(*lm_->model, {});
    EXPECT_EQ(e.pooling(), Pooling::Last);
    const Embeddings out = e.embed(inputs());
    ASSERT_EQ(out.vectors.size(), 4u);
    for (const auto& v : out.vectors) {
        ASSERT_EQ(v.size(), static_cast<size_t>(lm_->model->hparams().n_embd));
        const double norm = std::sqrt(std::inner_product(v.begin(), v.end(), v.begin(), 0.0));
        EXPECT_NEAR(norm, 1.0, 1e-5);
    }
    EXPECT_EQ(out.n_tokens, 5 + 2 + 9 + 4);
    // Different texts, different vectors.
    EXPECT_NE(out.vectors[0], out.vectors[1]);
    // Unnormalised: the same direction, another length.
    const Embeddings raw = e.embed(inputs(), /*normalize=*/false);
    std::vector<float> v = raw.vectors[2];
    l2_normalize(v);
    expect_near(v, out.vectors[2], 1e-6f, "normalised later");
}

TEST_F(EmbedModel, BatchedEqualsOneAtATime) {
    for (LoadedModel* model : {lm_, mean_}) {
        Embedder batched(*model->model, {});
        const Embeddings together = batched.embed(inputs());
        EXPECT_EQ(together.forward_passes, 1);
        for (size_t i = 0; i < inputs().size(); ++i) {
            Embedder alone(*model->model, {});
            const Embeddings one = alone.embed({inputs()[i]});
            expect_near(together.vectors[i], one.vectors[0], 1e-5f, fmt::format("input {}", i));
        }
    }
}

TEST_F(EmbedModel, SmallBatchesAndChunksGiveTheSameVectors) {
    for (LoadedModel* model : {lm_, mean_}) {
        Embedder one_pass(*model->model, {});
        const Embeddings reference = one_pass.embed(inputs());
        // 4 tokens per pass: the 5- and 9-token inputs run alone in chunks, the short ones share passes.
        EmbedOptions small;
        small.n_batch = 4;
        Embedder chunked(*model->model, small);
        const Embeddings out = chunked.embed(inputs());
        EXPECT_GT(out.forward_passes, 3);
        for (size_t i = 0; i < inputs().size(); ++i)
            expect_near(out.vectors[i], reference.vectors[i], 1e-5f, fmt::format("input {}", i));
    }
}

TEST_F(EmbedModel, OverLongInputIsAnErrorUnlessTruncated) {
    EmbedOptions o;
    o.n_ctx = 4;
    Embedder e(*lm_->model, o);
    std::vector<TokenId> tokens = {1, 2, 3, 4, 5, 6};
    try {
        e.fit_to_context(tokens, 2, /*truncate=*/false);
        FAIL() << "no error";
    } catch (const Error& err) {
        EXPECT_NE(std::string(err.what()).find("input 2 has 6 tokens, more than the context of 4"), std::string::npos)
            << err.what();
    }
    EXPECT_EQ(tokens.size(), 6u);
    EXPECT_THROW(e.embed({tokens}), Error);  // never cut silently
    e.fit_to_context(tokens, 2, /*truncate=*/true);
    EXPECT_EQ(tokens, (std::vector<TokenId>{1, 2, 3, 4}));
    // Truncated = the first n_ctx tokens embedded.
    EXPECT_EQ(e.embed({tokens}).vectors[0], e.embed({{1, 2, 3, 4}}).vectors[0]);
    std::vector<TokenId> empty;
    EXPECT_THROW(e.fit_to_context(empty, 0, true), Error);
    EXPECT_THROW(e.embed({{}}), Error);
}

TEST_F(EmbedModel, RerankersAndEncodersAreRefused) {
    LoadedModel rank = load_model(synth("tiny-qwen3", "embed-rank.gguf", 4));
    try {
        Embedder e(*rank.model, {});
        FAIL() << "no error";
    } catch (const Error& err) {
        EXPECT_NE(std::string(err.what()).find("rank"), std::string::npos) << err.what();
    }
}

// Hybrids (recurrent layers) go through the same path: each input starts a fresh state.
TEST_F(EmbedModel, HybridModelsEmbedToo) {
    LoadedModel hybrid = load_model(synth("tiny-qwen35", "embed-hybrid.gguf", -1));
    Embedder e(*hybrid.model, {});
    const Embeddings together = e.embed(inputs());
    for (size_t i = 0; i < inputs().size(); ++i)
        expect_near(together.vectors[i], e.embed({inputs()[i]}).vectors[0], 1e-5f, fmt::format("input {}", i));
}

}  // namespace
}  // namespace hearth
