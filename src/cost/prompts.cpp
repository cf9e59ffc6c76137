#include "cost/prompts.h"

#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace hearth::cost {

const std::vector<Prompt>& builtin_prompts() {
    // Varied on purpose: answers from one line to a long story, so tokens/s and energy per
    // token are seen over the lengths people actually ask for.
    static const std::vector<Prompt> prompts = {
        {"capital", "short", "What is the capital of Australia? Answer in one sentence.", 0},
        {"boil", "short", "At what temperature does water boil at sea level, in Celsius and Fahrenheit?", 0},
        {"define", "short", "Define the word 'ephemeral' and use it in a sentence.", 0},
        {"math", "short", "A train travels 120 km in 1.5 hours. What is its average speed? Show the steps.", 0},
        {"story-lighthouse", "story",
         "Write a long story about a lighthouse keeper who finds a message in a bottle that was "
         "written by her grandmother fifty years ago.", 0},
        {"story-robot", "story",
         "Tell a bedtime story about a small robot that learns to paint, with a beginning, a "
         "problem and a happy ending.", 0},
        {"story-city", "story",
         "Write the opening chapter of a mystery novel set in a rainy harbour city in 1920.", 0},
        {"code-fizzbuzz", "code", "Write a Python function fizzbuzz(n) that returns the FizzBuzz list up to n, with a docstring.", 0},
        {"code-cpp", "code",
         "Write a C++ function that reverses the words of a sentence in place, and explain its complexity.", 0},
        {"code-sql", "code",
         "Write an SQL query that returns the five customers with the highest total order value "
         "from tables customers(id, name) and orders(id, customer_id, amount).", 0},
        {"code-review", "code",
         "Explain what is wrong with this JavaScript and fix it: for (var i = 0; i < 3; i++) { "
         "setTimeout(() => console.log(i), 100); }", 0},
        {"list-packing", "list", "List fifteen things to pack for a week of hiking in the mountains.", 0},
        {"list-ideas", "list", "Give ten ideas for a rainy Sunday afternoon with children, one line each.", 0},
        {"list-steps", "list", "List the steps to change a flat bicycle tyre, numbered.", 0},
        {"explain-tides", "explain", "Explain to a ten-year-old why the sea has tides.", 0},
        {"summary-email", "rewrite",
         "Rewrite this as a polite, short email: 'the meeting moved to thursday 3pm, bring the "
         "numbers, dont be late again'.", 0},
    };
    return prompts;
}

std::vector<Prompt> parse_prompts_jsonl(const std::string& text, const std::string& name) {
    std::vector<Prompt> out;
    std::set<std::string> ids;
    std::istringstream in(text);
    std::string line;
    int line_no = 0;
    while (std::getline(in, line)) {
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.find_first_not_of(" \t") == std::string::npos) continue;
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(line);
        } catch (const nlohmann::json::parse_error& e) {
            fail("{}:{}: not a JSON object ({})", name, line_no, e.what());
        }
        if (!j.is_object()) fail("{}:{}: expected a JSON object like {{\"prompt\": \"...\"}}", name, line_no);
        Prompt p;
        for (auto it = j.begin(); it != j.end(); ++it) {
            const std::string& key = it.key();
            if (key == "prompt" || key == "id" || key == "category") {
                if (!it->is_string()) fail("{}:{}: \"{}\" must be a string", name, line_no, key);
                std::string v = it->get<std::string>();
                (key == "prompt" ? p.text : key == "id" ? p.id : p.category) = v;
            } else if (key == "n_predict") {
                if (!it->is_number_integer() || it->get<long long>() < 1 || it->get<long long>() > 1000000)
                    fail("{}:{}: \"n_predict\" must be an integer from 1 to 1000000", name, line_no);
                p.n_predict = it->get<int>();
            } else {
                fail("{}:{}: unknown key \"{}\" (known: id, prompt, category, n_predict)", name, line_no, key);
            }
        }
        if (p.text.empty()) fail("{}:{}: missing or empty \"prompt\"", name, line_no);
        if (p.id.empty()) p.id = "line" + std::to_string(line_no);
        if (p.category.empty()) p.category = "custom";
        if (!ids.insert(p.id).second) fail("{}:{}: duplicate id \"{}\"", name, line_no, p.id);
        out.push_back(std::move(p));
    }
    if (out.empty()) fail("{}: no prompts (one JSON object per line, e.g. {{\"prompt\": \"Hi\"}})", name);
    return out;
}

std::vector<Prompt> load_prompts_jsonl(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("{}: cannot open the prompts file", path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return parse_prompts_jsonl(ss.str(), path);
}

}  // namespace hearth::cost
