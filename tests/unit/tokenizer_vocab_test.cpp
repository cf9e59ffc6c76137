// Vocabulary loading and validation, the tokenizer factory, and SentencePiece merge order on
// small vocabularies written here as in-memory GGUF files.
#include <algorithm>
#include <cstring>

#include <gtest/gtest.h>

#include "common/error.h"
#include "gguf/gguf.h"
#include "test_support.h"
#include "tokenizer/tokenizer.h"

namespace hearth {
namespace {

// Writes a GGUF v3 file with metadata only (no tensors).
class GgufWriter {
public:
    GgufWriter& str(const std::string& key, const std::string& v) {
        this->key(key, 8);
        string(v);
        ++n_kv_;
        return *this;
    }
    GgufWriter& u32(const std::string& key, uint32_t v) { return scalar(key, 4, v); }
    GgufWriter& i32(const std::string& key, int32_t v) { return scalar(key, 5, v); }
    GgufWriter& boolean(const std::string& key, bool v) { return scalar(key, 7, uint8_t(v)); }
    GgufWriter& str_array(const std::string& key, const std::vector<std::string>& v) {
        array_header(key, 8, v.size());
        for (const auto& s : v) string(s);
        return *this;
    }
    GgufWriter& f32_array(const std::string& key, const std::vector<float>& v) {
        array_header(key, 6, v.size());
        for (float f : v) put(f);
        return *this;
    }
    GgufWriter& i32_array(const std::string& key, const std::vector<int32_t>& v) {
        array_header(key, 5, v.size());
        for (int32_t x : v) put(x);
        return *this;
    }

    // The whole file; keep it alive as long as the gguf::File parsed from it.
    const std::vector<uint8_t>& finish() {
        std::vector<uint8_t> head;
        auto put_head = [&](auto v) {
            const auto* p = reinterpret_cast<const uint8_t*>(&v);
            head.insert(head.end(), p, p + sizeof(v));
        };
        head.insert(head.end(), {'G', 'G', 'U', 'F'});
        put_head(uint32_t{3});
        put_head(uint64_t{0});  // tensors
        put_head(uint64_t{n_kv_});
        file_ = head;
        file_.insert(file_.end(), body_.begin(), body_.end());
        while (file_.size() % 32) file_.push_back(0);
        return file_;
    }

private:
    template <typename T>
    void put(T v) {
        const auto* p = reinterpret_cast<const uint8_t*>(&v);
        body_.insert(body_.end(), p, p + sizeof(v));
    }
    void string(const std::string& s) {
        put(uint64_t{s.size()});
        body_.insert(body_.end(), s.begin(), s.end());
    }
    void key(const std::string& k, uint32_t type) {
        string(k);
        put(type);
    }
    template <typename T>
    GgufWriter& scalar(const std::string& k, uint32_t type, T v) {
        key(k, type);
        put(v);
        ++n_kv_;
        return *this;
    }
    void array_header(const std::string& k, uint32_t element_type, size_t n) {
        key(k, 9);
        put(element_type);
        put(uint64_t{n});
        ++n_kv_;
    }

