// SentencePiece precompiled_charsmap normalizer.
//
// Blob layout (little endian): u32 trie_bytes | trie: u32[trie_bytes / 4] | replacements:
// NUL-separated UTF-8. The trie is a darts-clone double array; each unit packs label (bits 0-7 and
// 31), has_leaf (bit 8) and an offset (bits 10-30, shifted by 8 when bit 9 is set). A leaf's unit
// holds the replacement's byte offset. The Rust tokenizers crate applies it per extended grapheme
// cluster: a cluster shorter than 6 bytes is looked up whole, otherwise (or when that misses) char
// by char, and each lookup takes the *shortest* key that prefixes the chunk (results[0] of a
// common-prefix search), whatever follows it.
#include <fmt/format.h>
#include <utf8proc.h>

#include <cstring>
#include <vector>

#include "tokenizer/normalizers.h"
#include "tokenizer/unicode.h"

namespace loom::tok {
namespace {

Result<std::string> DecodeBase64(std::string_view in, std::string_view where) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=' || c == '\n' || c == '\r') continue;
    int v = value(c);
    if (v < 0) return BadField(where, "invalid base64");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

class PrecompiledNormalizer : public Normalizer {
 public:
  PrecompiledNormalizer(std::vector<uint32_t> units, std::string replacements)
      : units_(std::move(units)), replacements_(std::move(replacements)) {}

  void Normalize(std::string& text) const override {
    std::string out;
    out.reserve(text.size());
    utf8proc_int32_t state = 0;
    size_t cluster_begin = 0;
    char32_t prev = 0;
    bool have_prev = false;
    for (size_t i = 0; i <= text.size();) {
      bool at_end = i == text.size();
      size_t b = i;
      char32_t cp = 0;
      if (!at_end) cp = NextCodePoint(text, i);
      if (at_end || (have_prev &&
                     utf8proc_grapheme_break_stateful(static_cast<utf8proc_int32_t>(prev),
                                                      static_cast<utf8proc_int32_t>(cp), &state))) {
        if (b > cluster_begin)
          AppendCluster(std::string_view(text).substr(cluster_begin, b - cluster_begin), out);
        cluster_begin = b;
      }
      if (at_end) break;
      prev = cp;
      have_prev = true;
    }
    text = std::move(out);
  }

 private:
  void AppendCluster(std::string_view cluster, std::string& out) const {
    if (cluster.size() < 6) {
      if (const char* r = Transform(cluster)) {
        out += r;
        return;
      }
    }
    for (size_t i = 0; i < cluster.size();) {
      size_t b = i;
      NextCodePoint(cluster, i);
      std::string_view ch = cluster.substr(b, i - b);
      if (const char* r = Transform(ch)) {
        out += r;
      } else {
        out.append(ch);
      }
    }
  }

  // Replacement for the shortest trie key that prefixes `chunk`, or nullptr.
  const char* Transform(std::string_view chunk) const {
    auto offset = [](uint32_t unit) { return (unit >> 10) << ((unit & (1u << 9)) >> 6); };
    auto label = [](uint32_t unit) { return unit & ((1u << 31) | 0xFF); };
    size_t pos = 0;
    if (units_.empty()) return nullptr;
    uint32_t unit = units_[0];
    pos ^= offset(unit);
    for (unsigned char c : chunk) {
      if (c == 0) return nullptr;
      pos ^= c;
      if (pos >= units_.size()) return nullptr;
      unit = units_[pos];
      if (label(unit) != c) return nullptr;
      pos ^= offset(unit);
      if (pos >= units_.size()) return nullptr;
      if ((unit >> 8) & 1) {
        uint32_t value = units_[pos] & ((1u << 31) - 1);
        if (value >= replacements_.size()) return nullptr;
        return replacements_.c_str() + value;  // NUL-terminated inside the blob
      }
    }
    return nullptr;
  }

  std::vector<uint32_t> units_;
  std::string replacements_;
};

}  // namespace

Result<std::unique_ptr<Normalizer>> CreatePrecompiled(const Json& j, const std::string& where) {
  LOOM_ASSIGN_OR_RETURN(std::string b64, GetString(j, "precompiled_charsmap", where, ""));
  std::string where_map = Child(where, "precompiled_charsmap");
  LOOM_ASSIGN_OR_RETURN(std::string blob, DecodeBase64(b64, where_map));
  if (blob.empty()) return std::unique_ptr<Normalizer>();  // an empty charsmap is the identity
  if (blob.size() < 4) return BadField(where_map, "truncated (no trie size)");
  uint32_t trie_bytes = 0;
  for (int k = 3; k >= 0; --k) trie_bytes = (trie_bytes << 8) | static_cast<unsigned char>(blob[k]);
  if (trie_bytes % 4 != 0 || 4 + static_cast<size_t>(trie_bytes) > blob.size()) {
    return BadField(where_map, fmt::format("trie size {} does not fit the {}-byte blob", trie_bytes,
                                           blob.size()));
  }
  std::vector<uint32_t> units(trie_bytes / 4);
  for (size_t u = 0; u < units.size(); ++u) {
    const auto* p = reinterpret_cast<const unsigned char*>(blob.data()) + 4 + 4 * u;
    units[u] =
        uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
  }
  std::string replacements = blob.substr(4 + trie_bytes);
  if (!IsValidUtf8(replacements))
    return BadField(where_map, "replacement strings are not valid UTF-8");
  return std::unique_ptr<Normalizer>(
      new PrecompiledNormalizer(std::move(units), std::move(replacements)));
}

}  // namespace loom::tok
