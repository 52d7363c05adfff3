//go:build !linux

package rtc

import (
	"fmt"

	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
)

// udpNet is the network the transport's UDP sockets are opened on: the
// system's, one write per packet.
func udpNet() (transport.Net, error) {
	n, err := stdnet.NewNet()
	if err != nil {
		return nil, fmt.Errorf("webrtc: network interfaces: %w", err)
	}
	return n, nil
}
