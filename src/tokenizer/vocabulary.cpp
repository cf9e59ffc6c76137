#include "tokenizer/vocabulary.h"

#include <algorithm>
#include <array>
#include <limits>

#include "common/error.h"
#include "gguf/gguf.h"
#include "tokenizer/pretokenize.h"

namespace hearth {

namespace {

constexpr std::string_view kModelKey = "tokenizer.ggml.model";
constexpr std::string_view kTokensKey = "tokenizer.ggml.tokens";
constexpr std::string_view kScoresKey = "tokenizer.ggml.scores";
constexpr std::string_view kTypesKey = "tokenizer.ggml.token_type";

// Texts that llama.cpp takes for end-of-turn tokens when the file names none (first match wins
// here; llama.cpp's pick among several is unordered).
constexpr std::array<std::string_view, 7> kEotTexts = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<EOT>",
    "<\xEF\xBD\x9C" "end\xE2\x96\x81" "of\xE2\x96\x81" "sentence\xEF\xBD\x9C>",  // DeepSeek
};
// Texts whose tokens end generation in addition to eos/eot/eom.
constexpr std::array<std::string_view, 16> kEogTexts = {
    "<|eot_id|>", "<|im_end|>",  "<|end|>", "<|return|>", "<|call|>",        "<end_of_turn>",
    "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>",     "<|end_of_text|>", "<end_of_utterance>",
    "[EOT]", "[EOS]",                 // Kimi K2
    "<turn|>", "<|tool_response>",    // Gemma 4: end of turn, and the hand-over after a tool call
};
// gpt-oss (the "harmony" format) ends a message with <|end|> but goes on with the next one
// (analysis, then final); only <|return|> and <|call|> end its turn. Its channel markup is
// ordinary text in the output, so that what the model wrote can be split into reasoning, answer
// and tool calls. llama.cpp does the same.
constexpr std::string_view kHarmonyReturn = "<|return|>", kHarmonyCall = "<|call|>", kHarmonyEnd = "<|end|>";
constexpr std::array<std::string_view, 4> kHarmonyMarkup = {"<|channel|>", "<|message|>", "<|start|>",
                                                           "<|constrain|>"};
// Reasoning and tool-call markers (Gemma 4, GLM, DeepSeek, Kimi K2, Mistral). Where the file
// makes one a control token it would decode to nothing and chat::ReplyStream and the tool-call
// readers would never see it: like the harmony markup, it is rendered (see reply_markup).
constexpr std::array<std::string_view, 25> kReplyMarkup = {
    "<|channel>", "<channel|>", "<|tool_call>", "<tool_call|>", "<|\"|>",  // Gemma 4
    "<tool_call>", "</tool_call>", "<arg_key>", "</arg_key>", "<arg_value>", "</arg_value>",  // GLM
    "<\uFF5Ctool\u2581calls\u2581begin\uFF5C>", "<\uFF5Ctool\u2581calls\u2581end\uFF5C>",  // DeepSeek
    "<\uFF5Ctool\u2581call\u2581begin\uFF5C>", "<\uFF5Ctool\u2581call\u2581end\uFF5C>",
    "<\uFF5Ctool\u2581sep\uFF5C>",
    "<|tool_calls_section_begin|>", "<|tool_calls_section_end|>", "<|tool_call_begin|>",  // Kimi K2
    "<|tool_call_argument_begin|>", "<|tool_call_end|>", "<|tool_call_section_begin|>",
    "[TOOL_CALLS]", "[ARGS]", "[CALL_ID]",  // Mistral
};

// A piece made safe for a one-line error message.
std::string printable(std::string_view s) {
    std::string out;
    for (char c : s) {
        auto b = static_cast<unsigned char>(c);
        if (b < 0x20 || b == 0x7F) out += fmt::format("\\x{:02X}", b);
        else out += c;
    }
    return out;
}

TokenType to_token_type(int64_t v) {
    return (v >= 1 && v <= 6) ? static_cast<TokenType>(v) : TokenType::Undefined;
}

// Reads a special token id. Absent → `fallback`; -1 / 0xFFFFFFFF / UINT64_MAX → none.
TokenId read_special_id(const gguf::File& file, std::string_view key, TokenId fallback) {
    const gguf::Value* v = file.find(key);
    if (!v) return fallback;
    const std::string what = fmt::format("{}: {}", file.path(), key);
    if (!v->is_integer())
        fail("{}: {} must be an integer token id, found {}", file.path(), key,
             gguf::value_type_name(v->type));
    const bool is_signed = v->type == gguf::ValueType::I8 || v->type == gguf::ValueType::I16 ||
                           v->type == gguf::ValueType::I32 || v->type == gguf::ValueType::I64;
    if (is_signed) {
        const int64_t id = v->to_i64(what);
        if (id == -1) return kNoToken;
        if (id < 0 || id > std::numeric_limits<TokenId>::max())
            fail("{}: {} = {} is not a token id", file.path(), key, id);
        return static_cast<TokenId>(id);
    }
    const uint64_t id = v->to_u64(what);
    if (id == 0xFFFFFFFFull || id == std::numeric_limits<uint64_t>::max()) return kNoToken;
    if (id > static_cast<uint64_t>(std::numeric_limits<TokenId>::max()))
        fail("{}: {} = {} is out of range (the vocabulary has {} tokens)", file.path(), key, id,
             file.get_string_array(kTokensKey).size());
    return static_cast<TokenId>(id);
}

}  // namespace

