#pragma once
// Chat templates: the Jinja2 programs GGUF files carry in `tokenizer.chat_template`, rendered
// exactly as Hugging Face transformers renders them (jinja2's ImmutableSandboxedEnvironment with
// trim_blocks and lstrip_blocks, loop controls, the {% generation %} tag, transformers' tojson,
// raise_exception and strftime_now).
//
//   auto tmpl = hearth::chat::ChatTemplate::parse(source);       // TemplateError on bad syntax
//   hearth::chat::ChatInputs in;
//   in.messages = nlohmann::ordered_json::parse(R"([{"role": "user", "content": "Hi"}])");
//   in.bos_token = "<s>";
//   std::string prompt = hearth::chat::render_chat(tmpl, in);    // TemplateError on failure
//
// JSON goes in as nlohmann::ordered_json: object key order is visible in the output (tojson of a
// tool schema), so it must be kept. A parsed ChatTemplate is immutable; render it from any thread.
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "chat/error.h"

namespace hearth::chat {

struct Program;

struct RenderOptions {
    // Defines strftime_now(fmt) with this fixed local time: ISO 8601, "2025-03-04T05:06:07",
    // optionally with fractional seconds and a UTC offset. When unset, strftime_now is defined only
    // if system_clock is true (the real local time, as transformers does); otherwise it is
    // undefined and templates fall back to their built-in defaults (Llama 3.2's "26 Jul 2024").
    std::optional<std::string> now;
    bool system_clock = false;
};

class ChatTemplate {
public:
    // Throws TemplateError (Kind::Syntax) with the line and column of the problem.
    static ChatTemplate parse(std::string source);

    // Renders with `context` (a JSON object) as the template's variables, plus the globals
    // range, dict, namespace, joiner, cycler, raise_exception and (see RenderOptions)
    // strftime_now. Throws TemplateError: Kind::Raised with exactly the template's message for
    // raise_exception(...), Kind::Runtime for other failures.
    std::string render(const nlohmann::ordered_json& context, const RenderOptions& options = {}) const;

    const std::string& source() const { return *source_; }

private:
    ChatTemplate(std::shared_ptr<const std::string> source, std::shared_ptr<const Program> program)
        : source_(std::move(source)), program_(std::move(program)) {}

    std::shared_ptr<const std::string> source_;
    std::shared_ptr<const Program> program_;
};

// What transformers' apply_chat_template passes to a template.
struct ChatInputs {
    nlohmann::ordered_json messages = nlohmann::ordered_json::array();
    nlohmann::ordered_json tools;  // null: `tools` is defined and none
    bool add_generation_prompt = true;
    std::optional<std::string> bos_token;  // nullopt: the variable is undefined
    std::optional<std::string> eos_token;
    nlohmann::ordered_json kwargs = nlohmann::ordered_json::object();  // chat_template_kwargs
    RenderOptions options;
};

// Renders with the variables messages, tools, documents (none), add_generation_prompt,
// bos_token, eos_token (when set) and every entry of kwargs.
std::string render_chat(const ChatTemplate& tmpl, const ChatInputs& inputs);

// Whether the template renders an assistant's tool call only when its arguments are JSON text
// (DeepSeek V3's templates add them to strings and fail on an object), found by rendering a probe
// call both ways. Servers keep arguments as objects (most templates `tojson` them) and convert
// with arguments_as_text() for such templates.
bool wants_text_arguments(const ChatTemplate& tmpl);
// Every tool call's object `function.arguments` in `messages` as json.dumps text.
void arguments_as_text(nlohmann::ordered_json& messages);

// A conversation object as in shared/chat_templates/conversations.json ({"messages": [...],
// optional "tools", "chat_template_kwargs" and "now"}) as ChatInputs (add_generation_prompt
// true, no special tokens). Throws hearth::Error when it is not such an object.
ChatInputs chat_inputs_from_conversation(const nlohmann::ordered_json& conversation);

// The template for models that carry none: ChatML, which transformers used as its default
// (<|im_start|>role\ncontent<|im_end|>\n per message, then <|im_start|>assistant\n).
const std::string& default_chat_template();

}  // namespace hearth::chat
