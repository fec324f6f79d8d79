// Package integration tests seqack against the Linux kernel's TCP and the
// tools people use to judge a TCP: curl, nc, ping, nmap, tcpdump, tshark
// and python3's http.server. Each test builds private network namespaces
// (internal/netns), puts seqack on a TUN device inside, and runs the real
// tools on the kernel's side. Without root or a tool, the tests skip; with
// SEQACK_REQUIRE_NETNS=1 they fail instead.
package integration