    std::vector<uint8_t> body_;
    std::vector<uint8_t> file_;
    uint64_t n_kv_ = 0;
};

// A tiny SentencePiece vocabulary: <unk> <s> </s> ▁ a b c ab ba ▁a.
const std::vector<std::string> kPieces = {"<unk>", "<s>", "</s>", "\xE2\x96\x81", "a", "b",
                                          "c", "ab", "ba", "\xE2\x96\x81" "a"};
const std::vector<int32_t> kTypes = {2, 3, 3, 1, 1, 1, 1, 1, 1, 1};

GgufWriter spm_writer(const std::vector<float>& scores) {
    GgufWriter w;
    w.str("general.architecture", "llama")
        .str("tokenizer.ggml.model", "llama")
        .str_array("tokenizer.ggml.tokens", kPieces)
        .f32_array("tokenizer.ggml.scores", scores)
        .i32_array("tokenizer.ggml.token_type", kTypes);
    return w;
}

const std::vector<float> kScores = {0, 0, 0, -1, -1, -1, -1, -2, -2, -3};

std::string error_of(GgufWriter& w) {
    const auto& bytes = w.finish();
    auto file = gguf::File::parse("test.gguf", bytes.data(), bytes.size());
    try {
        load_tokenizer(*file);
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

std::unique_ptr<Tokenizer> tokenizer_of(GgufWriter& w) {
    const auto& bytes = w.finish();
    auto file = gguf::File::parse("test.gguf", bytes.data(), bytes.size());
    return load_tokenizer(*file);  // copies everything it needs out of the file
}

TEST(TokenizerVocab, MissingTokensArray) {
    GgufWriter w;
    w.str("tokenizer.ggml.model", "llama");
    const std::string e = error_of(w);
    EXPECT_NE(e.find("test.gguf"), std::string::npos) << e;
    EXPECT_NE(e.find("missing tokenizer.ggml.tokens"), std::string::npos) << e;
}

TEST(TokenizerVocab, ScoresLengthMismatch) {
    auto w = spm_writer({0, 0, 0});
    const std::string e = error_of(w);
    EXPECT_NE(e.find("test.gguf: tokenizer.ggml.scores has 3 entries but tokenizer.ggml.tokens has 10"),
              std::string::npos) << e;
}

TEST(TokenizerVocab, TypesLengthMismatch) {
    GgufWriter w;
    w.str("tokenizer.ggml.model", "llama")
        .str_array("tokenizer.ggml.tokens", kPieces)
        .f32_array("tokenizer.ggml.scores", kScores)
        .i32_array("tokenizer.ggml.token_type", {1, 1});
    const std::string e = error_of(w);
    EXPECT_NE(e.find("tokenizer.ggml.token_type has 2 entries"), std::string::npos) << e;
}

TEST(TokenizerVocab, WrongArrayTypeIsAnError) {
    GgufWriter w;
    w.str("tokenizer.ggml.model", "llama")
        .str_array("tokenizer.ggml.tokens", kPieces)
        .str_array("tokenizer.ggml.scores", kPieces);
    const std::string e = error_of(w);
    EXPECT_NE(e.find("tokenizer.ggml.scores"), std::string::npos) << e;
}

TEST(TokenizerVocab, SpecialIdOutOfRange) {
    auto w = spm_writer(kScores);
    w.u32("tokenizer.ggml.eos_token_id", 10);
    const std::string e = error_of(w);
    EXPECT_NE(e.find("test.gguf: tokenizer.ggml.eos_token_id = 10 is out of range"), std::string::npos)
        << e;
}

TEST(TokenizerVocab, DuplicatePiece) {
    GgufWriter w;
    w.str("tokenizer.ggml.model", "llama")
        .str_array("tokenizer.ggml.tokens", {"<unk>", "a", "b", "a"})
        .f32_array("tokenizer.ggml.scores", {0, 0, 0, 0});
    const std::string e = error_of(w);
    EXPECT_NE(e.find("'a' twice (ids 1 and 3)"), std::string::npos) << e;
}

TEST(TokenizerVocab, NoneMarkersAndDefaults) {
    auto w = spm_writer(kScores);
    w.u32("tokenizer.ggml.padding_token_id", 0xFFFFFFFFu)
        .i32("tokenizer.ggml.seperator_token_id", -1)
        .u32("tokenizer.ggml.eos_token_id", 2);
    auto tok = tokenizer_of(w);
    const Vocabulary& v = tok->vocab();
    EXPECT_EQ(v.special.pad, kNoToken);
    EXPECT_EQ(v.special.sep, kNoToken);
    // SentencePiece defaults for absent keys, as llama.cpp: bos 1, eos 2, unk 0, add BOS, prefix.
    EXPECT_EQ(v.special.bos, 1);
    EXPECT_EQ(v.special.eos, 2);
    EXPECT_EQ(v.special.unk, 0);
    EXPECT_EQ(v.special.eot, kNoToken);
    EXPECT_TRUE(v.add_bos);
    EXPECT_FALSE(v.add_eos);
    EXPECT_TRUE(v.add_space_prefix);
    EXPECT_EQ(v.end_of_generation, std::vector<TokenId>{2});
}

TEST(TokenizerVocab, FlagsFromFile) {
    auto w = spm_writer(kScores);
    w.boolean("tokenizer.ggml.add_bos_token", false)
        .boolean("tokenizer.ggml.add_eos_token", true)
        .boolean("tokenizer.ggml.add_space_prefix", false);
    auto tok = tokenizer_of(w);
    // "ab" (-2) merges before "▁a" would be possible; no prefix, no BOS, EOS at the end.
    EXPECT_EQ(tok->encode("ab", true), (std::vector<TokenId>{7, 2}));
    EXPECT_EQ(tok->encode("ab", false), (std::vector<TokenId>{7}));
}

TEST(TokenizerVocab, UnknownModelListsSupported) {
    GgufWriter w;
    w.str("tokenizer.ggml.model", "wordpiece9").str_array("tokenizer.ggml.tokens", kPieces);
    const std::string e = error_of(w);
    EXPECT_NE(e.find("test.gguf: unsupported tokenizer.ggml.model 'wordpiece9' (supported: llama, gpt2, gemma4)"),
              std::string::npos) << e;
}

TEST(TokenizerVocab, MissingModelKey) {
    GgufWriter w;
    w.str_array("tokenizer.ggml.tokens", kPieces);
    const std::string e = error_of(w);
    EXPECT_NE(e.find("test.gguf: missing tokenizer.ggml.model"), std::string::npos) << e;
    EXPECT_NE(e.find("supported models: llama"), std::string::npos) << e;
}

TEST(TokenizerVocab, SentencePieceNeedsScores) {
    GgufWriter w;
    w.str("tokenizer.ggml.model", "llama").str_array("tokenizer.ggml.tokens", kPieces);
    const std::string e = error_of(w);
    EXPECT_NE(e.find("test.gguf: missing tokenizer.ggml.scores"), std::string::npos) << e;
}

TEST(TokenizerVocab, ByteOnlyVocabularyWithoutModelKey) {
    HEARTH_SHARED_OR_SKIP(path, "models/detllm-tiny-qmix.gguf");
    auto file = gguf::File::open(path);
    auto tok = load_tokenizer(*file);
    EXPECT_EQ(tok->kind(), "bytes");
    EXPECT_EQ(tok->n_vocab(), 256);
    EXPECT_EQ(tok->bos(), kNoToken);
    EXPECT_EQ(tok->encode("Hi\n", true), (std::vector<TokenId>{0x48, 0x69, 0x0A}));
    const std::string text = "caf\xC3\xA9 <s> \xFF";
    EXPECT_EQ(tok->decode(tok->encode(text, true, true)), text);
    EXPECT_EQ(tok->token_to_piece(0x41), "A");
}

// Merge order: highest score first, leftmost among equals.
TEST(TokenizerVocab, MergeOrderAndTies) {
    // "ab" and "ba" tie at -2: "aba" → [ab, a] (leftmost pair wins).
    auto w = spm_writer(kScores);
    w.boolean("tokenizer.ggml.add_space_prefix", false);
    auto tok = tokenizer_of(w);
    EXPECT_EQ(tok->encode("aba", false), (std::vector<TokenId>{7, 4}));
    // "ba" scores higher: "aba" → [a, ba].
    auto scores = kScores;
    scores[8] = -1.5f;
    auto w2 = spm_writer(scores);
    w2.boolean("tokenizer.ggml.add_space_prefix", false);
    auto tok2 = tokenizer_of(w2);
    EXPECT_EQ(tok2->encode("aba", false), (std::vector<TokenId>{4, 8}));
    // With the dummy prefix: "▁a" (-3) loses to "ab" (-2): "▁ab" → [▁, ab].
    auto w3 = spm_writer(kScores);
    auto tok3 = tokenizer_of(w3);
    EXPECT_EQ(tok3->encode("ab", false), (std::vector<TokenId>{3, 7}));
    EXPECT_EQ(tok3->encode("a", false), (std::vector<TokenId>{9}));
    // No byte tokens: an unknown character becomes <unk> (id 0), one per byte.
    EXPECT_EQ(tok3->encode("a\xC3\xA9", false), (std::vector<TokenId>{9, 0, 0}));
    EXPECT_EQ(tok3->encode("c d", false), (std::vector<TokenId>{3, 6, 3, 0}));
}

TEST(TokenizerVocab, UserDefinedAlwaysMatchedControlOnRequest) {
    GgufWriter w;
    w.str("tokenizer.ggml.model", "llama")
        .str_array("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "\xE2\x96\x81", "a", "<u>", "<|end|>"})
        .f32_array("tokenizer.ggml.scores", {0, 0, 0, -1, -1, 0, 0})
        .i32_array("tokenizer.ggml.token_type", {2, 3, 3, 1, 1, 4, 4})
        .boolean("tokenizer.ggml.add_space_prefix", false);
    auto tok = tokenizer_of(w);
    // "<|end|>" is an end-of-turn text: it becomes EOT, EOG and Control (as llama.cpp does).
    EXPECT_EQ(tok->vocab().special.eot, 6);
    EXPECT_EQ(tok->vocab().types[6], TokenType::Control);
    EXPECT_TRUE(tok->is_end_of_generation(6));
    EXPECT_EQ(tok->token_to_piece(6), "");
    EXPECT_EQ(tok->token_to_piece(6, true), "<|end|>");
    EXPECT_EQ(tok->token_to_piece(5), "<u>");  // user-defined renders as its text
    // <u> is matched even without parse_special; <|end|> only with it.
    EXPECT_EQ(tok->encode("a<u>a", false), (std::vector<TokenId>{4, 5, 4}));
    EXPECT_EQ(tok->encode("a<|end|>", false, true), (std::vector<TokenId>{4, 6}));
    const auto plain = tok->encode("a<|end|>", false, false);
    EXPECT_EQ(std::count(plain.begin(), plain.end(), 6), 0);
}

// gpt-oss writes <|end|> after its analysis message and goes on with the final one: with
// <|return|> and <|call|> in the vocabulary, <|end|> must not end generation, and the channel
// markup renders as text so the answer can be told from the reasoning.
TEST(TokenizerVocab, HarmonyEndIsNotEndOfGeneration) {
    GgufWriter w;
    w.str("tokenizer.ggml.model", "llama")
        .str_array("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "\xE2\x96\x81", "a", "<|end|>", "<|return|>",
                                             "<|call|>", "<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"})
        .f32_array("tokenizer.ggml.scores", std::vector<float>(12, 0))
        .i32_array("tokenizer.ggml.token_type", {2, 3, 3, 1, 1, 3, 3, 3, 3, 3, 3, 3})
        .boolean("tokenizer.ggml.add_space_prefix", false);
    auto tok = tokenizer_of(w);
    EXPECT_FALSE(tok->is_end_of_generation(5));
    EXPECT_TRUE(tok->is_end_of_generation(6));
    EXPECT_TRUE(tok->is_end_of_generation(7));
    EXPECT_TRUE(tok->is_end_of_generation(2));
    EXPECT_EQ(tok->vocab().end_of_generation, (std::vector<TokenId>{2, 6, 7}));
    for (TokenId id : {5, 8, 9, 10, 11}) {
        EXPECT_EQ(tok->vocab().types[id], TokenType::Control) << id;
        EXPECT_TRUE(tok->vocab().is_reply_markup(id)) << id;
    }
    EXPECT_EQ(tok->token_to_piece(5), "<|end|>");
    EXPECT_EQ(tok->token_to_piece(8), "<|channel|>");
    EXPECT_EQ(tok->token_to_piece(6), "");  // the turn's end stays Control
    // The rendered prompt's markup still becomes the special tokens.
    EXPECT_EQ(tok->encode("<|start|>a<|channel|>a<|message|>a<|end|>", false, true),
              (std::vector<TokenId>{10, 4, 8, 4, 9, 4, 5}));
    // The same text inside a message's content (a literal range) never becomes markup tokens.
    const std::string content = "<|channel|>a<|end|>";
    const TextRange all{0, content.size()};
    for (TokenId id : tok->encode(content, false, true, {&all, 1})) EXPECT_FALSE(tok->vocab().is_reply_markup(id)) << id;
}

// Without <|return|>/<|call|> (Phi-3/Phi-4-mini: "<|assistant|>...<|end|>"), <|end|> ends the turn.
TEST(TokenizerVocab, EndWithoutHarmonyEndsGeneration) {
    GgufWriter w;
    w.str("tokenizer.ggml.model", "llama")
        .str_array("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "\xE2\x96\x81", "a", "<|end|>", "<|return|>",
                                             "<|assistant|>"})
        .f32_array("tokenizer.ggml.scores", std::vector<float>(8, 0))
        .i32_array("tokenizer.ggml.token_type", {2, 3, 3, 1, 1, 3, 3, 3})
        .boolean("tokenizer.ggml.add_space_prefix", false);
    auto tok = tokenizer_of(w);
    EXPECT_TRUE(tok->is_end_of_generation(5));
    EXPECT_TRUE(tok->is_end_of_generation(6));
    EXPECT_FALSE(tok->is_end_of_generation(7));
    EXPECT_EQ(tok->vocab().types[5], TokenType::Control);
    EXPECT_EQ(tok->token_to_piece(5), "");
}

// Gemma 4 ends a turn with <turn|> and hands over to a tool with <|tool_response>; Kimi K2's
// end tokens are [EOT] / [EOS]. Normal-typed in the file, they become Control.
TEST(TokenizerVocab, Gemma4AndKimiEndTokens) {
    GgufWriter w;
    w.str("tokenizer.ggml.model", "llama")
        .str_array("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "\xE2\x96\x81", "a", "<turn|>", "<|tool_response>",
                                             "<|turn>", "[EOT]", "[EOS]"})
        .f32_array("tokenizer.ggml.scores", std::vector<float>(10, 0))
        .i32_array("tokenizer.ggml.token_type", {2, 3, 3, 1, 1, 1, 3, 3, 3, 3})
        .boolean("tokenizer.ggml.add_space_prefix", false);
    auto tok = tokenizer_of(w);
    EXPECT_EQ(tok->vocab().end_of_generation, (std::vector<TokenId>{2, 5, 6, 8, 9}));
    EXPECT_EQ(tok->vocab().types[5], TokenType::Control);
    EXPECT_FALSE(tok->is_end_of_generation(7));  // <|turn> opens a turn
}

// Reasoning and tool-call markers (Gemma 4's thought channel and calls, Kimi's sections) that a
// file makes control tokens keep their text, so the server's reply reader sees them; the end
// tokens stay control.
TEST(TokenizerVocab, ReplyMarkupKeepsItsText) {
    GgufWriter w;
    w.str("tokenizer.ggml.model", "llama")
        .str_array("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "\xE2\x96\x81", "a", "<|channel>", "<channel|>",
                                             "<|tool_call>", "<|tool_calls_section_begin|>", "<turn|>", "<ctrl>"})
        .f32_array("tokenizer.ggml.scores", std::vector<float>(11, 0))
        .i32_array("tokenizer.ggml.token_type", {2, 3, 3, 1, 1, 3, 3, 3, 3, 3, 3})
        .boolean("tokenizer.ggml.add_space_prefix", false);
    auto tok = tokenizer_of(w);
    for (TokenId id : {5, 6, 7, 8}) {
        EXPECT_EQ(tok->vocab().types[id], TokenType::Control) << id;
        EXPECT_EQ(tok->token_to_piece(id), tok->vocab().pieces[id]);
    }
    EXPECT_EQ(tok->token_to_piece(9), "");   // <turn|> ends the turn
    EXPECT_EQ(tok->token_to_piece(10), "");  // other control tokens are untouched
    EXPECT_FALSE(tok->vocab().is_reply_markup(9));
    // Still control tokens: a prompt's markup becomes them, a message's content never does.
    EXPECT_EQ(tok->encode("<|tool_call>a", false, true), (std::vector<TokenId>{7, 4}));
    const std::string content = "<|tool_call>a<|channel>";
    const TextRange all{0, content.size()};
    for (TokenId id : tok->encode(content, false, true, {&all, 1})) EXPECT_FALSE(tok->vocab().is_reply_markup(id)) << id;
    EXPECT_TRUE(tok->encode("<|tool_call>a", false, false) != (std::vector<TokenId>{7, 4}));
}

// encode()'s literal ranges: Control/Unknown text touching one is plain text; elsewhere it is
// parsed; UserDefined tokens are matched everywhere (as without parse_special).
TEST(TokenizerVocab, LiteralRangesKeepControlTextPlain) {
    GgufWriter w;
    w.str("tokenizer.ggml.model", "llama")
        .str_array("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "\xE2\x96\x81", "a", "<u>", "<|end|>"})
        .f32_array("tokenizer.ggml.scores", {0, 0, 0, -1, -1, 0, 0})
        .i32_array("tokenizer.ggml.token_type", {2, 3, 3, 1, 1, 4, 3})
        .boolean("tokenizer.ggml.add_space_prefix", false);
    auto tok = tokenizer_of(w);
    const std::string text = "<|end|>a<|end|>";  // bytes [0,7) a [8,15)
    const auto parsed = tok->encode(text, false, true);
    const auto plain = tok->encode(text, false, false);
    EXPECT_EQ(parsed, (std::vector<TokenId>{6, 4, 6}));
    EXPECT_EQ(std::count(plain.begin(), plain.end(), 6), 0);
    const TextRange second{8, 15};
    const auto mixed = tok->encode(text, false, true, std::span(&second, 1));
    // The first <|end|> is parsed; the second is the same plain text as without parse_special.
    const auto tail = tok->encode("a<|end|>", false, false);
    std::vector<TokenId> want{6};
    want.insert(want.end(), tail.begin(), tail.end());
    EXPECT_EQ(mixed, want);
    // Touching the token by one byte is enough to keep it plain; ranges may overlap, be empty and
    // come in any order.
    const std::vector<TextRange> ranges{{14, 15}, {7, 7}, {0, 1}, {0, 3}};
    EXPECT_EQ(tok->encode(text, false, true, ranges), plain);
    // A range that touches nothing changes nothing.
    const TextRange on_a{7, 8};
    EXPECT_EQ(tok->encode(text, false, true, std::span(&on_a, 1)), parsed);
    // UserDefined tokens are matched inside literal ranges too.
    const TextRange all{0, 5};
    EXPECT_EQ(tok->encode("a<u>a", false, true, std::span(&all, 1)), (std::vector<TokenId>{4, 5, 4}));
}

TEST(TokenizerVocab, LiteralRangeOutsideTheTextIsAnError) {
    auto w = spm_writer(kScores);
    auto tok = tokenizer_of(w);
    for (const TextRange r : {TextRange{0, 4}, TextRange{3, 2}, TextRange{5, 9}}) {
        try {
            tok->encode("abc", false, true, std::span(&r, 1));
            FAIL() << "no error for [" << r.begin << ", " << r.end << ")";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find("literal range [" + std::to_string(r.begin) + ", " +
                                                 std::to_string(r.end) + ") is outside the 3-byte text"),
                      std::string::npos)
                << e.what();
        }
    }
}

TEST(TokenizerVocab, HandBuiltVocabularyFinalize) {
    Vocabulary v;
    v.source = "hand";
    v.model = "llama";
    v.pieces = {"<unk>", "a"};
    v.scores = {0};
    try {
        v.finalize();
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("hand: tokenizer.ggml.scores has 1 entries"),
                  std::string::npos) << e.what();
    }
    v.scores = {0, 0};
    v.special.bos = 5;
    EXPECT_THROW(v.finalize(), Error);
    v.special.bos = kNoToken;
    v.special.unk = 0;
    v.finalize();
    EXPECT_EQ(v.find("a"), 1);
    EXPECT_EQ(v.find("b"), kNoToken);
    EXPECT_EQ(v.types[1], TokenType::Normal);
    auto tok = make_tokenizer(std::move(v));
    EXPECT_EQ(tok->encode("a", false), (std::vector<TokenId>{1}));  // add_space_prefix is off
    EXPECT_EQ(tok->encode("b a", false), (std::vector<TokenId>{0, 0, 0, 0, 1}));  // b, ▁ → <unk>
}

}  // namespace
}  // namespace hearth
