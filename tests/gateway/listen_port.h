// A port for a daemon under test to listen on: free for both UDP and TCP
// (sofia binds its SIP port for both; the REST server is TCP), and taken
// from below the ephemeral range (32768+), where other processes' outgoing
// connections could take it between this check and the daemon's bind.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace sipmix::gw::testing {

inline int free_listen_port() {
  static unsigned next = 20000 + static_cast<unsigned>(getpid()) % 9000;
  for (int tries = 0; tries < 10000; ++tries) {
    const int port = 20000 + static_cast<int>(next++ % 10000);
    bool free = true;
    for (int type : {SOCK_DGRAM, SOCK_STREAM}) {
      const int fd = socket(AF_INET, type, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = htons(static_cast<uint16_t>(port));
      free = free && bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      close(fd);
    }
    if (free) return port;
  }
  return 0;
}

}  // namespace sipmix::gw::testing
