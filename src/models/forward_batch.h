// One flat batch of tokens from many sequences, as the runner hands it to a model: every token's
// position and cache slot, and per sequence its query rows, context length and block table.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace loom {

struct ForwardBatch {
  std::vector<int32_t> token_ids;     // [n]
  std::vector<int64_t> positions;     // [n]
  std::vector<int64_t> slot_mapping;  // [n] cache slot = block * block_size + offset
  std::vector<int64_t> query_start;   // [num_seqs + 1] rows of each sequence
  std::vector<int64_t> context_lens;  // [num_seqs] tokens in the cache after this step
  std::vector<int32_t> block_tables;  // [num_seqs, max_blocks_per_seq], padded with 0
  int64_t max_blocks_per_seq = 0;

  int64_t num_tokens() const { return static_cast<int64_t>(token_ids.size()); }
  int64_t num_seqs() const { return static_cast<int64_t>(context_lens.size()); }

  // Plans a batch for `max_blocks` blocks per sequence; AddSequence appends sequences.
  explicit ForwardBatch(int64_t max_blocks = 0) : query_start{0}, max_blocks_per_seq(max_blocks) {}

  // Appends `tokens`, the sequence's positions [start, start + n), with K/V slots taken from
  // `block_table` (block ids of the whole sequence).
  void AddSequence(std::span<const int32_t> tokens, int64_t start, std::span<const int> block_table,
                   int64_t block_size) {
    for (size_t i = 0; i < tokens.size(); ++i) {
      const int64_t pos = start + static_cast<int64_t>(i);
      token_ids.push_back(tokens[i]);
      positions.push_back(pos);
      slot_mapping.push_back(static_cast<int64_t>(block_table[pos / block_size]) * block_size + pos % block_size);
    }
    query_start.push_back(num_tokens());
    context_lens.push_back(start + static_cast<int64_t>(tokens.size()));
    const size_t row = block_tables.size();
    block_tables.resize(row + max_blocks_per_seq, 0);
    for (size_t b = 0; b < block_table.size() && static_cast<int64_t>(b) < max_blocks_per_seq; ++b) {
      block_tables[row + b] = block_table[b];
    }
  }
};

}  // namespace loom
