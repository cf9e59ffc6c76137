#include "serve/server.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <random>
#include <thread>
#include <utility>

#include <fmt/format.h>
#include <httplib.h>

#include "chat/reply_stream.h"
#include "common/error.h"
#include "common/version.h"
#include "engine/grammar_constraint.h"
#include "engine/prompt.h"
#include "grammar/grammar.h"
#include "library/store.h"
#include "serve/access_log.h"
#include "serve/format.h"
#include "serve/metrics.h"
#include "serve/model_info.h"
#include "serve/reply.h"
#include "serve/request.h"
#include "serve/tool_grammar.h"
#include "serve/webui.h"
#include "tensor/types.h"

namespace hearth::serve {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

bool is_ollama_path(const std::string& path) { return path.rfind("/api/", 0) == 0; }

void send_json(httplib::Response& res, int status, const ordered_json& body) {
    res.status = status;
    res.set_content(dump_json(body), "application/json");
}

void send_error(httplib::Response& res, bool ollama, const ApiError& e) {
    send_json(res, e.status, ollama ? ollama_error(e.what()) : openai_error(e.what(), e.type, e.code));
}

const char* status_type(int status) {
    switch (status) {
        case 401: return "authentication_error";
        case 404: return "not_found_error";
        case 413: return "invalid_request_error";
        case 503: return "server_error";
        default: return status >= 500 ? "server_error" : "invalid_request_error";
    }
}

std::string random_id(const char* prefix) {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    return fmt::format("{}{:016x}", prefix, rng());
}

int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Constant-time comparison, so a wrong key's timing says nothing about the right one.
bool same_secret(std::string_view a, std::string_view b) {
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i % (b.empty() ? 1 : b.size())]);
    return diff == 0 && !b.empty();
}

const char* finish_name(FinishReason r) { return r == FinishReason::Length ? "length" : "stop"; }

// Keeps a request's job alive while its response streams; cancels it when the response goes
// away (finished, or the client disconnected and the write failed).
struct StreamState {
    ModelRegistry::Lease model;  // first: destroyed last, after the job is cancelled
    std::shared_ptr<Job> job;
    Api api;
    const Tokenizer* tokenizer = nullptr;  // the model's, which the lease keeps
    ResponseMeta meta;
    std::string created_at;
    bool include_usage = false;
    bool started = false;
    Clock::time_point t0;
    double submit_s = 0;  // from t0 to the scheduler taking the job (parsing, templating)
    // Chat replies are read for reasoning markup and tool calls (serve/reply.h).
    std::optional<ReplyReader> reply;
    std::vector<ToolCall> tool_calls;   // sent when the reply ends
    // OpenAI logprobs: -1 when not asked; entries not sent yet; the completion text's byte offset.
    int top_logprobs = -1;
    std::vector<TokenLogprob> logprobs;
    size_t text_offset = 0;
    ~StreamState() { job->cancel(); }
};

}  // namespace

// Everything that touches httplib types lives here.
struct Server::Impl {
    // The prompt's tokens; `opens_thinking` says whether the rendered template left a <think>
    // block open for the reply.
    static std::vector<TokenId> prompt_tokens(const Server& s, const ServedModel& m, const GenerationRequest& g,
                                              bool& opens_thinking) {
        const Tokenizer& tok = *m.loaded.tokenizer;
        std::vector<TokenId> tokens;
        opens_thinking = false;
        if (uses_template(g)) {
            chat::ChatInputs in;
            in.kwargs = g.template_kwargs;
            if (g.think) in.kwargs["enable_thinking"] = *g.think;  // Qwen 3 / 3.5 templates read it
            if (!g.reasoning_effort.empty()) in.kwargs["reasoning_effort"] = g.reasoning_effort;  // gpt-oss
            if (g.api == Api::OllamaGenerate) {
                if (!g.system.empty()) in.messages.push_back({{"role", "system"}, {"content", g.system}});
                in.messages.push_back({{"role", "user"}, {"content", g.prompt}});
            } else {
                in.messages = g.messages;
            }
            if (!g.tools.is_null()) pass_tools(m, g.tools, in);
            in.bos_token = m.chat_format->bos_token;
            in.eos_token = m.chat_format->eos_token;
            in.options.system_clock = true;
            m.chat_format->adapt(in);
            ChatPrompt rendered;
            try {
                rendered = render_chat_prompt(m.chat_format->tmpl, in, tok);
            } catch (const std::exception& e) {
                throw ApiError(400, fmt::format("the chat template rejected the messages: {}", e.what()),
                               "invalid_request_error", "invalid_messages");
            }
            // Special tokens from the template are parsed, those in the messages never (engine/prompt.h).
            tokens = tokenize_chat_prompt(tok, rendered);
            opens_thinking = chat::prompt_opens_thinking(rendered.text);
        } else {
            // A raw prompt is the client's whole text, special tokens included (as llama.cpp's server).
            tokens = tokenize_prompt(tok, g.prompt, /*add_special=*/true, s.options_.parse_special);
        }
        if (tokens.empty()) throw ApiError(400, "the prompt is empty", "invalid_request_error", "empty_prompt");
        const int n_ctx = m.scheduler->n_ctx();
        if (static_cast<int64_t>(tokens.size()) >= n_ctx)
            throw ApiError(400,
                           fmt::format("the prompt has {} tokens; the context holds {} (with room for at least one "
                                       "generated token: at most {} prompt tokens)",
                                       tokens.size(), n_ctx, n_ctx - 1),
                           "invalid_request_error", "context_length_exceeded");
        return tokens;
    }

