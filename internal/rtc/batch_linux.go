//go:build linux

package rtc

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"unsafe"

	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// batchNet opens the transport's UDP sockets as batchConns.
type batchNet struct{ *stdnet.Net }

// udpNet is the network the transport's UDP sockets are opened on.
func udpNet() (transport.Net, error) {
	n, err := stdnet.NewNet()
	if err != nil {
		return nil, fmt.Errorf("webrtc: network interfaces: %w", err)
	}
	return batchNet{n}, nil
}

func (n batchNet) ListenUDP(network string, addr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := net.ListenUDP(network, addr)
	if err != nil {
		return nil, err
	}
	return newBatchConn(c, gsoSupported(c)), nil
}

// gsoSupported tells whether the kernel segments UDP sends (Linux 4.18+).
func gsoSupported(c *net.UDPConn) bool {
	rc, err := c.SyscallConn()
	if err != nil {
		return false
	}
	var opt error
	if err := rc.Control(func(fd uintptr) {
		_, opt = unix.GetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_SEGMENT)
	}); err != nil {
		return false
	}
	return opt == nil
}

const (
	// maxQueued bounds the bytes waiting in a socket's queue: a writer
	// waits for room beyond it, as it would on a full socket buffer.
	maxQueued = 512 << 10
	// maxSegments and maxSegmented bound one segmented send.
	maxSegments  = 64
	maxSegmented = 65000
)

// batchConn is a UDP socket whose writes are queued and sent by one
// goroutine, as many per system call as have queued meanwhile (sendmmsg),
// and the run of equal-sized packets one peer is sent in a row (a video
// frame's RTP packets) as one segmented send (UDP GSO) where the kernel
// can. Every peer on the port writes to it: one system call per packet,
// under the socket's write lock, is what bounded how fast a frame reached
// a few hundred viewers. Packets keep their order. The ICE mux writes
// with WriteTo and WriteToAddrPort only; the embedded connection's other
// writes bypass the queue.
type batchConn struct {
	*net.UDPConn
	out interface {
		WriteBatch([]ipv4.Message, int) (int, error)
	}
	done chan struct{}

	mu     sync.Mutex
	cond   sync.Cond // the queue filled, had room again, or closed
	q      queue
	closed bool

	// the writer goroutine's own
	gso   bool
	spare queue
	msgs  []ipv4.Message
	first []int // index in the queue of each message's first packet
	bufs  [][]byte
	addrs []net.UDPAddr
	ips   [][16]byte
	oob   [][]byte
}

// queue is packets laid end to end in data.
type queue struct {
	data []byte
	pkts []queued
}

type queued struct {
	end  int // offset in data just after the packet
	addr netip.AddrPort
}

func newBatchConn(c *net.UDPConn, gso bool) *batchConn {
	b := &batchConn{UDPConn: c, gso: gso, done: make(chan struct{})}
	b.cond.L = &b.mu
	if a, ok := c.LocalAddr().(*net.UDPAddr); ok && a.IP.To4() == nil {
		b.out = ipv6.NewPacketConn(c)
	} else {
		b.out = ipv4.NewPacketConn(c)
	}
	go b.run()
	return b
}

// WriteToAddrPort queues one packet to addr.
func (c *batchConn) WriteToAddrPort(p []byte, addr netip.AddrPort) (int, error) {
	c.mu.Lock()
	for len(c.q.data) >= maxQueued && !c.closed {
		c.cond.Wait()
	}
	if c.closed {
		c.mu.Unlock()
		return 0, net.ErrClosed
	}
	wake := len(c.q.pkts) == 0
	c.q.data = append(c.q.data, p...)
	c.q.pkts = append(c.q.pkts, queued{end: len(c.q.data), addr: addr})
	c.mu.Unlock()
	if wake {
		c.cond.Broadcast()
	}
	return len(p), nil
}

// WriteTo queues one packet to addr, a *net.UDPAddr.
func (c *batchConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	u, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, fmt.Errorf("webrtc: write to %T: not a UDP address", addr)
	}
	return c.WriteToAddrPort(p, u.AddrPort())
}

