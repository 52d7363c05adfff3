package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"chalkcast/engine"
	"chalkcast/internal/testkit"
)

// dialFrom opens a TCP connection to addr from the loopback address
// local (127.0.0.0/8 is all this machine's), as another client would.
func dialFrom(t *testing.T, local, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", local, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedSoon reports whether the server closes c within d.
func closedSoon(c net.Conn, d time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(d))
	var b [4096]byte
	for {
		if _, err := c.Read(b[:]); err != nil {
			ne, ok := err.(net.Error)
			return !ok || !ne.Timeout()
		}
	}
}

// Connections that ask for nothing, or nothing more, are bounded: beyond
// 1024 quiet ones the longest quiet is closed, and the server still
// answers (issue 13: 20,000 idle keep-alives were never closed).
func TestQuietHTTPConnectionsAreBounded(t *testing.T) {
	s := startServer(t, options{})
	var conns []net.Conn
	for i := range 1100 {
		c := dialFrom(t, fmt.Sprintf("127.0.0.%d", 2+i%4), s.HTTP)
		if i%2 == 0 { // half of them kept alive after a request, half silent
			fmt.Fprintf(c, "GET /api/v1/server HTTP/1.1\r\nHost: x\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
			resp.Body.Close()
		}
		conns = append(conns, c)
	}
	closed := 0
	for _, c := range conns[:100] {
		if closedSoon(c, 200*time.Millisecond) {
			closed++
		}
	}
	if closed < 70 {
		t.Errorf("%d of the 100 oldest quiet connections were closed, want the 76 beyond 1024", closed)
	}
	for _, c := range conns[1000:] {
		if closedSoon(c, time.Millisecond) {
			t.Fatal("a recent quiet connection was closed")
		}
	}
	if code, _ := s.api(t, "GET", "/api/v1/server", nil); code != http.StatusOK {
		t.Errorf("the API answered %d among the quiet connections", code)
	}
}

// neverRead asks for a stream's FLV and never reads it, with a small
// receive buffer so that the server's writes block soon.
func neverRead(t *testing.T, local, addr, name string) (net.Conn, string) {
	t.Helper()
	c := dialFrom(t, local, addr)
	_ = c.(*net.TCPConn).SetReadBuffer(4096)
	fmt.Fprintf(c, "GET /live/%s.flv HTTP/1.1\r\nHost: x\r\n\r\n", name)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReaderSize(c, 16).ReadString('\n')
	if err != nil {
		t.Fatalf("status line: %v", err)
	}
	return c, strings.TrimSpace(line)
}

// One client cannot take every viewer's place: an address is bounded,
// and viewers that never read give their places to viewers that do
// (issue 13: 3000 connections that never read kept every real viewer out).
func TestViewersThatNeverReadDoNotKeepOthersOut(t *testing.T) {
	s := startServer(t, options{Engine: engine.Config{MaxViewersPerAddr: 5, MaxViewersPerStream: 8}})
	key := s.create(t, "math")
	publish(t, "rtmp://"+s.RTMP+"/live/"+key, 40*time.Second)
	testkit.WaitFor(t, 10*time.Second, "stream live", func() bool { return s.stream(t, "math")["state"] == "live" })

	for i := range 5 {
		if _, status := neverRead(t, "127.0.0.2", s.HTTP, "math"); !strings.Contains(status, "200") {
			t.Fatalf("viewer %d from one address: %s", i, status)
		}
	}
	if _, status := neverRead(t, "127.0.0.2", s.HTTP, "math"); !strings.Contains(status, "503") {
		t.Fatalf("a sixth viewer from one address: %s, want 503", status)
	}
	watch := func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		st, err := watchFLV(ctx, "http://"+s.HTTP+"/live/math.flv")
		return err == nil && st.Video >= 20
	}
	if !watch() {
		t.Fatal("a real viewer beside five from one address did not play")
	}

	testkit.WaitFor(t, 5*time.Second, "the real viewer gone", func() bool {
		return s.stream(t, "math")["viewers"].(map[string]any)["total"] == float64(5)
	})
	// The stream's last three places go to clients that never read either.
	for range 3 {
		if _, status := neverRead(t, "127.0.0.3", s.HTTP, "math"); !strings.Contains(status, "200") {
			t.Fatalf("filling the stream: %s", status)
		}
	}
	// Once their writes have been stuck for StallAfter, a real viewer
	// takes the place of one of them.
	testkit.WaitFor(t, 15*time.Second, "a real viewer playing", watch)
}