    // Tools reach the model through its template's `tools` variable; Phi-4-mini's template reads
    // them as JSON text from the system message instead (its model card's convention).
    static void pass_tools(const ServedModel& m, const ordered_json& tools, chat::ChatInputs& in) {
        if (m.chat_format->tmpl.source().find("tools") == std::string::npos)
            throw ApiError(400, "this model's chat template does not take tools (it never reads a 'tools' variable); "
                                "use --chat-template-file with one that does",
                           "invalid_request_error", "tools_not_supported");
        in.tools = tools;
        if (m.tool_family != chat::ToolCallFamily::Phi4Mini) return;
        if (in.messages.empty() || in.messages[0]["role"] != "system")
            in.messages.insert(in.messages.begin(), ordered_json{{"role", "system"}, {"content", ""}});
        in.messages[0]["tools"] = tools.dump();
    }

    // The grammar of the reply: a forced tool call, or the requested structured output (null for
    // free text). Parsed here, on the request's thread: a bad grammar is this request's 400.
    static void constrain_reply(ServedModel& m, const GenerationRequest& g, bool opens_thinking, BatchRequest& br) {
        std::string gbnf;
        const bool forced = g.tool_choice == ToolChoice::Required || g.tool_choice == ToolChoice::Named;
        if (forced && !g.tools.is_null()) {
            try {
                gbnf = forced_tool_call_grammar(m.tool_family, g.tools, g.tool_choice_name, g.parallel_tool_calls);
            } catch (const Error& e) {
                throw ApiError(400, e.what(), "invalid_request_error", "invalid_schema");
            }
        }
        if (gbnf.empty()) gbnf = g.grammar;
        if (gbnf.empty()) return;
        try {
            grammar::Grammar parsed = grammar::parse_gbnf(gbnf);
            // The prompt opened a thinking block: the reply closes it first (no reasoning under a grammar).
            if (opens_thinking) parsed = grammar::with_prefix(std::move(parsed), "</think>\n\n");
            br.grammar = std::make_shared<const grammar::Grammar>(std::move(parsed));
            br.vocab = m.vocab_trie();
        } catch (const Error& e) {
            throw ApiError(400, e.what(), "invalid_request_error", "invalid_grammar");
        }
    }

    // Slots have a fixed context (-c): a request asking for more gets a 400, not less than it asked.
    static void check_num_ctx(const ServedModel& m, const GenerationRequest& g) {
        const int n_ctx = m.scheduler->n_ctx();
        if (g.num_ctx > n_ctx)
            throw ApiError(400,
                           fmt::format("options.num_ctx {} is more than this server's context per slot ({}); "
                                       "restart hearth serve with -c {} or more, or ask for at most {}",
                                       g.num_ctx, n_ctx, g.num_ctx, n_ctx),
                           "invalid_request_error", "context_length_exceeded");
    }

    static bool uses_template(const GenerationRequest& g) {
        return g.api == Api::OpenAIChat || g.api == Api::OllamaChat || (g.api == Api::OllamaGenerate && !g.raw);
    }

