#include "loader/hf_config.h"

#include <algorithm>
#include <cctype>
#include <fstream>

namespace loom {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Reads an optional field; present but of the wrong type is an error naming the field.
class Reader {
 public:
  Reader(const json& j, const std::string& file) : j_(j), file_(file) {}

  template <typename T>
  Status Get(const char* key, T* out) {
    if (!j_.contains(key) || j_[key].is_null()) return Status::Ok();
    const json& v = j_[key];
    if constexpr (std::is_same_v<T, bool>) {
      if (!v.is_boolean()) return Bad(key, "a boolean");
    } else if constexpr (std::is_integral_v<T>) {
      if (!v.is_number_integer()) return Bad(key, "an integer");
    } else if constexpr (std::is_floating_point_v<T>) {
      if (!v.is_number()) return Bad(key, "a number");
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (!v.is_string()) return Bad(key, "a string");
    }
    *out = v.get<T>();
    return Status::Ok();
  }

  template <typename T>
  Status GetOptional(const char* key, std::optional<T>* out) {
    if (!j_.contains(key) || j_[key].is_null()) return Status::Ok();
    T v{};
    LOOM_RETURN_IF_ERROR(Get(key, &v));
    *out = v;
    return Status::Ok();
  }

  // An int or a list of ints (eos_token_id may be either).
  Status GetIds(const char* key, std::vector<int64_t>* out) {
    if (!j_.contains(key) || j_[key].is_null()) return Status::Ok();
    const json& v = j_[key];
    out->clear();
    if (v.is_number_integer()) {
      out->push_back(v.get<int64_t>());
      return Status::Ok();
    }
    if (!v.is_array()) return Bad(key, "an integer or a list of integers");
    for (const json& e : v) {
      if (!e.is_number_integer()) return Bad(key, "an integer or a list of integers");
      out->push_back(e.get<int64_t>());
    }
    return Status::Ok();
  }

  Status Bad(const char* key, const char* what) const {
    return InvalidArgument("{}: field '{}' must be {}", file_, key, what);
  }

