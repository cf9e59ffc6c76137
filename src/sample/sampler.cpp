#include "sample/sampler.h"

#include <algorithm>
#include <bit>
#include <cfloat>
#include <cmath>
#include <limits>

#include "common/error.h"

namespace hearth {

void SamplingParams::validate() const {
    if (!(temperature >= 0.0f) || !std::isfinite(temperature))
        fail("--temp must be a finite number >= 0 (0 = greedy), got {}", temperature);
    if (top_k < 0) fail("--top-k must be >= 0 (0 = disabled), got {}", top_k);
    if (!(top_p > 0.0f && top_p <= 1.0f))
        fail("--top-p must be in (0, 1] (1 = disabled), got {}", top_p);
    if (!(min_p >= 0.0f && min_p <= 1.0f))
        fail("--min-p must be in [0, 1] (0 = disabled), got {}", min_p);
    if (!(repeat_penalty > 0.0f) || !std::isfinite(repeat_penalty))
        fail("--repeat-penalty must be a finite number > 0 (1 = disabled), got {}", repeat_penalty);
    if (repeat_last_n < 0)
        fail("--repeat-last-n must be >= 0 (0 = disabled), got {}", repeat_last_n);
}

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// NaN never wins and never breaks an ordering; +inf becomes the largest finite value so that
// differences against it stay finite. Branch-free so the copy loop vectorizes.
inline float sanitize(float x) {
    const float clamped = x < FLT_MAX ? x : FLT_MAX;  // NaN compares false: becomes FLT_MAX...
    return x == x ? clamped : kNegInf;               // ...and then -inf here
}

// Index of the first maximum (lowest id among ties). Two passes: a max reduction over 16
// independent lanes (vectorizes, no loop-carried dependency; ~7x faster than max_element's
// index tracking on 150k floats), then the first index holding it.
int32_t argmax_first(const std::vector<float>& x) {
    constexpr size_t kLanes = 16;
    float lane[kLanes];
    std::fill(lane, lane + kLanes, kNegInf);
    const float* p = x.data();
    const size_t n = x.size();
    size_t i = 0;
    for (; i + kLanes <= n; i += kLanes)
        for (size_t j = 0; j < kLanes; ++j) lane[j] = p[i + j] > lane[j] ? p[i + j] : lane[j];
    float best = kNegInf;
    for (float v : lane) best = v > best ? v : best;
    for (; i < n; ++i) best = p[i] > best ? p[i] : best;
    size_t k = 0;
    while (k + 1 < n && p[k] != best) ++k;
    return int32_t(k);
}

uint64_t resolve_seed(uint64_t seed) {
    if (seed != SamplingParams::kRandomSeed) return seed;
    std::random_device device;
    uint64_t s = (uint64_t(device()) << 32) ^ uint64_t(device());
    return s == SamplingParams::kRandomSeed ? 0 : s;
}

}  // namespace

Sampler::Sampler(const SamplingParams& params, int32_t n_vocab)
    : params_(params), n_vocab_(n_vocab), seed_(resolve_seed(params.seed)), rng_(seed_) {
    params_.validate();
    if (n_vocab <= 0) fail("sampler: vocabulary size must be positive, got {}", n_vocab);
    work_.resize(size_t(n_vocab));
}

void Sampler::reset() {
    history_.clear();
    history_next_ = 0;
    rng_.seed(seed_);
}

void Sampler::accept(int32_t token) {
    if (token < 0 || token >= n_vocab_)
        fail("sampler: token {} is outside the vocabulary (n_vocab {})", token, n_vocab_);
    const size_t n = size_t(params_.repeat_last_n);
    if (n == 0) return;
    if (history_.size() < n) {
        history_.push_back(token);
    } else {
        history_[history_next_] = token;
        history_next_ = (history_next_ + 1) % n;
    }
}

