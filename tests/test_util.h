// Helpers shared by tests: temporary directories, reading committed data, writing safetensors.
#pragma once

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

namespace loom::testing {

namespace fs = std::filesystem;

inline fs::path SourceDir() { return LOOM_SOURCE_DIR; }
inline fs::path ModelsDir() { return SourceDir() / "tests/data/models"; }

// A fresh directory under the system temp dir, removed at scope exit.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ =
        fs::temp_directory_path() / ("loom_test_" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Token ids as the CLI takes them: "1,2,3".
inline std::string Join(const std::vector<int32_t>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(v[i]);  // appended, not prepended: GCC 12 warns (-Wrestrict) on "," + str
  }
  return s;
}

inline nlohmann::json ReadJson(const fs::path& p) {
  std::ifstream in(p);
  return nlohmann::json::parse(in);
}

inline void WriteText(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

inline std::string ReadBytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct FakeTensor {
  std::string name;
  std::string dtype;  // "F32", "BF16", ...
  std::vector<int64_t> shape;
  std::string bytes;
};

// Writes a safetensors file: u64 header length, JSON header padded to 8 bytes, data.
inline void WriteSafetensors(const fs::path& p, const std::vector<FakeTensor>& tensors) {
  nlohmann::json header = nlohmann::json::object();
  std::string data;
  for (const FakeTensor& t : tensors) {
    header[t.name] = {{"dtype", t.dtype},
                      {"shape", t.shape},
                      {"data_offsets", {data.size(), data.size() + t.bytes.size()}}};
    data += t.bytes;
  }
  std::string h = header.dump();
  while (h.size() % 8 != 0) h += ' ';
  const uint64_t len = h.size();
  std::string out(reinterpret_cast<const char*>(&len), 8);
  WriteText(p, out + h + data);
}

inline std::string F32Bytes(const std::vector<float>& v) {
  return {reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float)};
}

// Runs a shell command; returns its exit code and stdout, stderr appended to `err`.
struct CommandResult {
  int exit_code;
  std::string out;
  std::string err;
};
inline CommandResult RunLoom(const std::string& args) {
  static int counter = 0;
  const fs::path err_file =
      fs::temp_directory_path() /
      ("loom_cli_err_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
  const std::string cmd = std::string(LOOM_BINARY) + " " + args + " 2>" + err_file.string();
  FILE* pipe = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  const int status = pclose(pipe);
  CommandResult r{WIFEXITED(status) ? WEXITSTATUS(status) : -1, out, ReadBytes(err_file)};
  fs::remove(err_file);
  return r;
}

// A byte-level BPE tokenizer with no merges: token id = byte value (GPT-2's byte-to-unicode
// alphabet), so any 256-token checkpoint can talk text.
inline void WriteByteTokenizer(const fs::path& dir) {
  nlohmann::ordered_json vocab = nlohmann::ordered_json::object();
  for (int b = 0; b < 256; ++b) {
    int cp = b;
    const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
    if (!printable) {
      int n = 0;
      for (int x = 0; x < b; ++x) n += ((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || (x >= 174)) ? 0 : 1;
      cp = 256 + n;
    }
    std::string utf8;
    if (cp < 0x80) {
      utf8 = std::string(1, static_cast<char>(cp));
    } else {
      utf8 = {static_cast<char>(0xC0 | (cp >> 6)), static_cast<char>(0x80 | (cp & 0x3F))};
    }
    vocab[utf8] = b;
  }
  const nlohmann::ordered_json tok = {
      {"version", "1.0"},
      {"added_tokens", nlohmann::ordered_json::array()},
      {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}}},
      {"post_processor", nullptr},
      {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
      {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
                 {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false}, {"vocab", vocab},
                 {"merges", nlohmann::ordered_json::array()}}}};
  WriteText(dir / "tokenizer.json", tok.dump());
}

}  // namespace loom::testing