 private:
  const json& j_;
  const std::string& file_;
};

Status ParseRopeScaling(const json& j, const std::string& file, RopeScaling* rs) {
  if (!j.is_object()) return InvalidArgument("{}: field 'rope_scaling' must be an object", file);
  Reader r(j, file);
  // HF accepts "type" (legacy) or "rope_type".
  LOOM_RETURN_IF_ERROR(r.Get("type", &rs->type));
  LOOM_RETURN_IF_ERROR(r.Get("rope_type", &rs->type));
  LOOM_RETURN_IF_ERROR(r.Get("factor", &rs->factor));
  LOOM_RETURN_IF_ERROR(r.Get("low_freq_factor", &rs->low_freq_factor));
  LOOM_RETURN_IF_ERROR(r.Get("high_freq_factor", &rs->high_freq_factor));
  LOOM_RETURN_IF_ERROR(
      r.Get("original_max_position_embeddings", &rs->original_max_position_embeddings));
  LOOM_RETURN_IF_ERROR(r.Get("beta_fast", &rs->beta_fast));
  LOOM_RETURN_IF_ERROR(r.Get("beta_slow", &rs->beta_slow));
  LOOM_RETURN_IF_ERROR(r.GetOptional("attention_factor", &rs->attention_factor));
  LOOM_RETURN_IF_ERROR(r.GetOptional("mscale", &rs->mscale));
  LOOM_RETURN_IF_ERROR(r.GetOptional("mscale_all_dim", &rs->mscale_all_dim));
  LOOM_RETURN_IF_ERROR(r.Get("truncate", &rs->truncate));
  static const char* kKnown[] = {"default", "linear", "dynamic", "llama3", "yarn"};
  if (std::find(std::begin(kKnown), std::end(kKnown), rs->type) == std::end(kKnown)) {
    return Unimplemented(
        "{}: rope_scaling type '{}' is not supported (supported: default, linear, dynamic, llama3, "
        "yarn)",
        file, rs->type);
  }
  if (rs->type != "default" && !(rs->factor >= 1.0)) {
    return InvalidArgument("{}: rope_scaling.factor must be >= 1, got {}", file, rs->factor);
  }
  return Status::Ok();
}

Result<DType> ParseTorchDType(const std::string& s, const std::string& file) {
  if (s == "float32") return DType::kF32;
  if (s == "float16") return DType::kF16;
  if (s == "bfloat16") return DType::kBF16;
  return InvalidArgument("{}: torch_dtype '{}' is not supported (float32, float16, bfloat16)", file,
                         s);
}

// quantization_config: GPTQ and AWQ as transformers and vLLM read them; "gguf" is the marker the
// GGUF loader sets (its tensors keep their own types), so it yields no CheckpointQuantization.
Result<std::optional<CheckpointQuantization>> ParseQuantizationConfig(const json& j,
                                                                      const std::string& file) {
  if (!j.is_object())
    return InvalidArgument("{}: field 'quantization_config' must be an object", file);
  const auto bad = [&](const std::string& key, const char* what) {
    return InvalidArgument("{}: field 'quantization_config.{}' must be {}", file, key, what);
  };
  // The first of `keys` present (AutoAWQ's quant_config.json spells bits "w_bit", ...).
  const auto find = [&](std::initializer_list<const char*> keys) -> const char* {
    for (const char* k : keys) {
      if (j.contains(k) && !j[k].is_null()) return k;
    }
    return nullptr;
  };
  const auto get_int = [&](std::initializer_list<const char*> keys, int64_t* out) -> Status {
    const char* k = find(keys);
    if (k == nullptr) return Status::Ok();
    if (!j[k].is_number_integer()) return bad(k, "an integer");
    *out = j[k].get<int64_t>();
    return Status::Ok();
  };
  const auto get_bool = [&](const char* k, bool* out) -> Status {
    if (find({k}) == nullptr) return Status::Ok();
    if (!j[k].is_boolean()) return bad(k, "a boolean");
    *out = j[k].get<bool>();
    return Status::Ok();
  };
  const auto get_string = [&](const char* k, std::string* out) -> Status {
    if (find({k}) == nullptr) return Status::Ok();
    if (!j[k].is_string()) return bad(k, "a string");
    *out = j[k].get<std::string>();
    return Status::Ok();
  };

  std::string method;
  if (find({"quant_method"}) == nullptr) return bad("quant_method", "a string (\"gptq\", \"awq\")");
  LOOM_RETURN_IF_ERROR(get_string("quant_method", &method));
  if (method == "gguf") return std::optional<CheckpointQuantization>();
  if (method != "gptq" && method != "awq") {
    return Unimplemented(
        "{}: quantization_config.quant_method '{}' is not supported (supported: gptq, awq)", file,
        method);
  }
  CheckpointQuantization q;
  q.method = method;
  int64_t bits = 0;
  LOOM_RETURN_IF_ERROR(get_int({"bits", "w_bit"}, &bits));
  if (find({"bits", "w_bit"}) == nullptr) return bad("bits", "an integer (the weight bits)");
  LOOM_RETURN_IF_ERROR(get_int({"group_size", "q_group_size"}, &q.group_size));
  if (q.group_size != -1 && q.group_size <= 0) return bad("group_size", "a positive integer or -1");
  if (method == "gptq") {
    if (bits != 4 && bits != 8) {
      return Unimplemented("{}: GPTQ with {} bits is not supported (4 or 8)", file, bits);
    }
    LOOM_RETURN_IF_ERROR(get_bool("desc_act", &q.desc_act));
    LOOM_RETURN_IF_ERROR(get_bool("sym", &q.sym));
    std::string format = "gptq";
    LOOM_RETURN_IF_ERROR(get_string("checkpoint_format", &format));
    if (format != "gptq" && format != "gptq_v2") {
      return Unimplemented("{}: GPTQ checkpoint_format '{}' is not supported (gptq, gptq_v2)", file,
                           format);
    }
    q.zeros_minus_one = format == "gptq";
    bool marlin = false;
    LOOM_RETURN_IF_ERROR(get_bool("is_marlin_format", &marlin));
    if (marlin) return Unimplemented("{}: GPTQ Marlin-format checkpoints are not supported", file);
    // GPTQModel's per-module rules: "-:regex" leaves modules unquantized, which the tensors show
    // (no qweight); a rule changing the layout (bits, groups, act-order) per module is not
    // supported. Other keys (damp_percent, ...) only steered the quantizer.
    if (j.contains("dynamic") && !j["dynamic"].is_null()) {
      if (!j["dynamic"].is_object()) return bad("dynamic", "an object");
      for (const auto& [rule, overrides] : j["dynamic"].items()) {
        if (rule.rfind("-:", 0) == 0) continue;
        if (!overrides.is_object()) return bad("dynamic", "an object of objects");
        for (const auto& [key, v] : overrides.items()) {
          const bool changes_layout = (key == "bits" && v != bits) ||
                                      (key == "group_size" && v != q.group_size) ||
                                      (key == "desc_act" && v != q.desc_act);
          if (changes_layout) {
            return Unimplemented(
                "{}: quantization_config.dynamic rule '{}' overrides '{}' per module; not "
                "supported",
                file, rule, key);
          }
        }
      }
    }
  } else {
    if (bits != 4) return Unimplemented("{}: AWQ with {} bits is not supported (4)", file, bits);
    std::string version = "gemm";
    LOOM_RETURN_IF_ERROR(get_string("version", &version));
    std::transform(version.begin(), version.end(), version.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    if (version != "gemm") {
      return Unimplemented("{}: AWQ version '{}' is not supported (gemm)", file, version);
    }
    bool zero_point = true;
    LOOM_RETURN_IF_ERROR(get_bool("zero_point", &zero_point));
    if (!zero_point)
      return Unimplemented("{}: AWQ without zero points (zero_point false) is not supported", file);
    q.sym = false;
  }
  q.bits = static_cast<int>(bits);
  return std::optional<CheckpointQuantization>(q);
}

}  // namespace

Result<json> ReadJsonFile(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return NotFound("{}: cannot open", path.string());
  json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return DataLoss("{}: not valid JSON", path.string());
  return j;
}

Result<ModelConfig> ParseModelConfig(const json& j, const std::string& file) {
  if (!j.is_object()) return InvalidArgument("{}: expected a JSON object", file);
  ModelConfig c;
  Reader r(j, file);
  if (j.contains("architectures")) {
    if (!j["architectures"].is_array()) return r.Bad("architectures", "a list of strings");
    for (const json& a : j["architectures"]) {
      if (!a.is_string()) return r.Bad("architectures", "a list of strings");
      c.architectures.push_back(a.get<std::string>());
    }
  }
  if (c.architectures.empty())
    return InvalidArgument("{}: field 'architectures' is missing or empty", file);
  LOOM_RETURN_IF_ERROR(r.Get("model_type", &c.model_type));
  LOOM_RETURN_IF_ERROR(r.Get("vocab_size", &c.vocab_size));
  LOOM_RETURN_IF_ERROR(r.Get("hidden_size", &c.hidden_size));
  LOOM_RETURN_IF_ERROR(r.Get("intermediate_size", &c.intermediate_size));
  LOOM_RETURN_IF_ERROR(r.Get("num_hidden_layers", &c.num_hidden_layers));
  LOOM_RETURN_IF_ERROR(r.Get("num_attention_heads", &c.num_attention_heads));
  LOOM_RETURN_IF_ERROR(r.Get("num_key_value_heads", &c.num_key_value_heads));
  LOOM_RETURN_IF_ERROR(r.Get("head_dim", &c.head_dim));
  LOOM_RETURN_IF_ERROR(r.Get("max_position_embeddings", &c.max_position_embeddings));
  LOOM_RETURN_IF_ERROR(r.Get("rms_norm_eps", &c.rms_norm_eps));
  LOOM_RETURN_IF_ERROR(r.Get("rope_theta", &c.rope_theta));
  LOOM_RETURN_IF_ERROR(r.Get("tie_word_embeddings", &c.tie_word_embeddings));
  LOOM_RETURN_IF_ERROR(r.Get("attention_bias", &c.attention_bias));
  LOOM_RETURN_IF_ERROR(r.Get("mlp_bias", &c.mlp_bias));
  LOOM_RETURN_IF_ERROR(r.Get("sliding_window", &c.sliding_window));
  LOOM_RETURN_IF_ERROR(r.Get("use_sliding_window", &c.use_sliding_window));
  LOOM_RETURN_IF_ERROR(r.Get("max_window_layers", &c.max_window_layers));
  LOOM_RETURN_IF_ERROR(r.Get("hidden_act", &c.hidden_act));
  LOOM_RETURN_IF_ERROR(r.GetIds("eos_token_id", &c.eos_token_ids));
  LOOM_RETURN_IF_ERROR(r.GetOptional("bos_token_id", &c.bos_token_id));
  if (j.contains("rope_scaling") && !j["rope_scaling"].is_null()) {
    LOOM_RETURN_IF_ERROR(ParseRopeScaling(j["rope_scaling"], file, &c.rope_scaling));
  }
  if (j.contains("quantization_config") && !j["quantization_config"].is_null()) {
    LOOM_ASSIGN_OR_RETURN(c.quantization, ParseQuantizationConfig(j["quantization_config"], file));
  }
  if (j.contains("torch_dtype") && j["torch_dtype"].is_string()) {
    LOOM_ASSIGN_OR_RETURN(c.torch_dtype,
                          ParseTorchDType(j["torch_dtype"].get<std::string>(), file));
  }

  const auto positive = [&](const char* key, int64_t v) -> Status {
    if (v <= 0)
      return InvalidArgument("{}: field '{}' must be a positive integer, got {}", file, key, v);
    return Status::Ok();
  };
  LOOM_RETURN_IF_ERROR(positive("vocab_size", c.vocab_size));
  LOOM_RETURN_IF_ERROR(positive("hidden_size", c.hidden_size));
  LOOM_RETURN_IF_ERROR(positive("intermediate_size", c.intermediate_size));
  LOOM_RETURN_IF_ERROR(positive("num_hidden_layers", c.num_hidden_layers));
  LOOM_RETURN_IF_ERROR(positive("num_attention_heads", c.num_attention_heads));
  if (c.num_key_value_heads == 0) c.num_key_value_heads = c.num_attention_heads;
  LOOM_RETURN_IF_ERROR(positive("num_key_value_heads", c.num_key_value_heads));
  if (c.num_attention_heads % c.num_key_value_heads != 0) {
    return InvalidArgument(
        "{}: num_attention_heads ({}) must be a multiple of num_key_value_heads ({})", file,
        c.num_attention_heads, c.num_key_value_heads);
  }
  if (c.head_dim == 0) {
    if (c.hidden_size % c.num_attention_heads != 0) {
      return InvalidArgument(
          "{}: hidden_size ({}) is not divisible by num_attention_heads ({}) and head_dim is not "
          "set",
          file, c.hidden_size, c.num_attention_heads);
    }
    c.head_dim = c.hidden_size / c.num_attention_heads;
  }
  if (c.head_dim <= 0 || c.head_dim % 2 != 0) {
    return InvalidArgument("{}: head_dim must be a positive even integer, got {}", file,
                           c.head_dim);
  }
  if (c.sliding_window < 0) return InvalidArgument("{}: sliding_window must be >= 0", file);
  if (c.rope_scaling.original_max_position_embeddings == 0) {
    c.rope_scaling.original_max_position_embeddings = c.max_position_embeddings;
  }
  c.raw = j;
  return c;
}

Result<ModelConfig> LoadModelConfig(const fs::path& dir) {
  const fs::path path = dir / "config.json";
  if (!fs::is_directory(dir)) return NotFound("{}: model directory does not exist", dir.string());
  LOOM_ASSIGN_OR_RETURN(json j, ReadJsonFile(path));
  return ParseModelConfig(j, path.string());
}

Result<GenerationConfig> LoadGenerationConfig(const fs::path& dir) {
  GenerationConfig g;
  const fs::path path = dir / "generation_config.json";
  if (!fs::exists(path)) return g;
  LOOM_ASSIGN_OR_RETURN(json j, ReadJsonFile(path));
  const std::string file = path.string();
  if (!j.is_object()) return InvalidArgument("{}: expected a JSON object", file);
  Reader r(j, file);
  LOOM_RETURN_IF_ERROR(r.GetIds("eos_token_id", &g.eos_token_ids));
  LOOM_RETURN_IF_ERROR(r.GetOptional("bos_token_id", &g.bos_token_id));
  LOOM_RETURN_IF_ERROR(r.GetOptional("temperature", &g.temperature));
  LOOM_RETURN_IF_ERROR(r.GetOptional("top_p", &g.top_p));
  LOOM_RETURN_IF_ERROR(r.GetOptional("top_k", &g.top_k));
  LOOM_RETURN_IF_ERROR(r.GetOptional("min_p", &g.min_p));
  LOOM_RETURN_IF_ERROR(r.GetOptional("max_new_tokens", &g.max_new_tokens));
  LOOM_RETURN_IF_ERROR(r.GetOptional("repetition_penalty", &g.repetition_penalty));
  return g;
}

}  // namespace loom
