#include "server/core/thread_name.h"

#include <pthread.h>

#include <string>
#include <thread>

#include "gtest/gtest.h"

namespace keygate::core {
namespace {

// The calling thread's name as the kernel reports it.
std::string CurrentThreadName() {
  char name[16] = {};
  pthread_getname_np(pthread_self(), name, sizeof(name));
  return name;
}

std::string NameSeenBy(const char* wanted) {
  std::string seen;
  std::thread([&] {
    NameThisThread(wanted);
    seen = CurrentThreadName();
  }).join();
  return seen;
}

TEST(ThreadNameTest, NamesTheCallingThreadOnly) {
  const std::string before = CurrentThreadName();
  EXPECT_EQ(NameSeenBy("kg-usage-flush"), "kg-usage-flush");
  EXPECT_EQ(CurrentThreadName(), before);
}

TEST(ThreadNameTest, LongNamesAreCutToTheKernelsFifteenCharacters) {
  EXPECT_EQ(NameSeenBy("kg-a-name-longer-than-fifteen"), "kg-a-name-longe");
}

}  // namespace
}  // namespace keygate::core
