// keygate-store-tool: looks inside a stopped store for the reliability
// scripts.
//
//   keygate-store-tool dump DB_DIR   every key and value of every SST,
//                                    decompressed ("key\tvalue" lines), so
//                                    that a search cannot miss bytes that
//                                    block compression hides
//   keygate-store-tool ssts DB_DIR   one line per SST: file, column family,
//                                    size, data bytes, data blocks, entries
// Exit code 0, or 1 with the error on stderr.
#include <cstdio>
#include <string>

#include "tests/reliability/store_files.h"

int main(int argc, char** argv) {
  using keygate::reliability::SstInfo;
  if (argc != 3 || (std::string(argv[1]) != "dump" && std::string(argv[1]) != "ssts")) {
    std::fprintf(stderr, "usage: keygate-store-tool dump|ssts DB_DIR\n");
    return 2;
  }
  const absl::StatusOr<std::vector<SstInfo>> ssts = keygate::reliability::ListSsts(argv[2]);
  if (!ssts.ok()) {
    std::fprintf(stderr, "keygate-store-tool: %s\n", ssts.status().ToString().c_str());
    return 1;
  }
  for (const SstInfo& sst : *ssts) {
    if (std::string(argv[1]) == "ssts") {
      std::printf("%s %s %llu %llu %llu %llu\n", sst.path.c_str(), sst.column_family.c_str(),
                  static_cast<unsigned long long>(sst.file_size),
                  static_cast<unsigned long long>(sst.data_size),
                  static_cast<unsigned long long>(sst.num_data_blocks),
                  static_cast<unsigned long long>(sst.num_entries));
      continue;
    }
    const absl::StatusOr<std::string> content = keygate::reliability::DumpSst(sst.path);
    if (!content.ok()) {
      std::fprintf(stderr, "keygate-store-tool: %s\n", content.status().ToString().c_str());
      return 1;
    }
    std::fwrite(content->data(), 1, content->size(), stdout);
  }
  return 0;
}
