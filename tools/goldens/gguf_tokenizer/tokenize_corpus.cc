// Golden helper (not built by Loom's CMake, not run by CI): tokenizes many texts with llama.cpp's
// public C API, loading the vocabulary once (llama-tokenize would reload it per text).
//
//   tokenize_corpus MODEL.gguf < texts.json > out.json
//
// texts.json: a JSON array of strings. Output: {"add_bos", "add_eos", "results": [...]} with, per
// text, the ids of llama_tokenize(add_special, parse_special) for the three modes llama-tokenize
// offers (default = add_special + parse_special; --no-bos; --no-parse-special), and
// llama_detokenize of the default ids (remove_special=false, unparse_special=true), as bytes
// (a JSON array of 0..255, since llama.cpp may produce invalid UTF-8).
#include <llama.h>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace {

std::vector<llama_token> Tokenize(const llama_vocab* vocab, const std::string& text,
                                  bool add_special, bool parse_special) {
  std::vector<llama_token> ids(text.size() + 8);
  int32_t n = llama_tokenize(vocab, text.data(), static_cast<int32_t>(text.size()), ids.data(),
                             static_cast<int32_t>(ids.size()), add_special, parse_special);
  if (n < 0) {
    ids.resize(static_cast<size_t>(-n));
    n = llama_tokenize(vocab, text.data(), static_cast<int32_t>(text.size()), ids.data(),
                       static_cast<int32_t>(ids.size()), add_special, parse_special);
  }
  ids.resize(static_cast<size_t>(n));
  return ids;
}

std::vector<int> Detokenize(const llama_vocab* vocab, const std::vector<llama_token>& ids) {
  std::string out(ids.size() * 16 + 16, '\0');
  int32_t n = llama_detokenize(vocab, ids.data(), static_cast<int32_t>(ids.size()), out.data(),
                               static_cast<int32_t>(out.size()), false, true);
  if (n < 0) {
    out.resize(static_cast<size_t>(-n));
    n = llama_detokenize(vocab, ids.data(), static_cast<int32_t>(ids.size()), out.data(),
                         static_cast<int32_t>(out.size()), false, true);
  }
  out.resize(static_cast<size_t>(n));
  std::vector<int> bytes;
  for (unsigned char c : out) bytes.push_back(c);
  return bytes;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s MODEL.gguf < texts.json\n", argv[0]);
    return 1;
  }
  llama_log_set([](ggml_log_level, const char*, void*) {}, nullptr);
  llama_backend_init();
  llama_model_params params = llama_model_default_params();
  params.vocab_only = true;
  llama_model* model = llama_model_load_from_file(argv[1], params);
  if (!model) {
    std::fprintf(stderr, "cannot load %s\n", argv[1]);
    return 1;
  }
  const llama_vocab* vocab = llama_model_get_vocab(model);
  nlohmann::json texts = nlohmann::json::parse(std::cin);
  nlohmann::json results = nlohmann::json::array();
  for (const auto& t : texts) {
    const std::string text = t.get<std::string>();
    std::vector<llama_token> ids = Tokenize(vocab, text, true, true);
    results.push_back({{"ids", ids},
                       {"ids_no_bos", Tokenize(vocab, text, false, true)},
                       {"ids_no_parse_special", Tokenize(vocab, text, true, false)},
                       {"detokenized", Detokenize(vocab, ids)}});
  }
  nlohmann::json out = {{"add_bos", llama_vocab_get_add_bos(vocab)},
                        {"add_eos", llama_vocab_get_add_eos(vocab)},
                        {"results", results}};
  std::cout << out.dump() << "\n";
  llama_model_free(model);
  llama_backend_free();
  return 0;
}
