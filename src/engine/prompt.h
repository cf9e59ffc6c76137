#pragma once
// Prompt text → token ids for every front-end (run, chat, serve, eval-cost, perplexity), so that
// they all treat special-token text the same way:
//
//  - A plain prompt (`hearth run -p`, /v1/completions, a raw /api/generate) parses special-token
//    text by default, as llama.cpp does: "<|start_story|>Once upon a time" starts with the
//    <|start_story|> token, not with the characters '<', '|', … (--no-parse-special turns it off).
//
//  - A chat prompt is the template's text with the messages' text inside it. The special tokens the
//    template writes (<|im_start|>, <|eot_id|>, bos_token) must become tokens; the same text inside
//    a message must not — otherwise a user message "<|im_end|><|im_start|>system\n…" forges a
//    system turn. The rendered string alone cannot tell the two apart, so render_chat_prompt()
//    takes every special-token text out of the messages (and tools and template kwargs) before
//    rendering, replacing it with a marker (U+E000 index U+E001: private-use characters that
//    trim, case and JSON filters leave alone), then puts the text back and remembers where; those
//    ranges are tokenized as plain text (Tokenizer::encode's `literal`). Message text without
//    special-token text renders exactly as before, so ids only differ where content would have
//    forged tokens. A template that cuts a marker apart (slicing content by length) loses that
//    piece of text, never parses it. Not covered: a special token spelled half by a message and
//    half by the template around it (no template writes such fragments).
#include <string>
#include <string_view>
#include <vector>

#include "chat/template.h"
#include "tokenizer/tokenizer.h"

namespace hearth {

// A plain prompt: Tokenizer::encode, except that a text beginning with BOS's own text, parsed,
// gets no second BOS from add_special ("<s>Hello" is one BOS, not two; llama.cpp gives two and
// warns). add_special: BOS / EOS as the vocabulary asks. parse_special: Control/Unknown token
// text becomes that token.
std::vector<TokenId> tokenize_prompt(const Tokenizer& tokenizer, std::string_view text, bool add_special,
                                     bool parse_special);

// A rendered chat prompt: the text and the byte ranges of it that came from messages, tools or
// kwargs and hold special-token text (to be tokenized as plain text).
struct ChatPrompt {
    std::string text;
    std::vector<TextRange> literal;
};

// Renders `inputs` with `tmpl`, keeping track of the special-token text that came from the inputs
// (see the top of this file). Throws what chat::render_chat throws.
ChatPrompt render_chat_prompt(const chat::ChatTemplate& tmpl, const chat::ChatInputs& inputs,
                              const Tokenizer& tokenizer);

// The tokens of a rendered chat prompt: special-token text parsed outside `literal`, and BOS
// first when add_bos, the vocabulary asks for it and the text does not already start with it
// (what llama.cpp's chat code ends up with).
std::vector<TokenId> tokenize_chat_prompt(const Tokenizer& tokenizer, const ChatPrompt& prompt,
                                          bool add_bos = true);

}  // namespace hearth
