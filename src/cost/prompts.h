#pragma once
// The prompts a cost evaluation runs: a built-in varied set, or a JSONL file of
// {"id": "...", "prompt": "...", "category": "...", "n_predict": N} objects, one a line
// (only "prompt" required).
#include <string>
#include <vector>

namespace hearth::cost {

struct Prompt {
    std::string id;
    std::string category;  // short answer, story, code, list, …
    std::string text;
    int n_predict = 0;     // 0: the run's --n-predict
};

// Short answers, long stories, code, lists, explanations: 16 prompts.
const std::vector<Prompt>& builtin_prompts();

// Parses JSONL text; `name` is the file name used in errors ("FILE:LINE: problem"). Blank
// lines are skipped; unknown keys, duplicate ids, a missing or empty prompt and a file with
// no prompts are errors.
std::vector<Prompt> parse_prompts_jsonl(const std::string& text, const std::string& name);
std::vector<Prompt> load_prompts_jsonl(const std::string& path);

}  // namespace hearth::cost
