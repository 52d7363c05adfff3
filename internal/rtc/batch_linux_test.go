//go:build linux

package rtc

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"
)

// TestBatchPack checks which queued packets become one segmented send.
func TestBatchPack(t *testing.T) {
	a := netip.MustParseAddrPort("127.0.0.1:1000")
	b := netip.MustParseAddrPort("[::1]:1000")
	var q queue
	var sizes []int
	var addrs []netip.AddrPort
	add := func(addr netip.AddrPort, ns ...int) {
		for _, n := range ns {
			q.data = append(q.data, make([]byte, n)...)
			q.pkts = append(q.pkts, queued{end: len(q.data), addr: addr})
			sizes, addrs = append(sizes, n), append(addrs, addr)
		}
	}
	add(a, 1000, 1000, 1000, 400) // one run, ended by the shorter one
	add(a, 1000, 1000)            // a new run to the same peer
	add(b, 1000)                  // another peer
	add(b, 10, 20)                // 10 ends the run before it; 20 is alone
	full := make([]int, 70)
	for i := range full {
		full[i] = 900
	}
	add(a, full...) // more than one send may carry: 64 + 6
	c := &batchConn{gso: true}
	c.pack(&q, 0)
	got := ""
	for i, m := range c.msgs {
		n := len(m.Buffers[0])
		segs := 1
		if m.OOB != nil {
			segs = (n + sizes[c.first[i]] - 1) / sizes[c.first[i]]
		}
		got += fmt.Sprintf("%d/%d ", n, segs)
		if m.Addr.(*net.UDPAddr).AddrPort() != addrs[c.first[i]] {
			t.Errorf("message %d goes to %v, want %v", i, m.Addr, addrs[c.first[i]])
		}
	}
	if want := "3400/4 2000/2 1010/2 20/1 57600/64 5400/6 "; got != want {
		t.Errorf("messages (bytes/segments): %q, want %q", got, want)
	}
	c.gso = false
	c.pack(&q, 2)
	if len(c.msgs) != len(q.pkts)-2 || len(c.msgs[0].Buffers[0]) != 1000 || c.first[0] != 2 {
		t.Errorf("without segmentation from packet 2: %d messages, the first of %d bytes", len(c.msgs), len(c.msgs[0].Buffers[0]))
	}
}

// TestBatchConn sends runs of equal-sized packets, odd sizes and runs
// longer than one segmented send allows to three peers, interleaved, with
// segmentation and without: each peer gets each of its packets whole and
// in order.
func TestBatchConn(t *testing.T) {
	for _, gso := range []bool{true, false} {
		t.Run(fmt.Sprintf("gso=%v", gso), func(t *testing.T) {
			if gso {
				probe, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
				if err != nil {
					t.Fatal(err)
				}
				ok := gsoSupported(probe)
				probe.Close()
				if !ok {
					t.Skip("this kernel does not segment UDP sends")
				}
			}
			sock, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			c := newBatchConn(sock, gso)
			defer c.Close()
			var peers []*net.UDPConn
			for range 3 {
				p, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close()
				_ = p.SetReadBuffer(4 << 20)
				peers = append(peers, p)
			}
			// per peer: 100 full packets, a short one, 3 full, then sizes
			// that rise (never one run), then single bytes
			var sizes []int
			for range 100 {
				sizes = append(sizes, 1200)
			}
			sizes = append(sizes, 300, 1200, 1200, 1200, 10, 20, 30, 1, 1)
			want := make([][][]byte, len(peers))
			const chunk = 7 // packets to one peer in a row, then the next peer's
			for from := 0; from < len(sizes); from += chunk {
				for k, p := range peers {
					for i := from; i < min(from+chunk, len(sizes)); i++ {
						b := bytes.Repeat([]byte{byte(i), byte(k)}, sizes[i])[:sizes[i]]
						want[k] = append(want[k], b)
						if _, err := c.WriteTo(b, p.LocalAddr()); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
			buf := make([]byte, 2048)
			for k, p := range peers {
				_ = p.SetReadDeadline(time.Now().Add(5 * time.Second))
				for i, w := range want[k] {
					n, _, err := p.ReadFromUDP(buf)
					if err != nil {
						t.Fatalf("peer %d, packet %d: %v", k, i, err)
					}
					if !bytes.Equal(buf[:n], w) {
						t.Fatalf("peer %d, packet %d: got %d bytes starting %v, want %d starting %v", k, i, n, buf[:min(n, 2)], len(w), w[:min(len(w), 2)])
					}
				}
			}
		})
	}
}
