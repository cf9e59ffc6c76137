// The per-tensor type rules of the quantization mixes (llama-quantize's, written as a table).
#include <set>

#include "common/error.h"
#include "convert/quant_mix.h"
#include "gguf/quantization.h"
#include "tensor/quantize.h"
#include "test_support.h"

namespace hearth::convert {
namespace {

using T = TensorType;

const char* name_of(TensorType t) { return type_traits(t).name; }

TensorType pick(std::string_view mix, const std::string& tensor, int64_t row, const ModelShape& shape, bool pure = false) {
    return choose_tensor_type(find_quant_mix(mix), tensor, row, shape, pure);
}

std::string blk(int il, const char* part) { return "blk." + std::to_string(il) + "." + part; }

TEST(QuantMix, NamesAliasesAndFileTypes) {
    EXPECT_EQ(find_quant_mix("Q4_K_M").file_type(), 15u);
    EXPECT_EQ(find_quant_mix("q4_k_m").file_type(), 15u);
    EXPECT_EQ(find_quant_mix("Q4_K").name, "Q4_K_M");
    EXPECT_EQ(find_quant_mix("Q3_K").name, "Q3_K_M");
    EXPECT_EQ(find_quant_mix("Q5_K").name, "Q5_K_M");
    EXPECT_EQ(find_quant_mix("F32").file_type(), 0u);
    EXPECT_EQ(find_quant_mix("F16").file_type(), 1u);
    EXPECT_EQ(find_quant_mix("BF16").file_type(), 32u);
    EXPECT_EQ(find_quant_mix("Q4_0").file_type(), 2u);
    EXPECT_EQ(find_quant_mix("Q8_0").file_type(), 7u);
    EXPECT_EQ(find_quant_mix("Q2_K").file_type(), 10u);
    EXPECT_EQ(find_quant_mix("Q6_K").file_type(), 18u);
    std::set<uint32_t> seen;
    for (const QuantMix& m : quant_mixes()) {
        EXPECT_TRUE(seen.insert(m.file_type()).second) << m.name;
        // The number comes from gguf's table and names the same file type back.
        const std::string_view label = m.file_type_name.empty() ? m.name : m.file_type_name;
        EXPECT_EQ(std::string_view(gguf::file_type_name(m.file_type())), label) << m.name;
        EXPECT_NE(find_quantizer(m.base), nullptr) << m.name;
    }
    try {
        find_quant_mix("Q4_K_X");
        FAIL() << "no error";
    } catch (const Error& e) {
        std::string msg = e.what();
        EXPECT_NE(msg.find("'Q4_K_X'"), std::string::npos) << msg;
        EXPECT_NE(msg.find("Q4_K_M"), std::string::npos) << msg;
        EXPECT_NE(msg.find("Q8_0"), std::string::npos) << msg;
    }
}

TEST(QuantMix, RolesLayersAndWhatGetsQuantized) {
    EXPECT_EQ(tensor_role("token_embd.weight"), TensorRole::TokenEmbd);
    EXPECT_EQ(tensor_role("output.weight"), TensorRole::Output);
    EXPECT_EQ(tensor_role("blk.3.attn_v.weight"), TensorRole::AttnV);
    EXPECT_EQ(tensor_role("blk.3.attn_k.weight"), TensorRole::AttnK);
    EXPECT_EQ(tensor_role("blk.3.attn_output.weight"), TensorRole::AttnOutput);
    EXPECT_EQ(tensor_role("blk.3.ffn_down.weight"), TensorRole::FfnDown);
    EXPECT_EQ(tensor_role("output_norm.weight"), TensorRole::Other);
    // Roles of the newer families come from their manifests.
    EXPECT_EQ(tensor_role("blk.0.attn_qkv.weight"), TensorRole::AttnV);  // phi3, as llama-quantize
    EXPECT_EQ(tensor_role("blk.2.ffn_down_exps.weight"), TensorRole::FfnDown);
    EXPECT_EQ(tensor_role("blk.2.ffn_gate_exps.weight"), TensorRole::FfnGate);
    EXPECT_EQ(tensor_role("blk.2.ffn_gate_inp.weight"), TensorRole::Other);  // the router
    EXPECT_EQ(tensor_role("blk.2.attn_sinks.weight"), TensorRole::Other);
    EXPECT_EQ(tensor_role("blk.2.no_such_tensor.weight"), TensorRole::Other);
    EXPECT_EQ(tensor_layer("blk.17.ffn_up.weight"), 17);
    EXPECT_EQ(tensor_layer("token_embd.weight"), -1);
    EXPECT_EQ(tensor_layer("blk.x.ffn_up.weight"), -1);
    EXPECT_TRUE(is_quantizable("blk.0.attn_q.weight", 2));
    EXPECT_FALSE(is_quantizable("blk.0.attn_norm.weight", 1));
    EXPECT_FALSE(is_quantizable("blk.0.attn_q_norm.weight", 2));
    EXPECT_FALSE(is_quantizable("blk.0.attn_q.bias", 1));
    EXPECT_FALSE(is_quantizable("rope_freqs.weight", 1));
    EXPECT_FALSE(is_quantizable("blk.0.ffn_gate_inp.weight", 2));  // the MoE router
    EXPECT_FALSE(is_quantizable("blk.0.ssm_conv1d.weight", 2));
    EXPECT_TRUE(is_quantizable("blk.0.ffn_gate_exps.weight", 3));
}

TEST(QuantMix, Q4KMOnLlama3_1B) {
    const ModelShape shape{16, 4, /*tied=*/true};
    EXPECT_EQ(pick("Q4_K_M", "token_embd.weight", 2048, shape), T::Q6_K);  // tied: the output head
    const std::set<int> more_bits = {0, 1, 4, 7, 10, 13, 14, 15};
    for (int il = 0; il < 16; ++il) {
        const T promoted = more_bits.count(il) ? T::Q6_K : T::Q4_K;
        EXPECT_EQ(pick("Q4_K_M", blk(il, "attn_v.weight"), 2048, shape), promoted) << il;
        EXPECT_EQ(pick("Q4_K_M", blk(il, "ffn_down.weight"), 8192, shape), promoted) << il;
        EXPECT_EQ(pick("Q4_K_M", blk(il, "attn_q.weight"), 2048, shape), T::Q4_K);
        EXPECT_EQ(pick("Q4_K_M", blk(il, "attn_k.weight"), 2048, shape), T::Q4_K);
        EXPECT_EQ(pick("Q4_K_M", blk(il, "attn_output.weight"), 2048, shape), T::Q4_K);
        EXPECT_EQ(pick("Q4_K_M", blk(il, "ffn_gate.weight"), 2048, shape), T::Q4_K);
        EXPECT_EQ(pick("Q4_K_M", blk(il, "ffn_up.weight"), 2048, shape), T::Q4_K);
    }
}

TEST(QuantMix, Q4KMOn32LayersUntied) {
    const ModelShape shape{32, 4, /*tied=*/false};
    EXPECT_EQ(pick("Q4_K_M", "token_embd.weight", 4096, shape), T::Q4_K);
    EXPECT_EQ(pick("Q4_K_M", "output.weight", 4096, shape), T::Q6_K);
    const std::set<int> more_bits = {0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31};
    for (int il = 0; il < 32; ++il)
        EXPECT_EQ(pick("Q4_K_M", blk(il, "attn_v.weight"), 4096, shape), more_bits.count(il) ? T::Q6_K : T::Q4_K) << il;
}

TEST(QuantMix, RowsThatAreNotWholeSuperBlocksFallBack) {
    // qwen2.5-0.5b: n_embd 896 = 3.5 × 256, n_ff 4864 = 19 × 256.
    const ModelShape shape{24, 7, /*tied=*/true};
    EXPECT_EQ(pick("Q4_K_M", "token_embd.weight", 896, shape), T::Q8_0);
    EXPECT_EQ(pick("Q4_K_M", "blk.5.attn_q.weight", 896, shape), T::Q5_0);
    EXPECT_EQ(pick("Q4_K_M", "blk.5.ffn_up.weight", 896, shape), T::Q5_0);
    EXPECT_EQ(pick("Q4_K_M", "blk.0.attn_v.weight", 896, shape), T::Q8_0);  // Q6_K → Q8_0
    EXPECT_EQ(pick("Q4_K_M", "blk.6.attn_v.weight", 896, shape), T::Q5_0);
    EXPECT_EQ(pick("Q4_K_M", "blk.0.ffn_down.weight", 4864, shape), T::Q6_K);
    EXPECT_EQ(pick("Q4_K_M", "blk.6.ffn_down.weight", 4864, shape), T::Q4_K);
    EXPECT_EQ(pick("Q5_K_M", "blk.5.attn_q.weight", 896, shape), T::Q5_1);
    EXPECT_EQ(pick("Q2_K", "blk.5.attn_q.weight", 896, shape), T::Q4_0);
    EXPECT_EQ(pick("Q3_K_S", "blk.5.attn_q.weight", 896, shape), T::Q4_0);
    EXPECT_EQ(pick("Q6_K", "blk.5.attn_q.weight", 896, shape), T::Q8_0);
    EXPECT_EQ(pick("Q4_0", "blk.5.attn_q.weight", 896, shape), T::Q4_0);
    EXPECT_EQ(pick("Q4_0", "token_embd.weight", 896, shape), T::Q8_0);  // Q6_K does not fit
    EXPECT_EQ(fallback_type(T::Q4_0, 48), T::F16);
    EXPECT_EQ(fallback_type(T::Q4_K, 48), T::F16);
    EXPECT_EQ(fallback_type(T::Q4_K, 512), T::Q4_K);
}

TEST(QuantMix, LegacyAndFloatMixes) {
    const ModelShape untied{22, 8, false};
    EXPECT_EQ(pick("Q4_0", "output.weight", 2048, untied), T::Q6_K);
    EXPECT_EQ(pick("Q4_0", "token_embd.weight", 2048, untied), T::Q4_0);
    EXPECT_EQ(pick("Q4_0", "blk.0.attn_v.weight", 2048, untied), T::Q4_0);
    EXPECT_EQ(pick("Q4_0", "blk.0.ffn_down.weight", 5632, untied), T::Q4_0);
    EXPECT_EQ(pick("Q8_0", "output.weight", 2048, untied), T::Q8_0);
    EXPECT_EQ(pick("Q5_1", "output.weight", 2048, untied), T::Q6_K);
    EXPECT_EQ(pick("F16", "output.weight", 2048, untied), T::F16);
    EXPECT_EQ(pick("BF16", "blk.0.attn_v.weight", 2048, untied), T::BF16);
    EXPECT_EQ(pick("F32", "token_embd.weight", 2048, untied), T::F32);
    EXPECT_EQ(pick("F16", "blk.0.attn_q.weight", 48, untied), T::F16);
}

TEST(QuantMix, KQuantMixes) {
    const ModelShape gqa4{32, 4, false}, gqa1{32, 1, false};
    EXPECT_EQ(pick("Q2_K", "blk.9.attn_v.weight", 4096, gqa4), T::Q4_K);
    EXPECT_EQ(pick("Q2_K", "blk.9.attn_v.weight", 4096, gqa1), T::Q3_K);
    EXPECT_EQ(pick("Q2_K", "blk.9.ffn_down.weight", 14336, gqa4), T::Q3_K);
    EXPECT_EQ(pick("Q2_K", "blk.9.attn_output.weight", 4096, gqa4), T::Q3_K);
    EXPECT_EQ(pick("Q2_K", "blk.9.attn_q.weight", 4096, gqa4), T::Q2_K);
    EXPECT_EQ(pick("Q2_K", "output.weight", 4096, gqa4), T::Q6_K);
    EXPECT_EQ(pick("Q3_K_M", "blk.1.attn_v.weight", 4096, gqa4), T::Q5_K);
    EXPECT_EQ(pick("Q3_K_M", "blk.2.attn_v.weight", 4096, gqa4), T::Q4_K);
    EXPECT_EQ(pick("Q3_K_M", "blk.1.ffn_down.weight", 14336, gqa4), T::Q5_K);
    EXPECT_EQ(pick("Q3_K_M", "blk.2.ffn_down.weight", 14336, gqa4), T::Q4_K);
    EXPECT_EQ(pick("Q3_K_M", "blk.2.attn_output.weight", 4096, gqa4), T::Q4_K);
    EXPECT_EQ(pick("Q3_K_M", "blk.2.ffn_up.weight", 4096, gqa4), T::Q3_K);
    EXPECT_EQ(pick("Q3_K_S", "blk.0.attn_v.weight", 4096, gqa4), T::Q3_K);
    EXPECT_EQ(pick("Q3_K_L", "blk.9.attn_v.weight", 4096, gqa4), T::Q5_K);
    EXPECT_EQ(pick("Q4_K_S", "blk.3.attn_v.weight", 4096, gqa4), T::Q5_K);
    EXPECT_EQ(pick("Q4_K_S", "blk.4.attn_v.weight", 4096, gqa4), T::Q4_K);
    EXPECT_EQ(pick("Q4_K_S", "blk.3.ffn_down.weight", 14336, gqa4), T::Q5_K);
    EXPECT_EQ(pick("Q4_K_S", "blk.4.ffn_down.weight", 14336, gqa4), T::Q4_K);
    EXPECT_EQ(pick("Q5_K_S", "blk.0.attn_v.weight", 4096, gqa4), T::Q5_K);
    EXPECT_EQ(pick("Q5_K_M", "blk.0.attn_v.weight", 4096, gqa4), T::Q6_K);
    EXPECT_EQ(pick("Q6_K", "blk.0.attn_v.weight", 4096, gqa4), T::Q6_K);
    EXPECT_EQ(pick("Q6_K", "output.weight", 4096, gqa4), T::Q6_K);
}

TEST(QuantMix, PureGivesEveryMatrixTheBaseType) {
    const ModelShape shape{16, 4, true};
    EXPECT_EQ(pick("Q4_K_M", "token_embd.weight", 2048, shape, true), T::Q4_K);
    EXPECT_EQ(pick("Q4_K_M", "output.weight", 2048, shape, true), T::Q4_K);
    EXPECT_EQ(pick("Q4_K_M", "blk.0.attn_v.weight", 2048, shape, true), T::Q4_K);
    EXPECT_EQ(pick("Q4_0", "output.weight", 2048, shape, true), T::Q4_0);
    EXPECT_EQ(pick("Q4_K_M", "blk.0.attn_v.weight", 896, shape, true), T::Q5_0);  // still falls back
    EXPECT_STREQ(name_of(pick("Q2_K", "blk.0.ffn_down.weight", 8192, shape, true)), "Q2_K");
}

TEST(QuantMix, CodebookMixes) {
    EXPECT_EQ(find_quant_mix("IQ4_NL").file_type(), 25u);
    EXPECT_EQ(find_quant_mix("IQ4_XS").file_type(), 30u);
    EXPECT_EQ(find_quant_mix("mxfp4").file_type(), 38u);
    EXPECT_EQ(find_quant_mix("MXFP4_MOE").name, "MXFP4");
    ModelShape moe;
    moe.n_layer = 4;
    moe.n_expert = 8;
    moe.n_gqa = 4;
    // MXFP4: expert stacks MXFP4 (--pure too); the rest as the Q8_0 mix.
    for (bool pure : {false, true}) {
        EXPECT_EQ(pick("MXFP4", blk(0, "ffn_gate_exps.weight"), 256, moe, pure), T::MXFP4);
        EXPECT_EQ(pick("MXFP4", blk(3, "ffn_down_exps.weight"), 32, moe, pure), T::MXFP4);
        EXPECT_EQ(pick("MXFP4", blk(0, "attn_q.weight"), 256, moe, pure), T::Q8_0);
        EXPECT_EQ(pick("MXFP4", "output.weight", 256, moe, pure), T::Q8_0);
    }
    EXPECT_EQ(pick("MXFP4", blk(0, "ffn_up_exps.weight"), 48, moe), T::F16) << "not whole 32-blocks";
    ModelShape dense;
    dense.n_layer = 4;
    EXPECT_EQ(pick("IQ4_XS", blk(1, "ffn_up.weight"), 512, dense), T::IQ4_XS);
    EXPECT_EQ(pick("IQ4_XS", blk(1, "ffn_up.weight"), 288, dense), T::IQ4_NL) << "falls back like llama-quantize";
    EXPECT_EQ(pick("IQ4_XS", "output.weight", 512, dense), T::Q6_K);
    EXPECT_EQ(pick("IQ4_NL", blk(1, "attn_v.weight"), 512, dense), T::IQ4_NL);
    dense.n_gqa = 4;
    EXPECT_EQ(pick("IQ4_NL", blk(1, "attn_v.weight"), 512, dense), T::Q5_K);
    EXPECT_EQ(pick("IQ4_XS", blk(1, "attn_v.weight"), 512, dense), T::Q5_K);
}

}  // namespace
}  // namespace hearth::convert