    static void generate(Server& s, Api api, const httplib::Request& req, httplib::Response& res) {
        const bool ollama = is_ollama(api);
        const Clock::time_point t0 = Clock::now();
        GenerationRequest g;
        std::shared_ptr<Job> job;
        ModelRegistry::Lease model;
        bool opens_thinking = false;
        try {
            g = parse_generation_request(api, req.body, s.options_.sampling);
            const bool no_prompt = api == Api::OllamaGenerate ? g.prompt.empty() && g.system.empty()
                                                               : api == Api::OllamaChat && g.messages.empty();
            if (no_prompt) {
                // Ollama's "load the model" (keep_alive 0: "unload") request: nothing to generate.
                const std::string reason = s.load_or_unload(g.model, g.keep_alive);
                ordered_json j = {{"model", g.model.empty() ? s.name_ : g.model}, {"created_at", rfc3339_now()}};
                if (api == Api::OllamaChat) j["message"] = {{"role", "assistant"}, {"content", ""}};
                else j["response"] = "";
                j["done"] = true;
                j["done_reason"] = reason;
                send_json(res, 200, j);
                return;
            }
            model = s.acquire(g.model, g.keep_alive);
            ServedModel& m = *model;
            check_num_ctx(m, g);
            BatchRequest br;
            br.prompt = prompt_tokens(s, m, g, opens_thinking);
            br.n_predict = g.n_predict;
            br.sampling = g.sampling;
            br.presence_penalty = g.presence_penalty;
            br.frequency_penalty = g.frequency_penalty;
            br.stop = g.stop;
            br.top_logprobs = g.top_logprobs;
            constrain_reply(m, g, opens_thinking, br);
            current_access().model = m.spec.name;
            try {
                job = m.scheduler->submit(std::move(br));
            } catch (const Error& e) {
                throw ApiError(400, e.what());
            }
            if (!job)
                throw ApiError(503,
                               s.stopping_ ? "the server is shutting down"
                                           : fmt::format("the server is busy: all {} slots are in use and the queue "
                                                         "is full; retry later",
                                                         m.scheduler->n_slots()),
                               "server_error", "queue_full");
        } catch (const ApiError& e) {
            send_error(res, ollama, e);
            return;
        }

        auto st = std::make_shared<StreamState>();
        st->model = model;
        st->job = job;
        st->api = api;
        st->tokenizer = model->loaded.tokenizer.get();
        st->meta = {random_id(api == Api::OpenAICompletion ? "cmpl-" : "chatcmpl-"), model->spec.name, unix_now()};
        st->created_at = rfc3339_now();
        st->include_usage = g.include_usage;
        st->top_logprobs = is_ollama(api) ? -1 : g.top_logprobs;
        st->t0 = t0;
        st->submit_s = std::chrono::duration<double>(Clock::now() - t0).count();
        if (uses_template(g)) {
            ReplyOptions ro;
            ro.opens_thinking = opens_thinking;
            ro.hide_thinking = g.think == false;
            ro.family = model->tool_family;
            // tool_choice "none": the template still shows the tools, but calls are not read (as llama.cpp's server).
            if (g.tool_choice != ToolChoice::None) ro.tools = g.tools;
            ro.parallel_tool_calls = g.parallel_tool_calls;
            st->reply.emplace(std::move(ro));
        }

        if (!g.stream) {
            const JobResult& r = job->wait();
            if (r.finish == FinishReason::Error) {
                send_error(res, ollama, ApiError(500, "generation failed: " + r.error, "server_error", "internal_error"));
                return;
            }
            account(s, *st, r);
            send_json(res, 200, final_body(*st, r));
            return;
        }
        const char* type = ollama ? "application/x-ndjson" : "text/event-stream";
        if (!ollama) res.set_header("Cache-Control", "no-cache");
        res.set_chunked_content_provider(type, [&s, st](size_t, httplib::DataSink& sink) { return stream_step(s, *st, sink); });
    }

    // A finished generation in the metrics and on this request's access-log record.
    static void account(Server& s, const StreamState& st, const JobResult& r) {
        if (r.finish == FinishReason::Error) return;
        s.metrics_->count_tokens(st.meta.model, static_cast<uint64_t>(r.n_prompt), static_cast<uint64_t>(r.n_generated));
        if (r.n_generated > 0) s.metrics_->observe_time_to_first_token(st.submit_s + (r.queue_ms + r.prompt_ms) / 1e3);
        if (r.n_generated > 1)
            s.metrics_->observe_time_per_token(r.gen_ms / 1e3 / (r.n_generated - 1), static_cast<uint64_t>(r.n_generated - 1));
        AccessRecord& a = current_access();
        a.prompt_tokens = r.n_prompt;
        a.completion_tokens = r.n_generated;
        a.cached_tokens = r.n_cached;
    }

    static Usage usage_of(const JobResult& r) { return {r.n_prompt, r.n_generated, r.n_cached}; }

