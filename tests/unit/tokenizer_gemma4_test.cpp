// Gemma 4's tokenizer (tokenizer.ggml.model = "gemma4": BPE on ▁-escaped UTF-8 with <0xXX> byte
// fallback) on a synthetic vocabulary built here, checked against ids that llama.cpp produced for
// the same vocabulary. No real Gemma 4 vocabulary was available offline.
#include <cstdlib>
#include <set>

#include <gtest/gtest.h>

#include "common/error.h"
#include "gguf/gguf.h"
#include "gguf/writer.h"
#include "test_support.h"
#include "tokenizer/tokenizer.h"

namespace hearth {
namespace {

constexpr std::string_view kSpace = "\xE2\x96\x81";  // ▁

// ▁ for every space, as the vocabulary stores it.
std::string escaped(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == ' ') out += kSpace;
        else out += c;
    }
    return out;
}

// The synthetic vocabulary: Gemma's special ids (pad 0, eos 1, bos 2, unk 3), control and
// user-defined tokens, the 256 byte tokens, single characters (é and 日 among them; other
// non-ASCII text falls back to bytes) and words built by chains of merges, after a few
// sub-word merges of lower rank so that the two compete. add_bos_token is false on purpose:
// Gemma 4 adds BOS regardless.
gguf::Writer gemma4_vocab_writer() {
    std::vector<std::string> pieces;
    std::vector<int32_t> types;
    auto add = [&](std::string piece, TokenType type) {
        pieces.push_back(std::move(piece));
        types.push_back(static_cast<int32_t>(type));
    };
    add("<pad>", TokenType::Control);
    add("<eos>", TokenType::Control);
    add("<bos>", TokenType::Control);
    add("<unk>", TokenType::Unknown);
    add("<start_of_turn>", TokenType::Control);
    add("<end_of_turn>", TokenType::Control);
    add("<|turn>", TokenType::Control);
    add("<turn|>", TokenType::Control);
    add("[multimodal]", TokenType::UserDefined);
    for (int b = 0; b < 256; ++b) add(fmt::format("<0x{:02X}>", b), TokenType::Byte);

    std::set<std::string> known(pieces.begin(), pieces.end());
    auto add_normal = [&](const std::string& piece) {
        if (known.insert(piece).second) add(piece, TokenType::Normal);
    };
    add_normal("\n");
    add_normal("\t");
    add_normal(std::string(kSpace));
    for (char c = 'a'; c <= 'z'; ++c) add_normal(std::string(1, c));
    for (char c = 'A'; c <= 'Z'; ++c) add_normal(std::string(1, c));
    for (char c = '0'; c <= '9'; ++c) add_normal(std::string(1, c));
    for (char c : std::string_view(".,!?'-:;(){}")) add_normal(std::string(1, c));
    add_normal("\xC3\xA9");      // é
    add_normal("\xE6\x97\xA5");  // 日

    std::vector<std::string> merges;
    auto merge = [&](const std::string& left, const std::string& right) {
        merges.push_back(left + " " + right);
        add_normal(left + right);
    };
    for (auto [l, r] : {std::pair{"e", "r"}, {"i", "n"}, {"in", "g"}, {"o", "r"}, {"t", "h"}})
        merge(l, r);
    merge("\n", "\n");
    merge("\t", "\t");
    merge(std::string(kSpace), std::string(kSpace));
    merge(std::string(kSpace) + std::string(kSpace), std::string(kSpace) + std::string(kSpace));
    // Each word as a left-to-right chain of merges (a prefix and one more character).
    for (std::string_view word :
         {" the", " quick", " brown", " fox", " jumps", " over", " lazy", " dog", " Hello", " world",
          "Hello", "world", " hello", " caf\xC3\xA9", " au", " lait", " is", " a", " test", " int",
          " main", "()", " return", " 0;", " {", " done", " it's", " 42", "line", " one", " two",
          "user", "model", " emoji", " windows", " Hi", "text", " \xE6\x97\xA5"}) {
        const std::string w = escaped(word);
        std::string prefix;
        for (size_t at = 0; at < w.size();) {
            const auto lead = static_cast<uint8_t>(w[at]);
            const size_t len = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
            const std::string ch = w.substr(at, len);
            at += len;
            if (prefix.empty()) {
                prefix = ch;
                continue;
            }
            if (!known.count(prefix + ch)) merge(prefix, ch);
            prefix += ch;
        }
    }

    std::vector<float> scores(pieces.size());
    for (size_t i = 0; i < scores.size(); ++i) scores[i] = -static_cast<float>(i);

    gguf::Writer w;
    w.set("general.architecture", gguf::make::string("gemma4"));
    w.set("tokenizer.ggml.model", gguf::make::string("gemma4"));
    w.set("tokenizer.ggml.tokens", gguf::make::strings(pieces));
    w.set("tokenizer.ggml.scores", gguf::make::f32s(scores));
    w.set("tokenizer.ggml.token_type", gguf::make::i32s(types));
    w.set("tokenizer.ggml.merges", gguf::make::strings(merges));
    w.set("tokenizer.ggml.bos_token_id", gguf::make::u32(2));
    w.set("tokenizer.ggml.eos_token_id", gguf::make::u32(1));
    w.set("tokenizer.ggml.unknown_token_id", gguf::make::u32(3));
    w.set("tokenizer.ggml.padding_token_id", gguf::make::u32(0));
    w.set("tokenizer.ggml.add_bos_token", gguf::make::boolean(false));
    w.set("tokenizer.ggml.add_eos_token", gguf::make::boolean(false));
    return w;
}

