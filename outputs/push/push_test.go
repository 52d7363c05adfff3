package push

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"chalkcast/engine"
	"chalkcast/internal/mediatest"
	"chalkcast/internal/nginxtest"
	"chalkcast/internal/testkit"
)

// live makes a hub whose stream "class" sends ffmpeg's clips
// (mediatest.Live).
func live(t *testing.T) *engine.Hub {
	t.Helper()
	testkit.NeedTools(t, "ffmpeg", "ffprobe")
	hub, err := engine.New(engine.Config{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hub.Close)
	s, err := hub.Create(engine.StreamConfig{Name: "class", Source: engine.Source{Type: "rtmp"}})
	if err != nil {
		t.Fatal(err)
	}
	mediatest.Live(t, s)
	return hub
}

func status(p *Pusher) Status {
	if st := p.Status("class"); len(st) > 0 {
		return st[0]
	}
	return Status{}
}

// A push to nginx-rtmp goes live and nginx's copy plays in ffprobe; the
// status hides the stream key; a removed push stops.
func TestPushToNginx(t *testing.T) {
	ng := nginxtest.Start(t)
	hub := live(t)
	p := New(hub, nil)
	defer p.Close()
	target, err := p.Add("class", Target{URL: ng.URL("secretkey")})
	if err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 10*time.Second, "the push live", func() bool { st := status(p); return st.State == StateLive && st.BitrateKbps > 0 })
	if st := status(p); strings.Contains(st.URL, "secretkey") || st.Since == nil {
		t.Errorf("status %+v shows the key or no start", st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, _, _, err := mediatest.Check(ctx, ng.URL("secretkey"), t.TempDir(), 3*time.Second,
		mediatest.Want{Width: 320, Height: 180, FPS: 30, KeyEvery: time.Second, Audio: true}); err != nil {
		t.Fatal(err)
	}
	if err := p.Remove("class", target.ID); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 5*time.Second, "the push gone", func() bool { return len(p.Status("class")) == 0 })
}

// A server that does not answer: the push says so in its status and
// keeps calling; the stream is untouched.
func TestPushToNobodyRetries(t *testing.T) {
	hub := live(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := New(hub, nil)
	defer p.Close()
	if _, err := p.Add("class", Target{URL: "rtmp://" + addr + "/live/key"}); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 10*time.Second, "the push retrying", func() bool {
		st := status(p)
		return st.State == StateRetrying && strings.Contains(st.LastError, "refused")
	})
	if s, _ := hub.Get("class"); s.State() != engine.StateLive {
		t.Errorf("the stream is %v after a failed push", s.State())
	}
}
