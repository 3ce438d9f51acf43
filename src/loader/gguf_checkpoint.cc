#include "loader/gguf_checkpoint.h"

#include <cstring>
#include <map>

#include "loader/mapped_file.h"

namespace loom {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct Arch {
  const char* gguf;  // general.architecture
  const char* hf;    // config.json architectures[0]
  const char* model_type;
  // llama.cpp's converter permutes Q/K rows of these for its interleaved ("NORM") RoPE; Loom
  // computes rotate-half RoPE as Hugging Face does, so the rows go back.
  bool permuted_qk;
};
constexpr Arch kArchs[] = {
    {"llama", "LlamaForCausalLM", "llama", true},
    {"qwen2", "Qwen2ForCausalLM", "qwen2", false},
    {"qwen3", "Qwen3ForCausalLM", "qwen3", false},
};

const Arch* FindArch(const std::string& name) {
  for (const Arch& a : kArchs) {
    if (name == a.gguf) return &a;
  }
  return nullptr;
}

// Per-layer tensor names: llama.cpp's -> Hugging Face's (after "model.layers.N.").
const std::map<std::string, std::string>& LayerNames() {
  static const std::map<std::string, std::string> names = {
      {"attn_norm.weight", "input_layernorm.weight"},
      {"attn_q.weight", "self_attn.q_proj.weight"},
      {"attn_q.bias", "self_attn.q_proj.bias"},
      {"attn_k.weight", "self_attn.k_proj.weight"},
      {"attn_k.bias", "self_attn.k_proj.bias"},
      {"attn_v.weight", "self_attn.v_proj.weight"},
      {"attn_v.bias", "self_attn.v_proj.bias"},
      {"attn_output.weight", "self_attn.o_proj.weight"},
      {"attn_output.bias", "self_attn.o_proj.bias"},
      {"attn_q_norm.weight", "self_attn.q_norm.weight"},
      {"attn_k_norm.weight", "self_attn.k_norm.weight"},
      {"ffn_norm.weight", "post_attention_layernorm.weight"},
      {"ffn_gate.weight", "mlp.gate_proj.weight"},
      {"ffn_up.weight", "mlp.up_proj.weight"},
      {"ffn_down.weight", "mlp.down_proj.weight"},
  };
  return names;
}

Result<std::string> HfName(const std::string& gguf_name, const std::string& file) {
  if (gguf_name == "token_embd.weight") return std::string("model.embed_tokens.weight");
  if (gguf_name == "output_norm.weight") return std::string("model.norm.weight");
  if (gguf_name == "output.weight") return std::string("lm_head.weight");
  if (gguf_name.rfind("blk.", 0) == 0) {
    const size_t dot = gguf_name.find('.', 4);
    if (dot != std::string::npos) {
      const auto it = LayerNames().find(gguf_name.substr(dot + 1));
      if (it != LayerNames().end())
        return "model.layers." + gguf_name.substr(4, dot - 4) + "." + it->second;
    }
  }
  return Unimplemented("{}: tensor '{}' has no place in Loom's model", file, gguf_name);
}

// Rows of one head, [head_dim, ...] in llama.cpp's order (pairs 2i, 2i+1 rotate together) back
// to Hugging Face's (i pairs with i + head_dim/2): HF row j * half + i is GGUF row 2 * i + j.
// A copy: rows of block-quantized weights are moved whole, never dequantized.
Tensor UnpermuteRows(const Tensor& t, int64_t n_heads) {
  const int64_t rows = t.dim(0), head_dim = rows / n_heads, half = head_dim / 2;
  const size_t row_bytes = t.nbytes() / static_cast<size_t>(rows);
  Tensor out = Tensor::Zeros(t.dtype(), t.shape());
  const char* src = static_cast<const char*>(t.raw());
  char* dst = static_cast<char*>(out.raw());
  for (int64_t h = 0; h < n_heads; ++h) {
    for (int64_t j = 0; j < 2; ++j) {
      for (int64_t i = 0; i < half; ++i) {
        std::memcpy(dst + (h * head_dim + j * half + i) * row_bytes,
                    src + (h * head_dim + 2 * i + j) * row_bytes, row_bytes);
      }
    }
  }
  ReleaseFilePages(t.raw(), t.nbytes());  // only the copy is read from now on
  return out;
}

}  // namespace