void Sampler::load_logits(std::span<const float> logits) {
    if (logits.size() != size_t(n_vocab_))
        fail("sampler: got {} logits, expected n_vocab = {}", logits.size(), n_vocab_);
    const float* src = logits.data();
    float* dst = work_.data();
    for (size_t i = 0, n = work_.size(); i < n; ++i) dst[i] = sanitize(src[i]);

    const float penalty = params_.repeat_penalty;
    if (penalty == 1.0f || history_.empty()) return;
    // llama.cpp: once per distinct token in the window; positive logits shrink, others grow.
    scratch_ids_.assign(history_.begin(), history_.end());
    std::sort(scratch_ids_.begin(), scratch_ids_.end());
    scratch_ids_.erase(std::unique(scratch_ids_.begin(), scratch_ids_.end()), scratch_ids_.end());
    for (int32_t id : scratch_ids_) {
        float& x = work_[size_t(id)];
        x = sanitize(x <= 0.0f ? x * penalty : x / penalty);
    }
}

namespace {
// The one total order used everywhere: higher logit first, lower id on ties.
struct Better {
    template <typename C>
    bool operator()(const C& a, const C& b) const {
        return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
    }
};
}  // namespace

void Sampler::select_top_k() {
    const int32_t n = n_vocab_;
    const int32_t k = params_.top_k;
    candidates_.clear();
    if (k == 0 || k >= n) {
        // Everything, in id order (not sorted).
        candidates_.resize(size_t(n));
        for (int32_t i = 0; i < n; ++i) candidates_[size_t(i)] = {work_[size_t(i)], i, 0.0f};
        sorted_ = false;
        return;
    }
    // One pass with a k-element heap whose front is the worst kept candidate: most tokens
    // are rejected by a single comparison, and the vocabulary is never sorted.
    candidates_.reserve(size_t(k));
    Better better;
    for (int32_t i = 0; i < k; ++i) candidates_.push_back({work_[size_t(i)], i, 0.0f});
    std::make_heap(candidates_.begin(), candidates_.end(), better);
    float worst = candidates_.front().logit;
    for (int32_t i = k; i < n; ++i) {
        const float x = work_[size_t(i)];
        // Ties with the worst lose: this token's id is higher than every kept one.
        if (!(x > worst)) continue;
        std::pop_heap(candidates_.begin(), candidates_.end(), better);
        candidates_.back() = {x, i, 0.0f};
        std::push_heap(candidates_.begin(), candidates_.end(), better);
        worst = candidates_.front().logit;
    }
    std::sort(candidates_.begin(), candidates_.end(), better);
    sorted_ = true;
}

void Sampler::apply_top_p_min_p() {
    const bool top_p = params_.top_p < 1.0f;
    const bool min_p = params_.min_p > 0.0f;
    if (!top_p && !min_p) return;

    float max_logit = kNegInf;
    for (const Candidate& c : candidates_) max_logit = std::max(max_logit, c.logit);
    if (max_logit == kNegInf) return;  // everything banned: draw() takes the first

    // top-p runs first in the chain, so its probabilities are normalized over all candidates
    // left by top-k. min-p keeps tokens with p >= min_p * p_max, a prefix of the sorted order
    // that does not depend on normalization, so applying it first (cheap, no sort) and then
    // cutting the nucleus with the earlier normalization gives the same set.
    // Unnormalized probabilities at temperature 1 (top-p and min-p come before temperature).
    double z = 0;
    if (top_p) {
        for (Candidate& c : candidates_) {
            c.weight = std::exp(c.logit - max_logit);
            z += c.weight;
        }
    }

    if (min_p) {
        const double threshold = double(max_logit) + std::log(double(params_.min_p));
        std::erase_if(candidates_, [&](const Candidate& c) { return double(c.logit) < threshold; });
    }

    if (!top_p) return;
    const double target = double(params_.top_p) * z;
    if (sorted_) {
        double cum = 0;
        for (size_t i = 0; i < candidates_.size(); ++i) {
            cum += candidates_[i].weight;
            if (cum >= target) {
                candidates_.resize(i + 1);
                return;
            }
        }
        return;  // the min-p set is smaller than the nucleus: keep it all
    }

    // Unsorted (no top-k, often the whole vocabulary): bucket the candidates by logit below
    // the max, find the bucket where the running mass crosses the target, and sort only that
    // bucket. O(n) with no data movement. Buckets are monotone in the logit, so every token in
    // an earlier bucket beats every token in a later one. The last bucket takes everything
    // further than kRange below the max (correct, just slower, in the rare case it holds the
    // cut). Then keep every candidate at least as good as the cut, in id order, so the draw
    // never depends on how the standard library orders ties.
    constexpr int kBuckets = 2048;
    constexpr double kRange = 32.0;  // e^-32 ~ 1e-14: below that mass hardly ever matters
    constexpr double kScale = kBuckets / kRange;
    auto bucket_of = [&](const Candidate& c) {
        const double d = (double(max_logit) - double(c.logit)) * kScale;
        return d < kBuckets - 1 ? int(d) : kBuckets - 1;  // also catches -inf logits
    };
    bucket_mass_.assign(kBuckets, 0.0);
    for (const Candidate& c : candidates_) bucket_mass_[size_t(bucket_of(c))] += c.weight;
    double acc = 0;  // mass of the buckets before `cut_bucket`
    int cut_bucket = 0;
    while (cut_bucket < kBuckets && acc + bucket_mass_[size_t(cut_bucket)] < target)
        acc += bucket_mass_[size_t(cut_bucket++)];
    if (cut_bucket == kBuckets) return;  // rounding: the nucleus is everything left

    pool_.clear();
    for (const Candidate& c : candidates_)
        if (bucket_of(c) == cut_bucket) pool_.push_back(c);
    std::sort(pool_.begin(), pool_.end(), Better{});
    size_t cut = pool_.size() - 1;  // block sums and running sums may round apart
    for (size_t i = 0; i < pool_.size(); ++i) {
        acc += pool_[i].weight;
        if (acc >= target) {
            cut = i;
            break;
        }
    }
    const Candidate last = pool_[cut];
    std::erase_if(candidates_, [&](const Candidate& c) { return Better{}(last, c); });
}