    static Timings timings_of(const StreamState& st, const JobResult& r) {
        Timings t;
        t.total = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - st.t0).count();
        t.load = 0;  // the model is loaded once, at startup
        t.prompt_eval = static_cast<int64_t>(r.prompt_ms * 1e6);
        t.eval = static_cast<int64_t>(r.gen_ms * 1e6);
        return t;
    }

    // OpenAI says "tool_calls" when the reply ends in calls.
    static std::string finish_of(const JobResult& r, bool calls) {
        return calls && r.finish == FinishReason::Stop ? "tool_calls" : finish_name(r.finish);
    }

    // The whole (non-streamed) answer.
    static ordered_json final_body(StreamState& st, const JobResult& r) {
        ChatReply reply;
        if (st.reply) {
            reply = st.reply->push(r.text);
            ChatReply end = st.reply->finish();
            reply.thinking += end.thinking;
            reply.content += end.content;
            reply.tool_calls = std::move(end.tool_calls);
        } else {
            reply.content = r.text;
        }
        const std::string finish = finish_of(r, !reply.tool_calls.empty());
        switch (st.api) {
            case Api::OpenAIChat: {
                ordered_json body = chat_completion(st.meta, reply, finish, usage_of(r));
                if (st.top_logprobs >= 0) body["choices"][0]["logprobs"] = chat_logprobs(logprob_text(st, r.logprobs));
                return body;
            }
            case Api::OpenAICompletion: {
                ordered_json body = text_completion(st.meta, r.text, finish, usage_of(r));
                if (st.top_logprobs >= 0)
                    body["choices"][0]["logprobs"] = completion_logprobs(logprob_text(st, r.logprobs), 0);
                return body;
            }
            default:
                return ollama_final(st.api, st.meta.model, rfc3339_now(), reply, finish, usage_of(r), timings_of(st, r));
        }
    }

    // Token ids to text (special tokens as their text: a client sees what the model chose).
    static std::vector<LogprobEntry> logprob_text(const StreamState& st, const std::vector<TokenLogprob>& lps) {
        const Tokenizer& tok = *st.tokenizer;
        std::vector<LogprobEntry> out;
        for (const TokenLogprob& lp : lps) {
            LogprobEntry e{std::string(tok.token_to_piece(lp.token, true)), lp.logprob, {}};
            for (const auto& [id, value] : lp.top) e.top.emplace_back(std::string(tok.token_to_piece(id, true)), value);
            out.push_back(std::move(e));
        }
        return out;
    }

    // Puts the entries not sent yet into an OpenAI chunk (the first chunk after their tokens).
    static ordered_json with_logprobs(StreamState& st, ordered_json chunk) {
        if (st.top_logprobs < 0 || st.logprobs.empty()) return chunk;
        const std::vector<LogprobEntry> entries = logprob_text(st, st.logprobs);
        st.logprobs.clear();
        if (st.api == Api::OpenAIChat) {
            chunk["choices"][0]["logprobs"] = chat_logprobs(entries);
        } else {
            chunk["choices"][0]["logprobs"] = completion_logprobs(entries, st.text_offset);
            for (const LogprobEntry& e : entries) st.text_offset += e.token.size();
        }
        return chunk;
    }

    // The events of one piece of streamed text: reasoning and answer as they come; tool calls
    // are kept and sent whole when the reply ends.
    static void stream_text(StreamState& st, const std::string& text, std::string& out) {
        if (text.empty()) return;
        if (!st.reply) {  // completion routes: the text as generated
            if (st.api == Api::OpenAICompletion)
                out += sse_event(with_logprobs(st, text_chunk(st.meta, text, nullptr, st.include_usage)));
            else out += ndjson_line(ollama_piece(st.api, st.meta.model, rfc3339_now(), ChatReply{text, {}, {}}));
            return;
        }
        send_text(st, st.reply->push(text), out);
    }

    static void send_text(StreamState& st, const ChatReply& part, std::string& out) {
        if (part.thinking.empty() && part.content.empty()) return;
        if (st.api == Api::OpenAIChat) {
            if (!part.thinking.empty())
                out += sse_event(with_logprobs(st, chat_chunk(st.meta, nullptr, nullptr, nullptr, st.include_usage, &part.thinking)));
            if (!part.content.empty())
                out += sse_event(with_logprobs(st, chat_chunk(st.meta, nullptr, &part.content, nullptr, st.include_usage)));
        } else {
            out += ndjson_line(ollama_piece(st.api, st.meta.model, rfc3339_now(), part));
        }
    }

    // One call of the chunked content provider: waits for the next text and writes it.
    static bool stream_step(Server& s, StreamState& st, httplib::DataSink& sink) {
        const bool ollama = is_ollama(st.api);
        std::string out;
        if (!st.started) {
            st.started = true;
            if (st.api == Api::OpenAIChat) {
                const std::string role = "assistant", empty;
                out = sse_event(chat_chunk(st.meta, &role, &empty, nullptr, st.include_usage));
                if (!sink.write(out.data(), out.size())) return false;
                out.clear();
            }
        }
        std::string text;
        const bool more = st.job->next(text, st.top_logprobs >= 0 ? &st.logprobs : nullptr);
        stream_text(st, text, out);
        if (!more) {
            if (st.reply) {
                ChatReply rest = st.reply->finish();
                st.tool_calls = std::move(rest.tool_calls);
                send_text(st, rest, out);
            }
            const JobResult& r = st.job->result();
            account(s, st, r);
            const std::string finish = finish_of(r, !st.tool_calls.empty());
            if (r.finish == FinishReason::Error) {
                out += ollama ? ndjson_line(ollama_error("generation failed: " + r.error))
                              : sse_event(openai_error("generation failed: " + r.error, "server_error", "internal_error"));
            } else if (ollama) {
                ChatReply last;
                last.tool_calls = st.tool_calls;
                out += ndjson_line(ollama_final(st.api, st.meta.model, rfc3339_now(), last, finish, usage_of(r), timings_of(st, r)));
            } else {
                if (!st.tool_calls.empty())
                    out += sse_event(chat_chunk(st.meta, nullptr, nullptr, nullptr, st.include_usage, nullptr,
                                                &st.tool_calls, 0));
                if (st.api == Api::OpenAIChat)
                    out += sse_event(with_logprobs(st, chat_chunk(st.meta, nullptr, nullptr, &finish, st.include_usage)));
                else out += sse_event(with_logprobs(st, text_chunk(st.meta, "", &finish, st.include_usage)));
                if (st.include_usage)
                    out += sse_event(usage_chunk(st.meta, st.api == Api::OpenAIChat ? "chat.completion.chunk" : "text_completion",
                                                 usage_of(r)));
                out += sse_done();
            }
        }
        if (!out.empty() && !sink.write(out.data(), out.size())) return false;
        if (!more) sink.done();
        return true;
    }

    // GET /api/ps: the loaded models, as Ollama lists them.
    static ordered_json running(const Server& s) {
        ordered_json models = ordered_json::array();
        for (const LoadedInfo& info : s.registry_->loaded()) {
            const ServedModel& m = *info.model;
            models.push_back({{"name", m.spec.name},
                              {"model", m.spec.name},
                              {"size", info.memory_need},
                              {"digest", bare_digest(m.spec.digest)},
                              {"details", model_details(*m.loaded.file)},
                              {"expires_at", info.expires_at ? rfc3339(*info.expires_at) : "2999-01-01T00:00:00Z"},
                              {"size_vram", 0}});
        }
        return {{"models", models}};
    }

    // POST /api/show: from the loaded model when it is, else from its file (nothing is loaded).
    static ordered_json show(const Server& s, const std::string& requested) {
        if (requested.empty() && s.name_.empty())
            throw ApiError(400, "'model' is required", "invalid_request_error", "missing_field");
        const std::optional<ModelSpec> spec = s.registry_->find(requested);
        if (!spec) throw ApiError(404, fmt::format("model '{}' not found", requested), "invalid_request_error", "model_not_found");
        for (const LoadedInfo& info : s.registry_->loaded())
            if (info.model->spec.name == spec->name)
                return show_body(*info.model->loaded.file, info.model->chat_format->tmpl.source());
        try {
            const auto file = gguf::File::open(spec->path);
            std::string tmpl = spec->chat_template;
            if (tmpl.empty()) tmpl = file->get_string("tokenizer.chat_template").value_or("");
            return show_body(*file, tmpl);
        } catch (const Error& e) {
            throw ApiError(500, fmt::format("cannot read model '{}': {}", spec->name, e.what()), "server_error");
        }
    }
};