// ReadFromAddrPort reads one packet (the mux's allocation-free read).
func (c *batchConn) ReadFromAddrPort(p []byte) (int, netip.AddrPort, error) {
	return c.UDPConn.ReadFromUDPAddrPort(p)
}

// Close drops what is queued and closes the socket.
func (c *batchConn) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cond.Broadcast()
	err := c.UDPConn.Close()
	<-c.done
	return err
}

func (c *batchConn) run() {
	defer close(c.done)
	for {
		c.mu.Lock()
		for len(c.q.pkts) == 0 && !c.closed {
			c.cond.Wait()
		}
		if c.closed {
			c.mu.Unlock()
			return
		}
		c.q, c.spare = c.spare, c.q
		c.mu.Unlock()
		c.cond.Broadcast() // room again
		if !c.send(&c.spare, 0) {
			return
		}
		c.spare.data, c.spare.pkts = c.spare.data[:0], c.spare.pkts[:0]
	}
}

// send sends q's packets from index from on; false once the socket has
// closed. A packet the network refuses is dropped, as a network would.
func (c *batchConn) send(q *queue, from int) bool {
	c.pack(q, from)
	for i := 0; i < len(c.msgs); {
		n, err := c.out.WriteBatch(c.msgs[i:], 0)
		i += n
		switch {
		case err == nil:
		case errors.Is(err, net.ErrClosed):
			return false
		case errors.Is(err, syscall.EIO) && c.gso && c.msgs[i].OOB != nil:
			// the interface cannot checksum segmented sends: send
			// packet by packet from now on
			c.gso = false
			return c.send(q, c.first[i])
		default:
			i++
		}
	}
	return true
}

// pack makes one message of each packet from index from on, or of each
// run of packets to one address whose sizes are all the first's but for a
// shorter last one (what segmentation cuts back apart).
func (c *batchConn) pack(q *queue, from int) {
	c.msgs, c.first = c.msgs[:0], c.first[:0]
	start := 0
	if from > 0 {
		start = q.pkts[from-1].end
	}
	for i := from; i < len(q.pkts); {
		p := q.pkts[i]
		size, end, j := p.end-start, p.end, i+1
		for c.gso && j < len(q.pkts) && j-i < maxSegments && q.pkts[j].addr == p.addr {
			n := q.pkts[j].end - end
			if n > size || q.pkts[j].end-start > maxSegmented {
				break
			}
			end = q.pkts[j].end
			j++
			if n < size {
				break
			}
		}
		c.add(q.data[start:end], p.addr, size, j-i > 1)
		c.first = append(c.first, i)
		start, i = end, j
	}
}

// add appends one message, reusing the slices of earlier batches.
func (c *batchConn) add(data []byte, addr netip.AddrPort, size int, segmented bool) {
	k := len(c.msgs)
	if k == len(c.bufs) {
		c.bufs = append(c.bufs, nil)
		c.addrs = append(c.addrs, net.UDPAddr{})
		c.ips = append(c.ips, [16]byte{})
		c.oob = append(c.oob, make([]byte, unix.CmsgSpace(2)))
	}
	c.bufs[k] = data
	ip := addr.Addr().Unmap()
	c.ips[k] = ip.As16()
	u := &c.addrs[k]
	u.IP, u.Port, u.Zone = c.ips[k][:], int(addr.Port()), ip.Zone()
	if ip.Is4() {
		u.IP = u.IP[12:]
	}
	m := ipv4.Message{Buffers: c.bufs[k : k+1], Addr: u}
	if segmented {
		m.OOB = segmentSize(c.oob[k], size)
	}
	c.msgs = append(c.msgs, m)
}

// segmentSize writes the control message that has the kernel cut a send
// into datagrams of size bytes.
func segmentSize(b []byte, size int) []byte {
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level = unix.IPPROTO_UDP
	h.Type = unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	*(*uint16)(unsafe.Pointer(&b[unix.CmsgLen(0)])) = uint16(size)
	return b[:unix.CmsgSpace(2)]
}
