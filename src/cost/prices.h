#pragma once
// What a million output tokens cost from cloud APIs, to put beside the local cost. The default
// table is dated and shipped with hearth; `--cloud-prices FILE` replaces it with a file of the
// same form (`hearth eval-cost --print-cloud-prices` writes the default to start from).
#include <string>
#include <vector>

namespace hearth::cost {

struct CloudPrice {
    std::string provider;
    std::string model;
    double usd_per_mtok_output = 0;
};

struct CloudPriceTable {
    std::string date;  // when the prices were taken
    std::string note;
    std::vector<CloudPrice> prices;
};

// The default table as JSON text.
const std::string& default_cloud_prices_json();
// Parses a table ({"date": "...", "prices": [{"provider", "model", "usd_per_mtok_output"}, …]});
// `name` is used in errors. Throws hearth::Error for anything else.
CloudPriceTable parse_cloud_prices(const std::string& json_text, const std::string& name);
CloudPriceTable default_cloud_prices();

// Energy per generated token (Wh) and an electricity price ($/kWh) as dollars per million
// generated tokens: Wh/token × 1e6 tokens = Wh per Mtok; ÷ 1000 = kWh per Mtok; × $/kWh.
double usd_per_million_tokens(double wh_per_token, double usd_per_kwh);

}  // namespace hearth::cost
