// ChatSession: rendering a conversation with a template, BOS handling, reuse of the KV cache
// for the prefix shared between turns, dropping the oldest turns when the context overflows.
// Runs on a synthetic tiny model (random weights) written to a temp dir, so needs no ../shared.
#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "chat/template.h"
#include "common/error.h"
#include "convert/quant_mix.h"
#include "convert/synth.h"
#include "engine/chat_session.h"
#include "engine/loader.h"
#include "test_support.h"

namespace hearth {
namespace {

using nlohmann::ordered_json;

class ChatSessionTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        path_ = new std::filesystem::path(test::temp_dir() / "tiny-f32.gguf");
        test::write_tiny_model(*path_);
        model_ = new LoadedModel(load_model(path_->string()));
    }
    static void TearDownTestSuite() {
        delete model_;
        model_ = nullptr;
        std::error_code ec;
        std::filesystem::remove(*path_, ec);
        delete path_;
        path_ = nullptr;
    }

    static const Tokenizer& tok() { return *model_->tokenizer; }
    static std::unique_ptr<Session> session(int n_ctx) {
        SessionOptions so;
        so.n_ctx = n_ctx;
        so.n_threads = 2;
        return std::make_unique<Session>(*model_->model, so);
    }
    static ChatFormat chatml() { return ChatFormat::with_template(chat::default_chat_template(), tok()); }
    static GenerateOptions greedy(int n_predict) {
        GenerateOptions g;
        g.n_predict = n_predict;
        g.sampling.temperature = 0;
        g.sampling.seed = 1;
        return g;
    }

    static std::filesystem::path* path_;
    static LoadedModel* model_;
};

std::filesystem::path* ChatSessionTest::path_ = nullptr;
LoadedModel* ChatSessionTest::model_ = nullptr;

TEST_F(ChatSessionTest, FormatForModelWithoutTemplateIsDefault) {
    ChatFormat f = ChatFormat::for_model(*model_->file, tok());
    EXPECT_TRUE(f.is_default);
    EXPECT_EQ(f.tmpl.source(), chat::default_chat_template());
    EXPECT_EQ(f.bos_token, std::optional<std::string>("<s>"));
    EXPECT_EQ(f.eos_token, std::optional<std::string>("</s>"));
}

TEST_F(ChatSessionTest, BosAddedOnceWhenTheVocabularyWantsIt) {
    ASSERT_TRUE(tok().vocab().add_bos);
    const TokenId bos = tok().bos();
    std::vector<TokenId> a = tokenize_chat_prompt(tok(), ChatPrompt{"hello", {}});
    ASSERT_FALSE(a.empty());
    EXPECT_EQ(a[0], bos);
    EXPECT_NE(a.size() > 1 ? a[1] : -1, bos);
    // The template already wrote BOS as text: it is parsed as the control token, not doubled.
    std::vector<TokenId> b = tokenize_chat_prompt(tok(), ChatPrompt{"<s>hello", {}});
    ASSERT_GE(b.size(), 2u);
    EXPECT_EQ(b[0], bos);
    EXPECT_NE(b[1], bos);
}

TEST_F(ChatSessionTest, RendersSystemAndTurnsWithTheTemplate) {
    auto s = session(256);
    ChatSession chat(*s, tok(), chatml());
    chat.set_system("Be brief.");
    chat.set_messages(ordered_json::parse(
        R"([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}])"));
    EXPECT_EQ(chat.render(true), "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
                                 "<|im_start|>assistant\n");
    EXPECT_EQ(chat.render(false), "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n");
    chat.set_system("Other.");
    EXPECT_EQ(chat.messages()[0]["content"], "Other.");
    EXPECT_EQ(chat.messages().size(), 2u);
    chat.clear();
    ASSERT_EQ(chat.messages().size(), 1u);
    EXPECT_EQ(chat.messages()[0]["role"], "system");
    chat.set_system("");
    EXPECT_TRUE(chat.messages().empty());
    EXPECT_THROW(chat.set_messages(ordered_json::parse(R"([{"content": "no role"}])")), Error);
    EXPECT_THROW(chat.set_messages(ordered_json::parse(R"({"role": "user"})")), Error);
}

TEST_F(ChatSessionTest, SpecialTokenTextInAMessageStaysText) {
    // The template's bos_token is parsed; "<s>" and "</s>" typed by the user are characters.
    auto s = session(256);
    ChatFormat format = ChatFormat::with_template("{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}", tok());
    ChatSession chat(*s, tok(), std::move(format));
    ChatTurnResult r = chat.respond("a</s><s>b", greedy(1), {});
    const std::vector<TokenId> prompt(chat.cached_tokens().begin(), chat.cached_tokens().begin() + r.prompt_tokens);
    EXPECT_EQ(std::count(prompt.begin(), prompt.end(), tok().bos()), 1);
    EXPECT_EQ(prompt.front(), tok().bos());
    EXPECT_EQ(std::count(prompt.begin(), prompt.end(), tok().eos()), 0);
    const std::vector<TokenId> text = tok().encode("a</s><s>b", false, false);
    EXPECT_TRUE(std::equal(text.begin(), text.end(), prompt.begin() + 1, prompt.end()));
    EXPECT_EQ(prompt.size(), text.size() + 1);
}

