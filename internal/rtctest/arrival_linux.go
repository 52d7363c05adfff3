//go:build linux

package rtctest

import (
	"net"
	"time"
	"unsafe"

	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
	"golang.org/x/sys/unix"
)

// stampNet opens the player's UDP sockets with the kernel's receive
// timestamps (SO_TIMESTAMPNS), noting when each RTP packet reached the
// socket: a player busy with its neighbours (a load command's hundreds
// of players on the server's cores) reads it later than it arrived.
type stampNet struct {
	*stdnet.Net
	arr *arrivals
}

func arrivalNet(arr *arrivals) (transport.Net, error) {
	n, err := stdnet.NewNet()
	if err != nil {
		return nil, err
	}
	return stampNet{n, arr}, nil
}

func (n stampNet) ListenUDP(network string, addr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := net.ListenUDP(network, addr)
	if err != nil {
		return nil, err
	}
	rc, err := c.SyscallConn()
	if err != nil {
		c.Close()
		return nil, err
	}
	var opt error
	if err := rc.Control(func(fd uintptr) {
		opt = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	}); err != nil || opt != nil {
		c.Close()
		if err == nil {
			err = opt
		}
		return nil, err
	}
	// a keyframe arrives as one burst: the default buffer drops some of
	// it while this player waits for a core
	_ = c.SetReadBuffer(4 << 20)
	return &stampConn{UDPConn: c, arr: n.arr}, nil
}

type stampConn struct {
	*net.UDPConn
	arr *arrivals
}

// ReadFrom reads a packet, noting its arrival time.
func (c *stampConn) ReadFrom(b []byte) (int, net.Addr, error) {
	var oob [64]byte
	n, oobn, _, addr, err := c.ReadMsgUDP(b, oob[:])
	if err != nil {
		return n, addr, err
	}
	if msgs, perr := unix.ParseSocketControlMessage(oob[:oobn]); perr == nil {
		for _, m := range msgs {
			if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS && len(m.Data) >= 16 {
				ts := (*unix.Timespec)(unsafe.Pointer(&m.Data[0]))
				c.arr.note(b[:n], time.Unix(ts.Unix()))
			}
		}
	}
	return n, addr, nil
}