Server::Server(LoadedModel model, ServerOptions options) : options_(std::move(options)) {
    if (!model.model || !model.tokenizer) fail("serve: the model was not fully loaded");
    name_ = options_.alias;
    if (name_.empty()) name_ = model.file->get_string("general.name").value_or("");
    if (name_.empty()) name_ = std::filesystem::path(model.file->path()).stem().string();
    ModelSpec spec;
    spec.name = name_;
    spec.path = model.file->path();
    spec.chat_template = options_.chat_template;
    spec.digest = weights_digest("", spec.path);  // a file outside the library
    const std::string stem = std::filesystem::path(spec.path).filename().string();
    // The pinned model answers to its name, name:latest and its file name; any other is a 404.
    ModelSource source;
    source.find = [spec, stem](const std::string& requested) -> std::optional<ModelSpec> {
        if (requested.empty() || requested == spec.name || requested == spec.name + ":latest" || requested == stem)
            return spec;
        return std::nullopt;
    };
    const SchedulerOptions scheduler = options_.scheduler;
    source.memory_need = [scheduler](const ModelSpec& s) { return serving_memory_need(s.path, scheduler); };
    registry_ = std::make_unique<ModelRegistry>(
        std::make_unique<ServedModel>(spec, std::move(model), options_.scheduler), std::move(source));
    metrics_ = std::make_unique<Metrics>();
    http_ = std::make_unique<httplib::Server>();
    routes();
}