double Sampler::uniform() {
    return double(rng_() >> 11) * 0x1.0p-53;
}

int32_t Sampler::draw() {
    size_t best = 0;
    for (size_t i = 0; i < candidates_.size(); ++i)
        if (Better{}(candidates_[i], candidates_[best])) best = i;
    const float max_logit = candidates_[best].logit;
    if (max_logit == kNegInf) return candidates_[best].id;  // everything banned

    // Temperature, then softmax (unnormalized: the draw scales u by the total instead).
    const double inv_t = 1.0 / double(params_.temperature);  // finite even for tiny floats
    double total = 0;
    for (Candidate& c : candidates_) {
        c.weight = std::exp(float((double(c.logit) - max_logit) * inv_t));
        total += c.weight;
    }
    const double u = uniform() * total;
    double cum = 0;
    size_t last = best;
    for (size_t i = 0; i < candidates_.size(); ++i) {
        const float w = candidates_[i].weight;
        if (w <= 0.0f) continue;
        cum += w;
        last = i;
        if (u < cum) return candidates_[i].id;
    }
    return candidates_[last].id;  // rounding left u just past the end
}

void Sampler::apply_mask(std::span<const uint64_t> allowed) {
    const size_t n = work_.size();
    if (allowed.size() != (n + 63) / 64)
        fail("sampler: the allowed-token mask has {} words, expected {} for n_vocab = {}", allowed.size(),
             (n + 63) / 64, n);
    for (size_t w = 0; w < allowed.size(); ++w) {
        const uint64_t bits = allowed[w];
        if (bits == ~uint64_t(0)) continue;
        const size_t end = std::min(n, (w + 1) * 64);
        for (size_t i = w * 64; i < end; ++i)
            if (!((bits >> (i & 63)) & 1)) work_[i] = kNegInf;
    }
}

int32_t Sampler::sample(std::span<const float> logits, std::span<const uint64_t> allowed) {
    load_logits(logits);
    if (!allowed.empty()) apply_mask(allowed);
    int32_t token = 0;
    if (params_.temperature <= 0.0f) {
        token = argmax_first(work_);
    } else {
        select_top_k();
        apply_top_p_min_p();
        token = draw();
    }
    if (allowed.empty() || ((allowed[size_t(token) >> 6] >> (size_t(token) & 63)) & 1)) return token;
    // Every allowed token's logit was -inf (NaN or -inf from the model): the first allowed one.
    for (size_t w = 0; w < allowed.size(); ++w)
        if (allowed[w]) return int32_t(w * 64 + size_t(std::countr_zero(allowed[w])));
    fail("sampler: the allowed-token mask allows no token");
}

}  // namespace hearth
