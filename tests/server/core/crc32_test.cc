#include "server/core/crc32.h"

#include <cstdint>
#include <random>
#include <string>

#include "gtest/gtest.h"

namespace keygate::core {
namespace {

// The definition, one bit at a time.
uint32_t BitwiseCrc32(absl::string_view data) {
  uint32_t crc = 0xFFFFFFFFu;
  for (const char c : data) {
    crc ^= static_cast<uint8_t>(c);
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

TEST(Crc32Test, MatchesPublishedCheckValues) {
  EXPECT_EQ(Crc32(""), 0u);
  EXPECT_EQ(Crc32("a"), 0xE8B7BE43u);
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);  // The CRC catalogue's check value.
  EXPECT_EQ(Crc32("The quick brown fox jumps over the lazy dog"), 0x414FA339u);
}

TEST(Crc32Test, MatchesTheBitwiseDefinitionAtEveryLengthAndAlignment) {
  std::mt19937 rng(1);
  std::string buffer(300, '\0');
  for (char& c : buffer) c = static_cast<char>(rng());
  for (size_t offset = 0; offset < 8; ++offset) {
    for (size_t length = 0; length + offset <= buffer.size(); ++length) {
      const absl::string_view data(buffer.data() + offset, length);
      ASSERT_EQ(Crc32(data), BitwiseCrc32(data)) << "offset " << offset << " length " << length;
    }
  }
}

TEST(Crc32Test, EveryByteValueChangesTheChecksum) {
  const std::string base = "fs_live_0123456789abcdefghijklmnopqrstuv";
  const uint32_t expected = Crc32(base);
  for (size_t at = 0; at < base.size(); ++at) {
    for (int value = 0; value < 256; ++value) {
      std::string changed = base;
      if (static_cast<unsigned char>(changed[at]) == value) continue;
      changed[at] = static_cast<char>(value);
      ASSERT_NE(Crc32(changed), expected) << "byte " << at << " value " << value;
    }
  }
}

}  // namespace
}  // namespace keygate::core