Server::Server(ServerOptions options) : options_(std::move(options)) {
    registry_ = std::make_unique<ModelRegistry>(library_source(), options_.registry);
    metrics_ = std::make_unique<Metrics>();
    http_ = std::make_unique<httplib::Server>();
    routes();
}

Server::~Server() {
    stop();
    http_.reset();
    registry_.reset();
}

ModelRegistry::Lease Server::acquire(const std::string& requested, std::optional<KeepAlive> keep_alive) {
    if (requested.empty() && name_.empty())
        throw ApiError(400, "'model' is required: this server serves every model of its library (GET /api/tags lists them)",
                       "invalid_request_error", "missing_field");
    return registry_->acquire(requested, keep_alive);
}

std::string Server::load_or_unload(const std::string& requested, std::optional<KeepAlive> keep_alive) {
    if (keep_alive && keep_alive->count() == 0) {
        const std::optional<ModelSpec> spec = registry_->find(requested);
        if (!spec)
            throw ApiError(404, fmt::format("model '{}' not found", requested), "invalid_request_error", "model_not_found");
        registry_->unload(spec->name);
        return "unload";
    }
    acquire(requested, keep_alive);  // loaded; the lease ends here and the keep_alive starts
    return "load";
}

ModelSource Server::library_source() const {
    ModelSource source;
    const std::string home = options_.library_home;
    const std::string chat_template = options_.chat_template;
    source.find = [home, chat_template](const std::string& requested) -> std::optional<ModelSpec> {
        // Library names only: a request never names a file on this machine.
        if (requested.empty() || library::is_file_path(requested)) return std::nullopt;
        library::ModelName name;
        try {
            name = library::parse_model_name(requested);
        } catch (const Error&) {
            return std::nullopt;
        }
        library::Store store(library::Store::default_home(home));
        const std::optional<library::Manifest> manifest = store.read_manifest(name);
        if (!manifest) return std::nullopt;
        ModelSpec spec;
        spec.name = name.display();
        spec.path = store.model_file(*manifest, name);
        spec.chat_template = chat_template;
        if (const library::Layer* l = manifest->find(library::media::kJinjaTemplate); l && spec.chat_template.empty())
            spec.chat_template = store.read_layer_text(*l);
        const library::Layer* weights = manifest->find(library::media::kModel);
        spec.digest = weights_digest(weights ? weights->digest : "", spec.path);
        return spec;
    };
    const SchedulerOptions scheduler = options_.scheduler;
    source.memory_need = [scheduler](const ModelSpec& spec) { return serving_memory_need(spec.path, scheduler); };
    source.load = [scheduler](const ModelSpec& spec) {
        LoadedModel lm = load_model(spec.path);
        for (const std::string& w : lm.warnings) std::fprintf(stderr, "hearth serve: %s: %s\n", spec.name.c_str(), w.c_str());
        return std::make_unique<ServedModel>(spec, std::move(lm), scheduler);
    };
    return source;
}

