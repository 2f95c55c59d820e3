#include "bench/common/token_list.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"

namespace keygate::bench {

absl::StatusOr<TokenList> TokenList::Load(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (file == nullptr) {
    const std::string message = absl::StrCat("cannot open ", path, ": ", std::strerror(errno));
    return errno == ENOENT ? absl::NotFoundError(message) : absl::UnavailableError(message);
  }
  std::string raw;
  char chunk[1 << 16];
  size_t n;
  while ((n = std::fread(chunk, 1, sizeof(chunk), file.get())) > 0) raw.append(chunk, n);
  if (std::ferror(file.get())) return absl::UnavailableError(absl::StrCat("cannot read ", path));

  TokenList list;
  list.text_.reserve(raw.size() + 1);
  size_t begin = 0;
  while (begin < raw.size()) {
    size_t end = raw.find('\n', begin);
    if (end == std::string::npos) end = raw.size();
    if (end > begin) {
      list.starts_.push_back(list.text_.size());
      list.text_.append(raw, begin, end - begin);
      list.text_.push_back('\n');
    }
    begin = end + 1;
  }
  list.starts_.push_back(list.text_.size());
  return list;
}

}  // namespace keygate::bench