// A parsed in-memory GGUF (the File refers to `bytes`, which it keeps alive here).
struct MemoryGguf {
    std::vector<uint8_t> bytes;
    std::unique_ptr<gguf::File> file;
};

MemoryGguf parse(const gguf::Writer& w) {
    MemoryGguf g;
    g.bytes = w.to_bytes();
    g.file = gguf::File::parse("gemma4-vocab.gguf", g.bytes.data(), g.bytes.size());
    return g;
}

std::unique_ptr<Tokenizer> gemma4_tokenizer() { return load_tokenizer(*parse(gemma4_vocab_writer()).file); }

// Ids from llama.cpp (commit de3ff81) for gemma4_vocab_writer()'s vocabulary: a small peer tool
// loaded the GGUF that LoadsFromAFile writes (vocab_only) and called llama_tokenize with these
// add_special / parse_special flags.
struct Golden {
    std::string_view text;
    bool add_special;
    bool parse_special;
    std::vector<TokenId> ids;
};
const std::vector<Golden>& llama_cpp_goldens() {
    static const std::vector<Golden> goldens = {
        {"Hello world", true, false, {2, 398, 390, 347, 279, 271}},
        {"Hello world", false, false, {398, 390, 347, 279, 271}},
        {" Hello world", true, false, {2, 389, 390, 347, 279, 271}},
        {"Hello world ", true, false, {2, 398, 390, 347, 279, 271, 267}},
        {"Hello   world", true, false, {2, 398, 351, 390, 347, 279, 271}},
        {"    ", true, false, {2, 352}},
        {"the quick brown fox jumps over the lazy dog.", true, false, {2, 348, 272, 360, 365, 368, 373, 375, 344, 267, 348, 272, 381, 384, 330}},
        {"line one\nline two", true, false, {2, 279, 345, 272, 448, 265, 279, 345, 272, 353, 399}},
        {"a\n\nb\n\n\nc", true, false, {2, 268, 349, 269, 349, 265, 270}},
        {"\n\n\n\n", true, false, {2, 349, 349}},
        {"\tint main() {\n\t\treturn 0;\n\t}", true, false, {2, 266, 345, 287, 424, 345, 427, 436, 265, 350, 285, 272, 287, 288, 285, 281, 435, 265, 266, 341}},
        {"caf\xC3\xA9 au lait", true, false, {2, 270, 268, 273, 342, 413, 415}},
        {"\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E \xE6\x97\xA5", true, false, {2, 343, 239, 165, 181, 241, 179, 167, 473}},
        {"I \xF0\x9F\x98\x80 emoji!", true, false, {2, 302, 267, 249, 168, 161, 137, 458, 454, 277, 276, 332}},
        {"<start_of_turn>user\nHello<end_of_turn>\n", true, true, {2, 4, 451, 344, 265, 398, 5, 265}},
        {"<start_of_turn>user\nHello<end_of_turn>\n", true, false, {2, 69, 286, 287, 268, 285, 287, 104, 282, 273, 104, 287, 288, 285, 281, 71, 451, 344, 265, 398, 69, 272, 281, 271, 104, 282, 273, 104, 287, 288, 285, 281, 71, 265}},
        {"<bos>text", false, true, {2, 472}},
        {"x[multimodal] y", true, false, {2, 291, 8, 267, 292}},
        {"", true, false, {2}},
        {"\xC3\x9Cn\xC3\xAF" "c\xC3\xB6" "d\xC3\xA9", true, false, {2, 204, 165, 281, 204, 184, 270, 204, 191, 271, 342}},
        {"it's 42 - done?", true, false, {2, 276, 287, 334, 286, 443, 267, 335, 438, 333}},
        {"<|turn>model\nHi<turn|>", true, true, {2, 6, 457, 265, 301, 276, 7}},
        {"\r\n windows \n", true, false, {2, 22, 265, 390, 345, 271, 282, 290, 286, 267, 265}},
        {"testing interesting order", true, false, {2, 470, 286, 287, 346, 267, 345, 287, 344, 272, 286, 287, 346, 267, 347, 271, 344}},
    };
    return goldens;
}

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

