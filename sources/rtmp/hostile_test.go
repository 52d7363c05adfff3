package rtmp_test

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/yutopp/go-rtmp/handshake"

	"chalkcast/engine"
	"chalkcast/internal/rtmpconn"
	"chalkcast/media/flv"
	"chalkcast/sources/rtmp"
)

// rawChunks is one message as a peer sends it, in chunks of size.
func rawChunks(csid byte, typ byte, streamID uint32, size int, body []byte) []byte {
	return rtmpconn.AppendChunks(nil, uint32(csid), 0, typ, streamID, size, body)
}

// declared is only the first chunk of a message that says it has n bytes.
func declared(csid, typ byte, n int, first []byte) []byte {
	out := []byte{csid, 0, 0, 0, byte(n >> 16), byte(n >> 8), byte(n), typ, 1, 0, 0, 0}
	return append(out, first...)
}

func setChunkSize(size uint32) []byte {
	return rawChunks(2, 1, 0, 128, binary.BigEndian.AppendUint32(nil, size))
}

func connectWith(extra []byte) []byte {
	b := []byte{2, 0, 7}
	b = append(b, "connect"...)
	b = append(b, 0)
	b = binary.BigEndian.AppendUint64(b, math.Float64bits(1))
	return append(b, extra...)
}

// sendUntilClosed writes data after a handshake and reports how much the
// server took before it closed the connection (within waitTimeout).
func sendUntilClosed(t *testing.T, addr string, data []byte) int {
	t.Helper()
	nc := dialTCP(t, addr)
	_ = nc.SetDeadline(time.Now().Add(waitTimeout))
	if err := handshake.HandshakeWithServer(nc, nc, &handshake.Config{}); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	sent := 0
	for len(data) > 0 {
		k := min(len(data), 64<<10)
		n, err := nc.Write(data[:k])
		sent += n
		if err != nil {
			break
		}
		data = data[k:]
	}
	waitConnClosed(t, nc, "hostile input", readRaw(nc))
	return sent
}

// Inputs that once ended the whole process, or grew it by gigabytes,
// before any key was checked (issue 13), end only their own connection.
func TestHostileInputEndsOnlyThatConnection(t *testing.T) {
	e := startServer(t, engine.Config{}, rtmp.Config{})
	_, _, rd, f := steadyStream(t, e)

	nested := connectWith(bytes.Repeat([]byte{3, 0, 1, 'a'}, 2_000_000))
	var streams []byte
	streams = append(streams, setChunkSize(8<<20)...)
	for i := range 48 {
		streams = append(streams, declared(byte(10+i), 9, 16<<20-1, make([]byte, 1<<20))...)
	}
	var withinChunk []byte
	withinChunk = append(withinChunk, setChunkSize(1<<20)...)
	for i := range 48 {
		withinChunk = append(withinChunk, declared(byte(10+i), 9, 16<<20-1, make([]byte, 1<<20))...)
	}
	for _, c := range []struct {
		name   string
		data   []byte
		reason string
	}{
		// 29 bytes of payload: connect, 1, and a strict array of 0x7fffffff
		{"strict array of 0x7fffffff", rawChunks(3, 20, 0, 128, connectWith([]byte{0x0a, 0x7f, 0xff, 0xff, 0xff})), "declares 2147483647 elements"},
		{"two million nested objects", append(setChunkSize(8<<20), rawChunks(3, 20, 0, 8<<20, nested)...), "chunk size of 8388608"},
		{"two million nested objects in 64 KiB chunks", append(setChunkSize(65536), rawChunks(3, 20, 0, 65536, nested)...), "more than the 8192 allowed"},
		{"16 MiB messages on 48 chunk streams", streams, "chunk size of 8388608"},
		{"16 MiB messages in 1 MiB chunks", withinChunk, "more than the 8192 allowed"},
		{"a deep connect", rawChunks(3, 20, 0, 128, connectWith(bytes.Repeat([]byte{3, 0, 1, 'a'}, 20))), "nested deeper than 16"},
	} {
		t.Run(c.name, func(t *testing.T) {
			sent := sendUntilClosed(t, e.addr, c.data)
			// what was sent includes the sockets' buffers (a few MiB on loopback)
			if sent > 16<<20 {
				t.Errorf("the server took %d bytes before closing", sent)
			}
			waitFor(t, "the log line", func() bool { return strings.Contains(e.logs.String(), c.reason) })
			expectFlowing(t, rd, "after "+c.name)
		})
	}
	f.stop()
	if err := <-f.err; err != nil {
		t.Errorf("steady publisher: %v", err)
	}
}

func TestClientsMustBeAdmittedInTime(t *testing.T) {
	e := startServer(t, engine.Config{}, rtmp.Config{AdmitTimeout: 500 * time.Millisecond, MaxPendingPerAddr: 3})
	// A client that keeps sending a byte at a time never reaches the
	// read timeout, only the admission deadline.
	p := dialPeer(t, e.addr)
	start := time.Now()
	go func() {
		for range 100 {
			if _, err := p.nc.Write([]byte{3}); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	waitConnClosed(t, p.nc, "a dripping client", readRaw(p.nc))
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("closed after %v, want about 500 ms", d)
	}

	// Three pending connections from one address; a fourth is closed at once.
	for range 3 {
		dialTCP(t, e.addr)
	}
	extra := dialTCP(t, e.addr)
	waitConnClosed(t, extra, "a fourth pending connection", readRaw(extra))
	waitFor(t, "the refusal logged", func() bool { return strings.Contains(e.logs.String(), "connections refused") })

	// Once they time out, there is room again, and a publisher still gets in.
	time.Sleep(700 * time.Millisecond)
	s, key := e.create("late")
	pub := dialPublisher(t, e.addr, key)
	waitState(t, s, engine.StateLive)
	time.Sleep(700 * time.Millisecond) // past the admission deadline: admitted clients stay
	pub.mustVideo(0, flv.VideoHeaderBody(avcConfig(t, sps360Main, pps360Main)))
	if pub.closedByServer() || s.State() != engine.StateLive {
		t.Fatal("an admitted publisher was ended by the admission deadline")
	}
}