bool IsGgufPath(const fs::path& path) {
  return path.extension() == ".gguf" && fs::is_regular_file(path);
}

Result<json> HfConfigFromGguf(const GgufFile& file) {
  const nlohmann::ordered_json& md = file.metadata();
  const std::string& f = file.path();
  if (!md.contains("general.architecture") || !md["general.architecture"].is_string()) {
    return DataLoss("{}: no general.architecture", f);
  }
  const std::string arch_name = md["general.architecture"];
  const Arch* arch = FindArch(arch_name);
  if (arch == nullptr) {
    return NotFound("{}: GGUF architecture '{}' is not supported (supported: llama, qwen2, qwen3)",
                    f, arch_name);
  }
  auto key = [&](const std::string& k) { return arch_name + "." + k; };
  auto integer = [&](const std::string& k,
                     std::optional<int64_t> fallback = std::nullopt) -> Result<int64_t> {
    if (!md.contains(k)) {
      if (fallback) return *fallback;
      return DataLoss("{}: missing metadata key {}", f, k);
    }
    if (!md[k].is_number_integer() || md[k].get<int64_t>() <= 0)
      return DataLoss("{}: {} must be a positive integer", f, k);
    return md[k].get<int64_t>();
  };
  auto number = [&](const std::string& k, double fallback) -> Result<double> {
    if (!md.contains(k)) return fallback;
    if (!md[k].is_number()) return DataLoss("{}: {} must be a number", f, k);
    return md[k].get<double>();
  };
  json c;
  c["architectures"] = {arch->hf};
  c["model_type"] = arch->model_type;
  LOOM_ASSIGN_OR_RETURN(const int64_t hidden, integer(key("embedding_length")));
  LOOM_ASSIGN_OR_RETURN(const int64_t heads, integer(key("attention.head_count")));
  c["hidden_size"] = hidden;
  c["num_attention_heads"] = heads;
  LOOM_ASSIGN_OR_RETURN(c["num_key_value_heads"], integer(key("attention.head_count_kv"), heads));
  LOOM_ASSIGN_OR_RETURN(c["num_hidden_layers"], integer(key("block_count")));
  LOOM_ASSIGN_OR_RETURN(c["intermediate_size"], integer(key("feed_forward_length")));
  LOOM_ASSIGN_OR_RETURN(c["head_dim"], integer(key("attention.key_length"), hidden / heads));
  if (md.contains(key("rope.dimension_count")) &&
      md[key("rope.dimension_count")] != c["head_dim"]) {
    return Unimplemented(
        "{}: {} {} differs from the head dimension {} (partial rotary is not supported)", f,
        key("rope.dimension_count"), md[key("rope.dimension_count")].dump(), c["head_dim"].dump());
  }
  LOOM_ASSIGN_OR_RETURN(c["max_position_embeddings"], integer(key("context_length"), 2048));
  LOOM_ASSIGN_OR_RETURN(c["rms_norm_eps"], number(key("attention.layer_norm_rms_epsilon"), 1e-5));
  LOOM_ASSIGN_OR_RETURN(c["rope_theta"], number(key("rope.freq_base"), 10000.0));
  int64_t vocab = 0;
  if (md.contains("tokenizer.ggml.tokens") && md["tokenizer.ggml.tokens"].is_array()) {
    vocab = static_cast<int64_t>(md["tokenizer.ggml.tokens"].size());
  }
  LOOM_ASSIGN_OR_RETURN(
      c["vocab_size"],
      integer(key("vocab_size"), vocab > 0 ? std::optional<int64_t>(vocab) : std::nullopt));
  if (md.contains(key("rope.scaling.type")) && md[key("rope.scaling.type")] != "none") {
    const json type = md[key("rope.scaling.type")];
    if (type != "linear" && type != "yarn") {
      return Unimplemented("{}: {} '{}' is not supported (linear, yarn)", f,
                           key("rope.scaling.type"), type.dump());
    }
    json rs = {{"rope_type", type}};
    LOOM_ASSIGN_OR_RETURN(rs["factor"], number(key("rope.scaling.factor"), 1.0));
    if (md.contains(key("rope.scaling.original_context_length"))) {
      LOOM_ASSIGN_OR_RETURN(rs["original_max_position_embeddings"],
                            integer(key("rope.scaling.original_context_length")));
    }
    c["rope_scaling"] = rs;
  }
  if (md.contains(key("attention.sliding_window"))) {
    LOOM_ASSIGN_OR_RETURN(c["sliding_window"], integer(key("attention.sliding_window")));
  }
  c["tie_word_embeddings"] = file.Find("output.weight") == nullptr;
  c["hidden_act"] = "silu";
  c["quantization_config"] = {
      {"quant_method", "gguf"}};  // as vLLM names it; tensors keep their types
  if (md.contains("tokenizer.ggml.bos_token_id"))
    c["bos_token_id"] = md["tokenizer.ggml.bos_token_id"];
  if (md.contains("tokenizer.ggml.eos_token_id"))
    c["eos_token_id"] = md["tokenizer.ggml.eos_token_id"];
  return c;
}