void Server::routes() {
    httplib::Server& h = *http_;
    // Enough connection threads for every slot, every queued request and a few more, so a
    // request beyond the queue is still read and answered 503 rather than left waiting.
    // Each loaded model has its own slots and queue (up to --max-loaded of them; 4 when unlimited).
    const int models = name_.empty() ? (options_.registry.max_loaded > 0 ? options_.registry.max_loaded : 4) : 1;
    const size_t threads =
        static_cast<size_t>((options_.scheduler.n_slots + options_.scheduler.max_queue) * models + 8);
    h.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    h.set_payload_max_length(options_.max_body_bytes);
    h.set_keep_alive_timeout(5);
    // Without it Nagle's algorithm holds each small write (a streamed token, a reply's body after
    // its headers) until the client ACKs the last one, which a delayed ACK puts off ~40 ms: every
    // request on a kept-alive connection took 43 ms, and streams arrived in bursts.
    h.set_tcp_nodelay(true);

    h.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
        begin_access();
        // Probes, (with --metrics-public) the scraper and the web page's static files come
        // without the key: the page holds no data, asks for the key and sends it on API calls.
        const bool open = req.path == "/health" || req.path == "/ready" ||
                          (options_.metrics_public && req.path == "/metrics") ||
                          (options_.webui && (req.path == "/" || req.path.rfind("/webui/", 0) == 0));
        if (options_.api_key.empty() || open) return httplib::Server::HandlerResponse::Unhandled;
        const std::string auth = req.get_header_value("Authorization");
        const std::string prefix = "Bearer ";
        if (auth.rfind(prefix, 0) == 0 && same_secret(std::string_view(auth).substr(prefix.size()), options_.api_key))
            return httplib::Server::HandlerResponse::Unhandled;
        send_error(res, is_ollama_path(req.path),
                   ApiError(401, "a valid API key is required (Authorization: Bearer KEY)", "authentication_error",
                            "invalid_api_key"));
        return httplib::Server::HandlerResponse::Handled;
    });
    // Every answered request: counted, and logged as one JSON line. A path no route matched is
    // counted as "other", so clients cannot grow the label set.
    h.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
        // Taken, not read: a keep-alive connection's next request, if httplib refuses it before
        // routing, must not inherit this one's model and tokens.
        const AccessRecord record = std::exchange(current_access(), AccessRecord{});
        metrics_->count_request(req.matches.empty() ? "other" : req.path, res.status);
        if (!options_.access_log) return;
        const std::string line = access_log_line(record, req.method, req.path, res.status,
                                                 std::chrono::system_clock::now(), Clock::now());
        std::fwrite(line.data(), 1, line.size(), stderr);
    });
    // Errors httplib answers itself (404 route, 413 body, 400 bad request) get JSON bodies too.
    h.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        std::string message = res.status == 404   ? fmt::format("no route for {} {}", req.method, req.path)
                              : res.status == 413 ? "the request body is too large"
                                                  : fmt::format("HTTP {}", res.status);
        send_error(res, is_ollama_path(req.path), ApiError(res.status, message, status_type(res.status)));
        return httplib::Server::HandlerResponse::Handled;
    }));
    h.set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "internal error";
        try {
            if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
            what = e.what();
        } catch (...) {
        }
        send_error(res, is_ollama_path(req.path), ApiError(500, what, "server_error", "internal_error"));
    });

    h.Post("/v1/chat/completions", [this](const httplib::Request& q, httplib::Response& r) {
        Impl::generate(*this, Api::OpenAIChat, q, r);
    });
    h.Post("/v1/completions", [this](const httplib::Request& q, httplib::Response& r) {
        Impl::generate(*this, Api::OpenAICompletion, q, r);
    });
    h.Post("/api/generate", [this](const httplib::Request& q, httplib::Response& r) {
        Impl::generate(*this, Api::OllamaGenerate, q, r);
    });
    h.Post("/api/chat", [this](const httplib::Request& q, httplib::Response& r) {
        Impl::generate(*this, Api::OllamaChat, q, r);
    });
    // Embeddings (embed_route.cpp): beside the scheduler, never through it.
    auto embed_route = [this](EmbedApi api) {
        return [this, api](const httplib::Request& q, httplib::Response& r) {
            const bool ollama = api != EmbedApi::OpenAI;
            try {
                const EmbedRequest request = parse_embed_request(api, q.body);
                if (request.inputs.empty()) {  // Ollama's load / unload request
                    load_or_unload(request.model, request.keep_alive);
                    EmbedReply reply;
                    reply.model = request.model.empty() ? name_ : request.model;
                    return send_json(r, 200, embed_response(request, reply));
                }
                const ModelRegistry::Lease model = acquire(request.model, request.keep_alive);
                current_access().model = model->spec.name;
                send_json(r, 200, embed(*model, request));
            } catch (const ApiError& e) {
                send_error(r, ollama, e);
            }
        };
    };
    h.Post("/v1/embeddings", embed_route(EmbedApi::OpenAI));
    h.Post("/api/embed", embed_route(EmbedApi::OllamaEmbed));
    h.Post("/api/embeddings", embed_route(EmbedApi::OllamaEmbeddings));
    library_routes();
    h.Get("/api/ps", [this](const httplib::Request&, httplib::Response& r) { send_json(r, 200, Impl::running(*this)); });
    h.Post("/api/show", [this](const httplib::Request& q, httplib::Response& r) {
        try {
            send_json(r, 200, Impl::show(*this, parse_show_request(q.body)));
        } catch (const ApiError& e) {
            send_error(r, true, e);
        }
    });
    h.Get("/api/version", [](const httplib::Request&, httplib::Response& r) {
        send_json(r, 200, {{"version", hearth::version()}});
    });
    h.Get("/health", [this](const httplib::Request&, httplib::Response& r) {
        // Over every loaded model (with -m: the one).
        int slots = 0, busy = 0, queued = 0, n_ctx = 0, loaded = 0;
        uint64_t hits = 0, cached = 0;
        registry_->for_each_loaded([&](ServedModel& m) {
            ++loaded;
            slots += m.scheduler->n_slots();
            busy += m.scheduler->active();
            queued += m.scheduler->queued();
            n_ctx = std::max(n_ctx, m.scheduler->n_ctx());
            hits += m.scheduler->cache_hits();
            cached += m.scheduler->cached_tokens_total();
        });
        send_json(r, 200,
                  {{"status", stopping_ ? "stopping" : "ok"},
                   {"model", name_.empty() ? ordered_json() : ordered_json(name_)},
                   {"models_loaded", loaded},
                   {"slots", slots},
                   {"slots_busy", busy},
                   {"queued", queued},
                   {"n_ctx", n_ctx},
                   {"cache",
                    {{"enabled", options_.scheduler.prompt_cache}, {"hits", hits}, {"cached_tokens_total", cached}}}});
    });
    probe_routes();
    if (options_.webui) webui_routes();
}

