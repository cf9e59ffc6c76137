#include "cost/runner.h"

#include <chrono>

#include "common/error.h"
#include "cost/sampler.h"
#include "engine/chat_session.h"
#include "engine/generate.h"
#include "engine/loader.h"
#include "engine/prompt.h"

namespace hearth::cost {

void apply_energy(CostSample& s, double joules, double seconds, const PowerReader& reader) {
    s.energy_j = joules;
    s.avg_watts = seconds > 0 ? joules / seconds : 0;
    s.wh_per_token = s.gen_tokens > 0 ? joules / 3600.0 / s.gen_tokens : 0;
    s.power_source = reader.name();
    s.measured = reader.measured();
}

double generation_rate(int gen_tokens, double first_ms, double last_ms) {
    if (gen_tokens < 2 || last_ms <= first_ms) return 0;
    return (gen_tokens - 1) / ((last_ms - first_ms) / 1000.0);
}

bool should_stop(const RunOptions& options, const CostSample* last) {
    if (options.stop && options.stop->load()) return true;
    return options.fail_fast && last && !last->ok();
}

namespace {

bool has_chat_template(const gguf::File& file) { return file.find("tokenizer.chat_template") != nullptr; }

std::vector<TokenId> prompt_tokens(const LoadedModel& lm, const std::optional<ChatFormat>& format,
                                   const std::string& text, bool parse_special) {
    std::vector<TokenId> tokens;
    if (format) {
        chat::ChatInputs in;
        in.messages = nlohmann::ordered_json::array({{{"role", "user"}, {"content", text}}});
        in.bos_token = format->bos_token;
        in.eos_token = format->eos_token;
        // The prompt is a message: its special-token text stays text (engine/prompt.h).
        tokens = tokenize_chat_prompt(*lm.tokenizer, render_chat_prompt(format->tmpl, in, *lm.tokenizer));
    } else {
        tokens = tokenize_prompt(*lm.tokenizer, text, /*add_special=*/true, parse_special);
    }
    if (tokens.empty() && lm.tokenizer->bos() != kNoToken) tokens.push_back(lm.tokenizer->bos());
    return tokens;
}

}  // namespace

std::vector<CostSample> run_local_model(const std::string& model_path, const std::string& label,
                                        const std::vector<Prompt>& prompts, const RunOptions& options,
                                        PowerReader& power) {
    using clock = std::chrono::steady_clock;
    if (options.runs < 1) fail("--runs must be at least 1 (got {})", options.runs);
    std::vector<CostSample> out;
    auto pending = [&](const Prompt& p, int run) { return !options.skip || !options.skip({label, p.id, run}); };
    bool any_pending = false;
    for (int run = 0; run < options.runs; ++run)
        for (const Prompt& p : prompts) any_pending = any_pending || pending(p, run);
    if (!any_pending) return out;  // all measured before (--resume): not even loaded

    LoadedModel lm = load_model(model_path);
    std::optional<ChatFormat> format;
    if (has_chat_template(*lm.file)) format = ChatFormat::for_model(*lm.file, *lm.tokenizer);
    Session session(*lm.model, options.session);
    PowerSampler sampler(power);

    if (options.warmup) {
        GenerateOptions g;
        g.n_predict = 4;
        g.sampling = options.sampling;
        session.reset();
        try {
            generate(session, *lm.tokenizer, prompt_tokens(lm, format, prompts.front().text, options.parse_special), g,
                     nullptr);
        } catch (const std::exception&) {
            // Unrecorded: if the prompt cannot run, its measured response says why.
        }
    }

    for (int run = 0; run < options.runs; ++run) {
        for (const Prompt& p : prompts) {
            if (!pending(p, run)) continue;
            if (should_stop(options, out.empty() ? nullptr : &out.back())) return out;
            CostSample s;
            s.model = label;
            s.backend = "hearth";
            s.prompt_id = p.id;
            s.category = p.category;
            s.run = run;
            GenerateOptions g;
            g.n_predict = p.n_predict > 0 ? p.n_predict : options.n_predict;
            g.sampling = options.sampling;
            if (g.sampling.seed != SamplingParams::kRandomSeed) g.sampling.seed += static_cast<uint64_t>(run);
            s.max_tokens = g.n_predict;
            s.temperature = g.sampling.temperature;
            session.reset();
            double first_ms = 0, last_ms = 0;
            int n = 0;
            sampler.start();
            const auto t0 = clock::now();
            GenerateResult r;
            try {
                r = generate(session, *lm.tokenizer, prompt_tokens(lm, format, p.text, options.parse_special), g,
                             [&](TokenId) {
                                 const double t = std::chrono::duration<double, std::milli>(clock::now() - t0).count();
                                 if (n++ == 0) first_ms = t;
                                 last_ms = t;
                                 return true;
                             });
            } catch (const std::exception& e) {
                s.status = kStatusModelError;
                s.error = e.what();
            }
            s.total_ms = std::chrono::duration<double, std::milli>(clock::now() - t0).count();
            EnergyMeasurement e = sampler.stop();
            if (s.ok()) {
                s.prompt_tokens = r.n_prompt;
                s.gen_tokens = static_cast<int>(r.tokens.size());
                s.ttft_ms = s.gen_tokens > 0 ? first_ms : 0;
                s.pp_ts = s.ttft_ms > 0 ? r.n_prompt / (s.ttft_ms / 1000.0) : 0;
                s.tg_ts = generation_rate(s.gen_tokens, first_ms, last_ms);
                s.engine_pp_ts = r.prompt_ms > 0 ? r.n_prompt / (r.prompt_ms / 1000.0) : 0;
                s.engine_tg_ts = s.gen_tokens > 1 && r.gen_ms > 0 ? (s.gen_tokens - 1) / (r.gen_ms / 1000.0) : 0;
                s.stop = stop_reason_name(r.stop);
            }
            apply_energy(s, e.joules, e.seconds, power);
            if (options.on_sample) options.on_sample(s);
            out.push_back(std::move(s));
        }
    }
    return out;
}

}  // namespace hearth::cost
