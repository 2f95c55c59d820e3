// A fixed set of threads for work that blocks (durable writes), so that
// gRPC's own threads never wait on an fsync.
#ifndef KEYGATE_SERVER_GRPC_WORKER_POOL_H_
#define KEYGATE_SERVER_GRPC_WORKER_POOL_H_

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace keygate::grpc_api {

// Runs submitted tasks on `threads` threads in FIFO order. Thread-safe.
// The destructor runs every task already queued, then joins.
class WorkerPool {
 public:
  explicit WorkerPool(int threads);
  ~WorkerPool();

  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void Submit(std::function<void()> task);

 private:
  void Run();

  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace keygate::grpc_api

#endif  // KEYGATE_SERVER_GRPC_WORKER_POOL_H_