// The vocabulary survives a round trip through a file. With HEARTH_GEMMA4_PEER_GGUF set, it is
// also written there, for the llama.cpp peer tool that produced llama_cpp_goldens().
TEST(TokenizerGemma4, LoadsFromAFile) {
    const gguf::Writer w = gemma4_vocab_writer();
    if (const char* peer = std::getenv("HEARTH_GEMMA4_PEER_GGUF")) w.write(peer);
    const std::string path = (test::temp_dir() / "gemma4-vocab.gguf").string();
    w.write(path);
    auto file = gguf::File::open(path);
    auto tok = load_tokenizer(*file);
    EXPECT_EQ(tok->kind(), "gemma4");
    EXPECT_EQ(tok->bos(), 2);
    EXPECT_EQ(tok->eos(), 1);
    EXPECT_TRUE(tok->vocab().add_bos) << "Gemma 4 adds BOS even when the file says false";
    EXPECT_FALSE(tok->vocab().add_eos);
    EXPECT_TRUE(tok->vocab().warnings.empty());
}

TEST(TokenizerGemma4, MatchesLlamaCpp) {
    auto tok = gemma4_tokenizer();
    for (const Golden& g : llama_cpp_goldens()) {
        EXPECT_EQ(tok->encode(g.text, g.add_special, g.parse_special), g.ids)
            << "text '" << g.text << "' add_special " << g.add_special << " parse_special " << g.parse_special;
        // Every golden decodes back to its text (special tokens rendered, BOS prefixed).
        const std::string expected = (g.add_special ? "<bos>" : "") + std::string(g.text);
        EXPECT_EQ(tok->decode(g.ids, /*render_special=*/true), expected) << g.text;
    }
}

// Merges are required, as strings: a one-line error naming the file and the key otherwise.
TEST(TokenizerGemma4, MissingOrMistypedMergesAreErrors) {
    auto without = [](auto edit) {
        gguf::Writer w = gemma4_vocab_writer();
        edit(w);
        return error_of([&] { load_tokenizer(*parse(w).file); });
    };
    const std::string missing = without([](gguf::Writer& w) {
        w.set("tokenizer.ggml.merges", gguf::make::strings({}));
    });
    EXPECT_EQ(missing, "gemma4-vocab.gguf: missing tokenizer.ggml.merges (BPE tokenizers need them)");
    const std::string scalar = without([](gguf::Writer& w) {
        w.set("tokenizer.ggml.merges", gguf::make::u32(7));
    });
    EXPECT_EQ(scalar, "gemma4-vocab.gguf: metadata 'tokenizer.ggml.merges': expected an array, found u32");
    const std::string numbers = without([](gguf::Writer& w) {
        const int32_t values[] = {1, 2};
        w.set("tokenizer.ggml.merges", gguf::make::i32s(values));
    });
    EXPECT_EQ(numbers, "gemma4-vocab.gguf: metadata 'tokenizer.ggml.merges': expected a string, found i32");
}

// Pieces: ▁ is a space, byte tokens are their byte, control tokens render only on request,
// user-defined tokens always.
TEST(TokenizerGemma4, TokenToPiece) {
    auto tok = gemma4_tokenizer();
    const Vocabulary& v = tok->vocab();
    EXPECT_EQ(tok->token_to_piece(v.find(escaped(" world"))), " world");
    EXPECT_EQ(tok->token_to_piece(v.find(escaped("  "))), "  ");
    EXPECT_EQ(tok->token_to_piece(v.find("<0x41>")), "A");
    EXPECT_EQ(tok->token_to_piece(v.find("<0xF0>")), "\xF0");
    EXPECT_EQ(tok->token_to_piece(v.find("<start_of_turn>")), "");
    EXPECT_EQ(tok->token_to_piece(v.find("<start_of_turn>"), /*render_special=*/true), "<start_of_turn>");
    EXPECT_EQ(tok->token_to_piece(v.find("[multimodal]")), "[multimodal]");
    EXPECT_TRUE(tok->is_end_of_generation(v.find("<turn|>")));
    EXPECT_TRUE(tok->is_end_of_generation(tok->eos()));
}

// decode(encode(text)) gives the text back: no dummy prefix, and characters that fell back to
// bytes come back whole (also when streamed one token at a time).
TEST(TokenizerGemma4, RoundTrips) {
    auto tok = gemma4_tokenizer();
    for (std::string_view text :
         {"Hello world", "  two leading, two trailing  ", "\n\n\nnew\nlines\n", "tabs\t\tand \r\n",
          "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E \xF0\x9F\x98\x80 caf\xC3\xA9", "<start_of_turn> stays text",
          "stray \x80 bytes \xFF"}) {
        const std::vector<TokenId> ids = tok->encode(text, /*add_special=*/false);
        EXPECT_EQ(tok->decode(ids), text);
        StreamDecoder stream(*tok);
        std::string streamed;
        for (TokenId id : ids) streamed += stream.push(id);
        streamed += stream.flush();
        EXPECT_EQ(streamed, text);
    }
    const std::string chat = "<start_of_turn>user\nHi<end_of_turn>\n";
    const auto ids = tok->encode(chat, /*add_special=*/true, /*parse_special=*/true);
    EXPECT_EQ(tok->decode(ids, /*render_special=*/true), "<bos>" + chat);
    EXPECT_EQ(tok->decode(ids), "user\nHi\n");
}

}  // namespace hearth