int byte_piece_value(std::string_view piece) {
    if (piece.size() != 6 || piece.substr(0, 3) != "<0x" || piece[5] != '>') return -1;
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    const int hi = hex(piece[3]), lo = hex(piece[4]);
    return (hi < 0 || lo < 0) ? -1 : hi * 16 + lo;
}

const char* token_type_name(TokenType type) {
    switch (type) {
        case TokenType::Undefined: return "undefined";
        case TokenType::Normal: return "normal";
        case TokenType::Unknown: return "unknown";
        case TokenType::Control: return "control";
        case TokenType::UserDefined: return "user-defined";
        case TokenType::Unused: return "unused";
        case TokenType::Byte: return "byte";
    }
    return "?";
}

Vocabulary Vocabulary::from_gguf(const gguf::File& file) {
    const std::string& path = file.path();
    Vocabulary v;
    v.source = path;
    v.model = file.get_string(kModelKey).value_or("");
    v.pre = file.get_string("tokenizer.ggml.pre").value_or("");

    if (!file.find(kTokensKey))
        fail("{}: missing {} (the file has no vocabulary)", path, kTokensKey);
    v.pieces = file.get_string_array(kTokensKey);
    if (v.pieces.empty()) fail("{}: {} is empty", path, kTokensKey);
    const size_t n = v.pieces.size();
    if (n > static_cast<size_t>(std::numeric_limits<TokenId>::max()))
        fail("{}: {} has {} entries, more than token ids can hold", path, kTokensKey, n);

    if (file.find(kScoresKey)) {
        const std::vector<double> scores = file.get_f64_array(kScoresKey);
        if (scores.size() != n)
            fail("{}: {} has {} entries but {} has {}", path, kScoresKey, scores.size(),
                 kTokensKey, n);
        v.scores.assign(scores.begin(), scores.end());  // stored as F32 in GGUF: exact
    }
    if (file.find(kTypesKey)) {
        const std::vector<int64_t> types = file.get_i64_array(kTypesKey);
        if (types.size() != n)
            fail("{}: {} has {} entries but {} has {}", path, kTypesKey, types.size(), kTokensKey,
                 n);
        v.types.reserve(n);
        for (int64_t t : types) v.types.push_back(to_token_type(t));
    }
    v.merges = file.get_string_array("tokenizer.ggml.merges");

    // Defaults for absent keys, as llama.cpp sets them per tokenizer model.
    SpecialTokens defaults;
    if (v.model == "llama") {
        auto in_range = [&](TokenId id) { return id < static_cast<TokenId>(n) ? id : kNoToken; };
        defaults.bos = in_range(1);
        defaults.eos = in_range(2);
        defaults.unk = in_range(0);
        v.add_bos = true;
        v.add_eos = false;
        v.add_space_prefix = true;
    } else if (v.model == "gpt2") {
        // llama.cpp adds BOS by default for some BPE families (Llama 3, Tekken, Chameleon).
        if (const PreTokenizerSpec* spec = find_pre_tokenizer(v.pre)) v.add_bos = spec->add_bos;
    }
    v.special.bos = read_special_id(file, "tokenizer.ggml.bos_token_id", defaults.bos);
    v.special.eos = read_special_id(file, "tokenizer.ggml.eos_token_id", defaults.eos);
    v.special.unk = read_special_id(file, "tokenizer.ggml.unknown_token_id", defaults.unk);
    v.special.pad = read_special_id(file, "tokenizer.ggml.padding_token_id", kNoToken);
    v.special.sep = read_special_id(file, "tokenizer.ggml.seperator_token_id", kNoToken);
    v.special.eot = read_special_id(file, "tokenizer.ggml.eot_token_id", kNoToken);
    v.special.eom = read_special_id(file, "tokenizer.ggml.eom_token_id", kNoToken);

    v.add_bos = file.get_bool("tokenizer.ggml.add_bos_token").value_or(v.add_bos);
    v.add_eos = file.get_bool("tokenizer.ggml.add_eos_token").value_or(v.add_eos);
    v.add_space_prefix = file.get_bool("tokenizer.ggml.add_space_prefix").value_or(v.add_space_prefix);
    // Gemma 4 needs its BOS, and some conversions say add_bos_token = false: llama.cpp adds it
    // regardless, and so do we. Its special ids have no defaults; the file names them.
    if (v.model == "gemma4") v.add_bos = true;

    v.finalize();
    return v;
}

