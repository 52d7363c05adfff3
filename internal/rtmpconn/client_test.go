package rtmpconn

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"chalkcast/internal/nginxtest"
)

// Target splits the addresses servers and services give out.
func TestTarget(t *testing.T) {
	for _, c := range []struct {
		raw, host, app, name, err string
	}{
		{raw: "rtmp://live.example.com/app/key", host: "live.example.com:1935", app: "app", name: "key"},
		{raw: "rtmps://live.example.com/app/key", host: "live.example.com:443", app: "app", name: "key"},
		{raw: "rtmp://10.0.0.5:1936/live/class8?sign=abc&t=9", host: "10.0.0.5:1936", app: "live", name: "class8?sign=abc&t=9"},
		{raw: "rtmp://[::1]/a/b/c", host: "[::1]:1935", app: "a/b", name: "c"},
		{raw: "http://live.example.com/app/key", err: "not an rtmp://"},
		{raw: "rtmp:///app/key", err: "not an rtmp://"},
		{raw: "rtmp://live.example.com/key", err: "needs an app and a stream name"},
		{raw: "rtmp://live.example.com/app/", err: "needs an app and a stream name"},
	} {
		host, app, name, err := Target(c.raw)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("Target(%q) = %v, want an error saying %q", c.raw, err, c.err)
			}
			continue
		}
		if err != nil || host != c.host || app != c.app || name != c.name {
			t.Errorf("Target(%q) = %q %q %q %v, want %q %q %q", c.raw, host, app, name, err, c.host, c.app, c.name)
		}
	}
}

// Dial against a real server (nginx-rtmp) connects and creates a stream;
// against nothing, or something that is not an RTMP server, it says so
// within its timeout.
func TestDial(t *testing.T) {
	ng := nginxtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, name, err := Dial(ctx, ng.URL("lesson?x=1"))
	if err != nil {
		t.Fatal(err)
	}
	if name != "lesson?x=1" {
		t.Errorf("stream name %q", name)
	}
	if err := c.Publish(name); err != nil {
		t.Errorf("publish on nginx: %v", err)
	}
	c.Close()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	free := ln.Addr().String()
	ln.Close()
	// a server that accepts and then says nothing an RTMP server would
	mute, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer mute.Close()
	go func() {
		for {
			conn, err := mute.Accept()
			if err != nil {
				return
			}
			_, _ = conn.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
			conn.Close()
		}
	}()
	for _, c := range []struct{ addr, says string }{
		{free, "cannot reach"},
		{mute.Addr().String(), "does not answer like an RTMP server"},
	} {
		_, _, err := Dial(ctx, "rtmp://"+c.addr+"/live/x")
		if err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("Dial(%s) = %v, want %q", c.addr, err, c.says)
		}
	}
}