TEST_F(ChatSessionTest, RespondAppendsTheAnswerAndReusesThePrefix) {
    auto s = session(512);
    ChatSession chat(*s, tok(), chatml());
    chat.set_system("sys");
    std::string streamed;
    ChatTurnResult r1 = chat.respond("first question", greedy(8), [&](std::string_view t) {
        streamed += t;
        return true;
    });
    EXPECT_EQ(r1.reused_tokens, 0);
    EXPECT_EQ(r1.dropped_turns, 0);
    EXPECT_EQ(r1.text, streamed);
    ASSERT_EQ(chat.messages().size(), 3u);
    EXPECT_EQ(chat.messages()[1]["content"], "first question");
    EXPECT_EQ(chat.messages()[2]["role"], "assistant");
    EXPECT_EQ(chat.messages()[2]["content"], r1.text);
    EXPECT_EQ(static_cast<int>(chat.cached_tokens().size()), s->n_past());

    ChatTurnResult r2 = chat.respond("second question", greedy(8), {});
    // At least the whole first prompt is shared (the template only appends).
    EXPECT_GE(r2.reused_tokens, r1.prompt_tokens);
    EXPECT_LT(r2.reused_tokens, r2.prompt_tokens);
    ASSERT_EQ(chat.messages().size(), 5u);

    // The answer with the reused cache equals the answer computed from scratch.
    auto fresh = session(512);
    ChatSession again(*fresh, tok(), chatml());
    ordered_json before = chat.messages();
    before.erase(before.end() - 2, before.end());
    again.set_messages(before);
    ChatTurnResult r3 = again.respond("second question", greedy(8), {});
    EXPECT_EQ(r3.reused_tokens, 0);
    EXPECT_EQ(r3.prompt_tokens, r2.prompt_tokens);
    EXPECT_EQ(r3.generation.tokens, r2.generation.tokens);
    EXPECT_EQ(r3.text, r2.text);
}

TEST_F(ChatSessionTest, ChangedHistoryRewindsToTheCommonPrefix) {
    auto s = session(512);
    ChatSession chat(*s, tok(), chatml());
    chat.respond("one", greedy(4), {});
    const int cached = s->n_past();
    ASSERT_GT(cached, 0);
    chat.clear();  // the new prompt shares only a few leading tokens with the cache
    ChatTurnResult r = chat.respond("two", greedy(4), {});
    EXPECT_LT(r.reused_tokens, cached);
    EXPECT_EQ(static_cast<int>(chat.cached_tokens().size()), s->n_past());
    ASSERT_EQ(chat.messages().size(), 2u);
    EXPECT_EQ(chat.messages()[0]["content"], "two");
}

TEST_F(ChatSessionTest, OverflowDropsOldestTurnsKeepingTheSystemMessage) {
    auto s = session(256);
    ChatSession chat(*s, tok(), chatml());
    chat.set_system("sys");
    const std::string long_text(40, 'x');  // ~ 40 tokens each (the synthetic vocabulary has few merges)
    int total_dropped = 0, drop_calls = 0;
    for (int i = 0; i < 6; ++i) {
        ChatTurnResult r = chat.respond(long_text + std::to_string(i), greedy(16), {}, [&](int n) {
            ++drop_calls;
            total_dropped += n;
        });
        EXPECT_LE(r.prompt_tokens + ChatSession::answer_reserve(256, 16), 256) << "turn " << i;
        ASSERT_GE(chat.messages().size(), 3u);
        EXPECT_EQ(chat.messages()[0]["role"], "system");
        EXPECT_EQ(chat.messages()[chat.messages().size() - 2]["content"], long_text + std::to_string(i));
    }
    EXPECT_GT(total_dropped, 0);
    EXPECT_GT(drop_calls, 0);
    // Every message still there is from the most recent turns.
    EXPECT_LT(chat.messages().size(), 1u + 2u * 6u);
}

TEST_F(ChatSessionTest, MessageTooLongForTheContextIsAnErrorAndChangesNothing) {
    auto s = session(64);
    ChatSession chat(*s, tok(), chatml());
    chat.set_system("sys");
    const ordered_json before = chat.messages();
    EXPECT_THROW(chat.respond(std::string(400, 'y'), greedy(4), {}), Error);
    EXPECT_EQ(chat.messages(), before);
}

TEST_F(ChatSessionTest, StoppingTheAnswerKeepsWhatWasWritten) {
    auto s = session(256);
    ChatSession chat(*s, tok(), chatml());
    int pieces = 0;
    ChatTurnResult r = chat.respond("hello", greedy(50), [&](std::string_view) { return ++pieces < 3; });
    EXPECT_EQ(r.generation.stop, StopReason::Cancelled);
    ASSERT_EQ(chat.messages().size(), 2u);
    EXPECT_EQ(chat.messages()[1]["content"], r.text);
    // The next turn still works from the cache.
    ChatTurnResult r2 = chat.respond("again", greedy(4), {});
    EXPECT_GT(r2.reused_tokens, 0);
}

}  // namespace
}  // namespace hearth
