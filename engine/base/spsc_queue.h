// Bounded single-producer/single-consumer queue of small byte packets (after
// rigtorp's SPSCQueue): fixed slots allocated once, each index and each cached
// copy of the other side's index on its own cache line. Used where order of
// arrival is all that matters (telephone events, RTCP), beside the jitter
// buffer. One producer thread, one consumer thread; no locks, no allocation.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "base/aligned_buffer.h"

namespace sipmix {

class SpscPacketQueue {
 public:
  // `capacity` packets of at most `max_packet_bytes` each.
  SpscPacketQueue(size_t capacity, size_t max_packet_bytes)
      : capacity_(capacity + 1), slot_bytes_(max_packet_bytes), data_(capacity_ * slot_bytes_),
        sizes_(capacity_), stamps_(capacity_) {}
  SpscPacketQueue(const SpscPacketQueue&) = delete;
  SpscPacketQueue& operator=(const SpscPacketQueue&) = delete;

  // Producer. False when full or the packet is larger than a slot (dropped).
  [[nodiscard]] bool try_push(std::span<const uint8_t> packet, int64_t stamp_us) {
    if (packet.size() > slot_bytes_) return false;
    const size_t w = write_.load(std::memory_order_relaxed);
    size_t next = w + 1;
    if (next == capacity_) next = 0;
    if (next == read_cache_) {
      read_cache_ = read_.load(std::memory_order_acquire);
      if (next == read_cache_) return false;
    }
    std::memcpy(&data_[w * slot_bytes_], packet.data(), packet.size());
    sizes_[w] = static_cast<uint32_t>(packet.size());
    stamps_[w] = stamp_us;
    write_.store(next, std::memory_order_release);
    return true;
  }

  // Consumer. Copies the oldest packet into `out` (must hold max_packet_bytes)
  // and returns its size, or 0 when empty.
  size_t try_pop(std::span<uint8_t> out, int64_t* stamp_us = nullptr) {
    const size_t r = read_.load(std::memory_order_relaxed);
    if (r == write_cache_) {
      write_cache_ = write_.load(std::memory_order_acquire);
      if (r == write_cache_) return 0;
    }
    const size_t n = sizes_[r];
    if (n > out.size()) return 0;
    std::memcpy(out.data(), &data_[r * slot_bytes_], n);
    if (stamp_us) *stamp_us = stamps_[r];
    size_t next = r + 1;
    if (next == capacity_) next = 0;
    read_.store(next, std::memory_order_release);
    return n;
  }

  size_t max_packet_bytes() const { return slot_bytes_; }

 private:
  const size_t capacity_;
  const size_t slot_bytes_;
  AlignedBuffer<uint8_t> data_;
  AlignedBuffer<uint32_t> sizes_;
  AlignedBuffer<int64_t> stamps_;
  alignas(kCacheLine) std::atomic<size_t> write_{0};
  alignas(kCacheLine) size_t read_cache_ = 0;  // producer's copy of read_
  alignas(kCacheLine) std::atomic<size_t> read_{0};
  alignas(kCacheLine) size_t write_cache_ = 0;  // consumer's copy of write_
  char pad_[kCacheLine - sizeof(size_t)];
};

}  // namespace sipmix