Result<GgufCheckpoint> LoadGgufCheckpoint(const fs::path& path) {
  LOOM_ASSIGN_OR_RETURN(GgufFile file, GgufFile::Open(path));
  LOOM_ASSIGN_OR_RETURN(json hf, HfConfigFromGguf(file));
  LOOM_ASSIGN_OR_RETURN(ModelConfig config, ParseModelConfig(hf, path.string()));
  const Arch* arch = FindArch(file.metadata()["general.architecture"]);
  std::map<std::string, Tensor> tensors;
  for (const GgufTensor& t : file.tensors()) {
    if (t.name == "rope_freqs.weight") {  // Llama 3 rope scaling, as llama.cpp stores it
      if (t.tensor.dtype() != DType::kF32 || t.tensor.shape() != Shape{config.head_dim / 2}) {
        return DataLoss("{}: rope_freqs.weight must be f32 [{}], got {} {}", path.string(),
                        config.head_dim / 2, DTypeName(t.tensor.dtype()),
                        ShapeString(t.tensor.shape()));
      }
      const float* f = t.tensor.data<float>();
      config.rope_scaling.freq_factors.assign(f, f + config.head_dim / 2);
      continue;
    }
    LOOM_ASSIGN_OR_RETURN(std::string name, HfName(t.name, path.string()));
    Tensor tensor = t.tensor;
    const bool q = name.find("q_proj") != std::string::npos,
               k = name.find("k_proj") != std::string::npos;
    if (arch->permuted_qk && (q || k)) {
      const int64_t n_heads = q ? config.num_attention_heads : config.num_key_value_heads;
      if (tensor.ndim() == 0 || tensor.dim(0) != n_heads * config.head_dim) {
        return DataLoss("{}: tensor '{}' has shape {}, expected {} rows", path.string(), t.name,
                        ShapeString(tensor.shape()), n_heads * config.head_dim);
      }
      tensor = UnpermuteRows(tensor, n_heads);
    }
    tensors.emplace(std::move(name), std::move(tensor));
  }
  WeightStore weights = WeightStore::FromTensors(std::move(tensors), path.string());
  return GgufCheckpoint{std::move(file), std::move(config), std::move(weights)};
}

}  // namespace loom
