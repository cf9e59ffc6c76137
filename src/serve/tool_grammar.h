#pragma once
// Forced tool calls: OpenAI's tool_choice "required" or a named function, enforced by a grammar
// in the model family's own call syntax, so that even a tiny model answers with a call whose
// arguments validate against the function's parameters schema.
#include <string>

#include <nlohmann/json.hpp>

#include "chat/tool_calls.h"

namespace hearth::serve {

// GBNF for a reply that is one call (several, one after another, when `parallel`) of one of
// `tools` (only `name`'s when it is not empty), written as `family` writes calls. "" when the
// family's calls open with a control token (Mistral's [TOOL_CALLS], gpt-oss's <|channel|>: a
// grammar over text cannot write those), when the arguments are not JSON (Gemma 4's own value
// syntax), or the family is unknown: the choice then stays a request in the prompt. GLM, DeepSeek
// and Kimi K2 markers may be special tokens in the model's file; the vocabulary keeps their text
// (tokenizer/vocabulary.cpp), so a grammar can write them. Throws hearth::Error when a
// parameters schema cannot be compiled.
std::string forced_tool_call_grammar(chat::ToolCallFamily family, const nlohmann::ordered_json& tools,
                                     const std::string& name, bool parallel);

}  // namespace hearth::serve