void Server::webui_routes() {
    // One exact route per file (httplib's patterns are regexes: dots escaped), so an unknown path
    // stays unmatched and is counted as "other" in /metrics, never as a label of its own.
    for (const WebAsset& asset : web_assets()) {
        std::string pattern;
        for (char c : asset.url) {
            if (c == '.') pattern += '\\';
            pattern += c;
        }
        http_->Get(pattern, [&asset](const httplib::Request&, httplib::Response& res) {
            res.set_header("Content-Security-Policy", std::string(kWebUiCsp));
            res.set_header("X-Content-Type-Options", "nosniff");
            res.set_header("Referrer-Policy", "no-referrer");
            // The page changes with the binary: revalidate rather than run an old app.js against a new server.
            res.set_header("Cache-Control", "no-cache");
            res.set_content(asset.body.data(), asset.body.size(), std::string(asset.content_type));
        });
    }
}

void Server::probe_routes() {
    httplib::Server& h = *http_;
    // Readiness, for load balancers and Kubernetes: 503 once a drain began, so traffic moves
    // to other replicas while running requests finish. (Nothing listens while -m's model loads;
    // without -m, models load on demand and the server is ready at once.)
    h.Get("/ready", [this](const httplib::Request&, httplib::Response& r) {
        const bool ready = !stopping_;
        send_json(r, ready ? 200 : 503,
                  {{"status", ready ? "ready" : "draining"}, {"model", name_.empty() ? ordered_json() : ordered_json(name_)}});
    });
    h.Get("/metrics", [this](const httplib::Request&, httplib::Response& r) {
        ServerGauges g;
        g.ready = !stopping_;
        registry_->for_each_loaded([&](ServedModel& m) {
            g.slots += m.scheduler->n_slots();
            g.slots_busy += m.scheduler->active();
            g.queue_depth += m.scheduler->queued();
            g.prompt_cache_hits += m.scheduler->cache_hits();
            g.prompt_cache_tokens += m.scheduler->cached_tokens_total();
            g.models.push_back({m.spec.name, m.loaded.file->file_size()});
        });
        r.set_content(metrics_->render(g), "text/plain; version=0.0.4; charset=utf-8");
    });
}

int Server::bind() {
    if (options_.port < 0 || options_.port > 65535) fail("--port must be in [0, 65535] (got {})", options_.port);
    if (options_.port == 0) {
        port_ = http_->bind_to_any_port(options_.host);
        if (port_ <= 0) fail("cannot listen on {} (any port)", options_.host);
    } else {
        if (!http_->bind_to_port(options_.host, options_.port))
            fail("cannot listen on {}:{} (in use, or not an address of this machine?)", options_.host, options_.port);
        port_ = options_.port;
    }
    return port_;
}

void Server::listen() { http_->listen_after_bind(); }

void Server::stop() {
    if (stopping_.exchange(true)) return;
    registry_->stop();  // no more loads or expiries
    registry_->for_each_loaded([](ServedModel& m) { m.scheduler->stop(/*cancel_running=*/false); });
    auto busy = [this] {
        bool any = false;
        registry_->for_each_loaded([&](ServedModel& m) { any = any || m.scheduler->active() > 0 || m.scheduler->queued() > 0; });
        return any;
    };
    const auto deadline = Clock::now() + std::chrono::duration<double>(options_.shutdown_grace_s);
    while (!hurry_ && Clock::now() < deadline && busy()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    registry_->for_each_loaded([](ServedModel& m) { m.scheduler->stop(/*cancel_running=*/true); });
    http_->stop();
}

}  // namespace hearth::serve
