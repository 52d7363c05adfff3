//go:build !linux

package rtctest

import (
	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
)

// arrivalNet is the system's network: no arrival times are noted here.
func arrivalNet(*arrivals) (transport.Net, error) { return stdnet.NewNet() }
