// Copyright ebb authors.
//
// The main() a fuzz target gets when it is not built with libFuzzer (any
// compiler, every `bazel test` run): it feeds LLVMFuzzerTestOneInput every
// file of the seed corpora named on the command line, and simple variants of
// each (every prefix, and each byte in turn replaced by 0x00 and 0xFF). So the
// corpus is a regression test under gcc and under ASan+UBSan, and the variants
// reach the truncation and corruption paths libFuzzer would find first.
//
// Usage: <target> DIR_OR_FILE...   Exits 1 if a path cannot be read or no
// input was found; a broken invariant aborts inside the target.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

namespace {

void Run(const std::string &input) {
  // A copy of exactly `size` bytes, so ASan sees any read past the end.
  std::vector<uint8_t> bytes(input.begin(), input.end());
  LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
}

void RunWithVariants(const std::string &input) {
  Run(input);
  for (size_t n = 0; n < input.size(); ++n) Run(input.substr(0, n));
  for (size_t i = 0; i < input.size(); ++i) {
    for (char replacement : {'\x00', '\xff'}) {
      if (input[i] == replacement) continue;
      std::string variant = input;
      variant[i] = replacement;
      Run(variant);
    }
  }
}

bool ReadFile(const std::filesystem::path &path, std::string *out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out->assign(std::istreambuf_iterator<char>(in),
              std::istreambuf_iterator<char>());
  return !in.bad();
}

}  // namespace

int main(int argc, char **argv) {
  std::vector<std::filesystem::path> files;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path path(argv[i]);
    std::error_code error;
    if (std::filesystem::is_directory(path, error)) {
      for (const auto &entry :
           std::filesystem::recursive_directory_iterator(path, error)) {
        if (entry.is_regular_file()) files.push_back(entry.path());
      }
    } else if (std::filesystem::is_regular_file(path, error)) {
      files.push_back(path);
    }
    if (error) {
      std::fprintf(stderr, "replay: cannot read %s: %s\n", argv[i],
                   error.message().c_str());
      return 1;
    }
  }
  if (files.empty()) {
    std::fprintf(stderr, "replay: no inputs found (usage: %s DIR_OR_FILE...)\n",
                 argv[0]);
    return 1;
  }
  for (const std::filesystem::path &file : files) {
    std::string input;
    if (!ReadFile(file, &input)) {
      std::fprintf(stderr, "replay: cannot read %s\n", file.c_str());
      return 1;
    }
    RunWithVariants(input);
  }
  std::printf("replay: %zu inputs and their variants passed\n", files.size());
  return 0;
}
