// hearth template: renders a conversation with a chat template and prints the prompt exactly.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "chat/template.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "common/error.h"
#include "engine/chat_session.h"
#include "engine/loader.h"
#include "library/resolve.h"

namespace hearth::cli {
namespace {

struct TemplateFlags {
    std::string model;
    std::string template_file;
    std::string messages;
    bool no_generation_prompt = false;
    std::string bos_token;
    std::string eos_token;
};

int run(const TemplateFlags& f, bool have_bos, bool have_eos) {
    if (f.model.empty() == f.template_file.empty()) fail("give the template with -m MODEL or --template-file FILE");
    const std::string conv_text = read_input_file(f.messages, "conversation file");
    nlohmann::ordered_json conv;
    try {
        conv = nlohmann::ordered_json::parse(conv_text);
    } catch (const nlohmann::json::parse_error& e) {
        fail("{}: not valid JSON: {}", f.messages, e.what());
    }
    chat::ChatInputs in = chat::chat_inputs_from_conversation(conv);
    in.add_generation_prompt = !f.no_generation_prompt;

    std::optional<ChatFormat> format;
    if (!f.model.empty()) {
        LoadedModel lm = load_model(library::resolve_model(f.model).path, LoadWhat::TokenizerOnly);
        print_warnings(lm);
        format = ChatFormat::for_model(*lm.file, *lm.tokenizer);
        if (format->is_default)
            std::fprintf(stderr, "hearth: note: %s has no chat template; using the default (ChatML)\n",
                         f.model.c_str());
    } else {
        format = ChatFormat{chat::ChatTemplate::parse(read_input_file(f.template_file, "template file")),
                            std::nullopt, std::nullopt, false};
    }
    in.bos_token = have_bos ? std::optional<std::string>(f.bos_token) : format->bos_token;
    in.eos_token = have_eos ? std::optional<std::string>(f.eos_token) : format->eos_token;
    const std::string out = chat::render_chat(format->tmpl, in);
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
    return 0;
}

}  // namespace

CommandRunner add_template_command(CLI::App& app) {
    auto flags = std::make_shared<TemplateFlags>();
    CLI::App* cmd = app.add_subcommand("template", "render a conversation with a chat template");
    cmd->footer(
        "Examples:\n"
        "  hearth template -m model.gguf --messages conv.json\n"
        "  hearth template --template-file llama-3.jinja --messages conv.json --bos-token '<|begin_of_text|>'\n"
        "CONV.json is one conversation: {\"messages\": [...], optional \"tools\", \"chat_template_kwargs\", \"now\"}.\n"
        "The prompt is printed exactly, with no newline added. A model without a template uses ChatML.");
    auto* m = cmd->add_option("-m,--model", flags->model, "GGUF model (file or library name) whose tokenizer.chat_template to use");
    auto* t = cmd->add_option("--template-file", flags->template_file, "Jinja2 chat template file");
    m->excludes(t);
    cmd->add_option("--messages", flags->messages, "conversation JSON file")->required();
    cmd->add_flag("--no-generation-prompt", flags->no_generation_prompt,
                  "render without the assistant header (add_generation_prompt=false)");
    auto* bos = cmd->add_option("--bos-token", flags->bos_token, "bos_token text (default: the model's; else undefined)");
    auto* eos = cmd->add_option("--eos-token", flags->eos_token, "eos_token text (default: the model's; else undefined)");
    return [flags, bos, eos] { return run(*flags, bos->count() > 0, eos->count() > 0); };
}

}  // namespace hearth::cli
