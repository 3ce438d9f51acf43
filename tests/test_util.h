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

}  // namespace loom::testing
