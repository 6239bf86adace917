// FakePeer: the one fake RTP sender of the tests, fuzz targets, benchmarks
// and tools. It is the public peer sender (sipmix/peer.h): it encodes audio
// with the engine's codecs (20 ms frames) or video with its encoders,
// packetizes video (VP8 RFC 7741, H.264 RFC 6184), and stamps RTP headers:
// SSRC, sequence number, timestamp, marker, and an optional RFC 6464 audio
// level. One peer per stream, used from one thread.
#pragma once

#include "sipmix/peer.h"

namespace sipmix::testing {

using FakePeerConfig = PeerSenderConfig;
using FakePeer = PeerSender;
using PeerPicture = MutablePictureView;
using sipmix::PacketOptions;
using sipmix::RtpFields;

}  // namespace sipmix::testing
