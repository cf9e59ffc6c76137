#pragma once
// Forced tool calls: OpenAI's tool_choice "required" or a named function, enforced by a grammar
// in the model family's own call syntax, so that even a tiny model answers with a call whose
// arguments validate against the function's parameters schema.
#include <string>

#include <nlohmann/json.hpp>

#include "chat/tool_calls.h"

namespace hearth::serve {

// GBNF for a reply that is one call (several, one after another, when `parallel`) of one of
// `tools` (only `name`'s when it is not empty), written as `family` writes calls. "" for gpt-oss
// (a call is a harmony message to a recipient, not text after the answer), when the arguments are
// not JSON (Gemma 4's own value syntax), or the family is unknown: the choice then stays a
// request in the prompt. The markers of Mistral, GLM, DeepSeek and Kimi K2 may be control tokens
// in the model's file; the vocabulary renders them as text (Vocabulary::reply_markup), so a
// grammar can write them with those tokens. Throws hearth::Error when a parameters schema cannot
// be compiled.
std::string forced_tool_call_grammar(chat::ToolCallFamily family, const nlohmann::ordered_json& tools,
                                     const std::string& name, bool parallel);

}  // namespace hearth::serve
