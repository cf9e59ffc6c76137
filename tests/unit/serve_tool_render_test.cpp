// Tool conversations sent the way OpenAI clients send them (arguments as JSON text) and read by
// serve's request parser render exactly as Python jinja2 renders the Hugging Face form (arguments
// as objects) on every template in ../shared/chat_templates: the rows of expected-2026.jsonl and
// expected.jsonl for the conversations whose shape the parser keeps.
#include <iostream>
#include <map>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "chat/template.h"
#include "serve/request.h"
#include "test_support.h"

namespace hearth::serve {
namespace {

using ordered_json = nlohmann::ordered_json;

// The conversation as an OpenAI request body: every call's arguments as JSON text.
std::string wire_body(const ordered_json& conversation) {
    ordered_json body = {{"messages", conversation["messages"]}};
    for (ordered_json& m : body["messages"])
        if (m.contains("tool_calls"))
            for (ordered_json& c : m["tool_calls"]) c["function"]["arguments"] = c["function"]["arguments"].dump();
    if (conversation.contains("tools")) body["tools"] = conversation["tools"];
    return body.dump();
}

TEST(ServeToolRendering, WireFormRendersLikeTheHuggingFaceForm) {
    HEARTH_SHARED_OR_SKIP(dir, "chat_templates");
    const ordered_json conversations = ordered_json::parse(test::read_file(dir + "/conversations.json"));
    // Conversations with tool calls whose messages the parser passes on unchanged in shape
    // (content present, tool messages named): the others gain a `content: null` or a `name`.
    std::map<std::string, chat::ChatInputs> inputs;
    for (const ordered_json& c : conversations) {
        const std::string name = c["name"];
        if (name != "tool_call" && name != "multi_turn_system_tools") continue;
        chat::ChatInputs in = chat::chat_inputs_from_conversation(c);
        const GenerationRequest g = parse_generation_request(Api::OpenAIChat, wire_body(c));
        in.messages = g.messages;
        in.tools = g.tools;
        inputs[name] = in;
    }
    ASSERT_EQ(inputs.size(), 2u);
    int compared = 0;
    for (const char* file : {"/expected.jsonl", "/expected-2026.jsonl"}) {
        std::istringstream lines(test::read_file(dir + file));
        std::string line;
        while (std::getline(lines, line)) {
            const ordered_json row = ordered_json::parse(line);
            auto it = inputs.find(row["conversation"].get<std::string>());
            if (it == inputs.end() || !row["error"].is_null()) continue;
            const std::string where = row["template"].get<std::string>() + " / " + it->first;
            chat::ChatInputs in = it->second;
            in.add_generation_prompt = row["add_generation_prompt"];
            if (!row["bos_token"].is_null()) in.bos_token = row["bos_token"].get<std::string>();
            if (!row["eos_token"].is_null()) in.eos_token = row["eos_token"].get<std::string>();
            const chat::ChatTemplate tmpl = chat::ChatTemplate::parse(test::read_file(dir + "/" + row["template"].get<std::string>() + ".jinja"));
            EXPECT_EQ(chat::render_chat(tmpl, in), row["output"].get<std::string>()) << where;
            ++compared;
        }
    }
    std::cout << "[ serve tools ] " << compared << " renderings of wire-form tool conversations matched jinja2\n";
    EXPECT_GT(compared, 20);
}

}  // namespace
}  // namespace hearth::serve
