#include "rtp_payload/rtp_packet_list.h"

namespace sipmix::video {

RtpPacketList::RtpPacketList(size_t max_packets, size_t max_packet_bytes)
    : slot_bytes_(max_packet_bytes), storage_(max_packets * max_packet_bytes), sizes_(max_packets, 0) {}

}  // namespace sipmix::video
