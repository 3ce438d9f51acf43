// libFuzzer target for the GGUF parser: any byte string must give a GgufFile or a clean error,
// never a crash, a read outside the input, or undefined behaviour. Accepted inputs have every
// tensor byte read and their metadata serialised, so a view past the end of the input or a bad
// JSON value is caught here. Build and run: README.md, "Fuzzing".
#include <cstddef>
#include <cstdint>

#include "loader/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  loom::Result<loom::GgufFile> f = loom::GgufFile::Parse({data, size}, "fuzz.gguf", nullptr);
  if (!f.ok()) return 0;
  uint64_t sum = 0;
  for (const loom::GgufTensor& t : f->tensors()) {
    const auto* p = static_cast<const uint8_t*>(t.tensor.raw());
    for (size_t i = 0; i < t.tensor.nbytes(); ++i) sum += p[i];
  }
  volatile uint64_t sink = sum;
  (void)sink;
  (void)f->metadata().dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  return 0;
}