void Vocabulary::finalize() {
    const size_t n = pieces.size();
    if (n == 0) fail("{}: {} is empty", source, kTokensKey);
    if (!scores.empty() && scores.size() != n)
        fail("{}: {} has {} entries but {} has {}", source, kScoresKey, scores.size(), kTokensKey,
             n);
    if (types.empty()) types.assign(n, TokenType::Normal);
    if (types.size() != n)
        fail("{}: {} has {} entries but {} has {}", source, kTypesKey, types.size(), kTokensKey, n);

    const std::pair<const char*, TokenId*> ids[] = {
        {"bos_token_id", &special.bos},      {"eos_token_id", &special.eos},
        {"unknown_token_id", &special.unk},  {"padding_token_id", &special.pad},
        {"seperator_token_id", &special.sep}, {"eot_token_id", &special.eot},
        {"eom_token_id", &special.eom},
    };
    for (const auto& [name, id] : ids) {
        if (*id != kNoToken && !contains(*id))
            fail("{}: tokenizer.ggml.{} = {} is out of range (the vocabulary has {} tokens)", source,
                 name, *id, n);
    }

    // piece → id. Empty pieces are never produced by encoding and stay out of the index;
    // llama.cpp refuses vocabularies with the same piece twice, and so do we.
    index_.clear();
    index_.reserve(n);
    for (size_t i = 0; i < n; ++i) {
        if (pieces[i].empty()) continue;
        auto [it, inserted] = index_.emplace(pieces[i], static_cast<TokenId>(i));
        if (!inserted)
            fail("{}: {} has the piece '{}' twice (ids {} and {})", source, kTokensKey,
                 printable(pieces[i]), it->second, i);
    }

    // End of generation: eos, eot, eom, plus end-of-turn tokens recognized by their text.
    // Like llama.cpp, such a token is made Control when the file says otherwise, so that it
    // renders as nothing and is not matched in plain text.
    auto make_control = [&](TokenId id) {
        if (types[id] != TokenType::Control) types[id] = TokenType::Control;
    };
    if (special.eot == kNoToken) {
        for (std::string_view text : kEotTexts) {
            if (TokenId id = find(text); id != kNoToken) {
                special.eot = id;
                make_control(id);
                break;
            }
        }
    }
    if (special.eom == kNoToken) {
        if (TokenId id = find("<|eom_id|>"); id != kNoToken) {
            special.eom = id;
            make_control(id);
        }
    }
    end_of_generation.clear();
    for (std::string_view text : kEogTexts) {
        if (TokenId id = find(text); id != kNoToken) {
            end_of_generation.push_back(id);
            make_control(id);
        }
    }
    for (TokenId id : {special.eos, special.eot, special.eom})
        if (id != kNoToken) end_of_generation.push_back(id);
    reply_markup.assign(pieces.size(), false);
    auto mark = [&](std::string_view text) {
        if (TokenId id = find(text); id != kNoToken && types[id] == TokenType::Control) reply_markup[id] = true;
    };
    for (std::string_view text : kHarmonyMarkup) mark(text);
    for (std::string_view text : kReplyMarkup) mark(text);
    const TokenId harmony_end = find(kHarmonyEnd);
    if (harmony_end != kNoToken && find(kHarmonyReturn) != kNoToken && find(kHarmonyCall) != kNoToken) {
        std::erase(end_of_generation, harmony_end);
        mark(kHarmonyEnd);
    }
    std::sort(end_of_generation.begin(), end_of_generation.end());
    end_of_generation.erase(std::unique(end_of_generation.begin(), end_of_generation.end()),
                            end_of_generation.end());
}

TokenId Vocabulary::find(std::string_view piece) const {
    auto it = index_.find(piece);
    return it == index_.end() ? kNoToken : it->second;
}

void Vocabulary::check_id(TokenId id) const {
    if (!contains(id))
        fail("{}: token id {} is out of range (the vocabulary has {} tokens)", source, id, size());
}

const std::string& Vocabulary::piece(TokenId id) const {
    check_id(id);
    return pieces[id];
}

TokenType Vocabulary::type(TokenId id) const {
    check_id(id);
    return types[id];
}

float Vocabulary::score(TokenId id) const {
    check_id(id);
    return scores.empty() ? 0.0f : scores[id];
}

bool Vocabulary::is_end_of_generation(TokenId id) const {
    return std::binary_search(end_of_generation.begin(), end_of_generation.end(), id);
}

}  // namespace hearth
