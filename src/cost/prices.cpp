#include "cost/prices.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace hearth::cost {

const std::string& default_cloud_prices_json() {
    // List prices in US dollars per million output tokens, standard (non-batch) tier, as
    // published on the providers' pricing pages at the date below. Prices change: check
    // them, and pass your own table with --cloud-prices.
    static const std::string text = R"({
  "date": "2025-06-01",
  "currency": "USD",
  "unit": "per 1M output tokens",
  "note": "list prices, standard tier, from the providers' pricing pages at this date; verify before relying on them",
  "prices": [
    {"provider": "OpenAI", "model": "gpt-4o", "usd_per_mtok_output": 10.00},
    {"provider": "OpenAI", "model": "gpt-4o-mini", "usd_per_mtok_output": 0.60},
    {"provider": "OpenAI", "model": "gpt-4.1", "usd_per_mtok_output": 8.00},
    {"provider": "OpenAI", "model": "gpt-4.1-mini", "usd_per_mtok_output": 1.60},
    {"provider": "OpenAI", "model": "gpt-4.1-nano", "usd_per_mtok_output": 0.40},
    {"provider": "Anthropic", "model": "claude-sonnet-4", "usd_per_mtok_output": 15.00},
    {"provider": "Anthropic", "model": "claude-3.5-haiku", "usd_per_mtok_output": 4.00},
    {"provider": "Google", "model": "gemini-2.0-flash", "usd_per_mtok_output": 0.40}
  ]
}
)";
    return text;
}

CloudPriceTable parse_cloud_prices(const std::string& json_text, const std::string& name) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(json_text);
    } catch (const nlohmann::json::parse_error& e) {
        fail("{}: not JSON ({})", name, e.what());
    }
    if (!j.is_object()) fail("{}: expected an object with \"date\" and \"prices\"", name);
    CloudPriceTable t;
    if (!j.contains("date") || !j["date"].is_string() || j["date"].get<std::string>().empty())
        fail("{}: \"date\" (when the prices were taken) must be a non-empty string", name);
    t.date = j["date"].get<std::string>();
    if (j.contains("note") && j["note"].is_string()) t.note = j["note"].get<std::string>();
    if (!j.contains("prices") || !j["prices"].is_array() || j["prices"].empty())
        fail("{}: \"prices\" must be a non-empty array", name);
    for (size_t i = 0; i < j["prices"].size(); ++i) {
        const auto& p = j["prices"][i];
        auto str = [&](const char* key) {
            if (!p.is_object() || !p.contains(key) || !p[key].is_string() || p[key].get<std::string>().empty())
                fail("{}: prices[{}]: \"{}\" must be a non-empty string", name, i, key);
            return p[key].get<std::string>();
        };
        CloudPrice c;
        c.provider = str("provider");
        c.model = str("model");
        if (!p.contains("usd_per_mtok_output") || !p["usd_per_mtok_output"].is_number() ||
            !(p["usd_per_mtok_output"].get<double>() >= 0) || !std::isfinite(p["usd_per_mtok_output"].get<double>()))
            fail("{}: prices[{}]: \"usd_per_mtok_output\" must be a number >= 0", name, i);
        c.usd_per_mtok_output = p["usd_per_mtok_output"].get<double>();
        t.prices.push_back(std::move(c));
    }
    return t;
}

CloudPriceTable default_cloud_prices() { return parse_cloud_prices(default_cloud_prices_json(), "built-in cloud prices"); }

double usd_per_million_tokens(double wh_per_token, double usd_per_kwh) {
    return wh_per_token * 1e6 / 1000.0 * usd_per_kwh;
}

}  // namespace hearth::cost
