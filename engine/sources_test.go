package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeKind is a source kind whose runs the test steers: each run
// publishes one packet, then waits for ctx or fails when told to.
type fakeKind struct {
	runs    atomic.Int32
	mu      sync.Mutex
	fail    chan error
	running map[string]bool
}

func newFakeKind() *fakeKind {
	return &fakeKind{fail: make(chan error, 10), running: map[string]bool{}}
}

func (k *fakeKind) Check(src Source) error {
	if src.Options["bad"] != "" {
		return fmt.Errorf("%w: bad option", ErrInvalid)
	}
	return nil
}

func (k *fakeKind) Run(ctx context.Context, s *Stream) error {
	k.runs.Add(1)
	if s.Config().Source.Options["panic"] != "" {
		panic("driver bug")
	}
	pub, err := s.Publish(SourceInfo{Protocol: "fake"})
	if err != nil {
		return err
	}
	k.set(s.Name(), true)
	defer k.set(s.Name(), false)
	select {
	case <-ctx.Done():
		pub.Close(nil)
		return nil
	case err := <-k.fail:
		pub.Close(err)
		return err
	}
}

func (k *fakeKind) set(name string, on bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.running[name] = on
}

func (k *fakeKind) isRunning(name string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.running[name]
}

func waitCond(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSourcesRunRestartAndStop(t *testing.T) {
	h := newTestHub(t, Config{GracePeriod: time.Hour})
	k := newFakeKind()
	m := NewSources(h, map[string]SourceKind{"fake": k}, nil)
	defer m.Close()
	if got := m.Types(); len(got) != 1 || got[0] != "fake" {
		t.Errorf("types %v", got)
	}
	if err := m.Check(Source{Type: "fake", Options: map[string]string{"bad": "1"}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("check: %v", err)
	}
	if err := m.Check(Source{Type: "rtmp"}); err != nil {
		t.Errorf("check of another kind: %v", err)
	}
	// a stream of the kind starts; an RTMP stream is not its business
	s, err := h.Create(StreamConfig{Name: "a", Source: Source{Type: "fake"}})
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, h, "pushed")
	waitCond(t, "source running", func() bool { return k.isRunning("a") })
	if s.State() != StateLive || k.runs.Load() != 1 {
		t.Fatalf("state %s, runs %d", s.State(), k.runs.Load())
	}
	// it fails: the reason shows, and it is restarted after a second
	k.fail <- errors.New("camera unplugged")
	waitCond(t, "failure seen", func() bool { return !k.isRunning("a") })
	st := s.Stats(StatsOptions{})
	if st.LastError != "camera unplugged" || st.State != StateReconnecting {
		t.Errorf("after failure: state %s, error %q", st.State, st.LastError)
	}
	waitCond(t, "restart", func() bool { return k.isRunning("a") })
	if s.State() != StateLive || s.Stats(StatsOptions{}).LastError != "" {
		t.Errorf("after restart: %s %q", s.State(), s.Stats(StatsOptions{}).LastError)
	}
	// deleting the stream stops its source
	if err := h.Delete("a"); err != nil {
		t.Fatal(err)
	}
	waitCond(t, "stop", func() bool { return !k.isRunning("a") })
	if n := k.runs.Load(); n != 2 {
		t.Errorf("%d runs", n)
	}
}

func TestSourceThatCannotStartShowsError(t *testing.T) {
	h := newTestHub(t, Config{})
	k := newFakeKind()
	m := NewSources(h, map[string]SourceKind{"fake": k}, nil)
	defer m.Close()
	s, err := h.Create(StreamConfig{Name: "p", Source: Source{Type: "fake", Options: map[string]string{"panic": "1"}}})
	if err != nil {
		t.Fatal(err)
	}
	waitCond(t, "error state", func() bool { return s.State() == StateError })
	if e := s.Stats(StatsOptions{}).LastError; e != "the source crashed: driver bug" {
		t.Errorf("error %q", e)
	}
	// the hub and other sources carry on
	waitCond(t, "retry", func() bool { return k.runs.Load() >= 2 })
}

func TestSourcesStopOnClose(t *testing.T) {
	h := newTestHub(t, Config{})
	k := newFakeKind()
	m := NewSources(h, map[string]SourceKind{"fake": k}, nil)
	for i := range 3 {
		if _, err := h.Create(StreamConfig{Name: fmt.Sprint("s", i), Source: Source{Type: "fake"}}); err != nil {
			t.Fatal(err)
		}
	}
	waitCond(t, "all running", func() bool { return k.isRunning("s0") && k.isRunning("s1") && k.isRunning("s2") })
	m.Close()
	for i := range 3 {
		if k.isRunning(fmt.Sprint("s", i)) {
			t.Errorf("s%d still running after Close", i)
		}
	}
}

// TestErrorStateAfterGrace: a publisher that left with an error and did
// not come back leaves the stream in the error state with the reason.
func TestErrorStateAfterGrace(t *testing.T) {
	h := newTestHub(t, Config{GracePeriod: 50 * time.Millisecond})
	s := mustCreate(t, h, "g")
	pub, err := s.Publish(SourceInfo{Protocol: "test"})
	if err != nil {
		t.Fatal(err)
	}
	pub.Close(errors.New("lost the camera"))
	waitCond(t, "error state", func() bool { return s.State() == StateError })
	pub, err = s.Publish(SourceInfo{Protocol: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if s.State() != StateLive || s.Stats(StatsOptions{}).LastError != "" {
		t.Errorf("publishing again: %s %q", s.State(), s.Stats(StatsOptions{}).LastError)
	}
	pub.Close(nil)
	waitCond(t, "idle", func() bool { return s.State() == StateIdle })
}

func TestStopAndStartStream(t *testing.T) {
	h := newTestHub(t, Config{})
	k := newFakeKind()
	m := NewSources(h, map[string]SourceKind{"fake": k}, nil)
	defer m.Close()
	s, err := h.Create(StreamConfig{Name: "c", Source: Source{Type: "fake"}})
	if err != nil {
		t.Fatal(err)
	}
	waitCond(t, "running", func() bool { return k.isRunning("c") })
	if err := h.SetStopped("c", true); err != nil {
		t.Fatal(err)
	}
	waitCond(t, "source stopped", func() bool { return !k.isRunning("c") })
	st := s.Stats(StatsOptions{})
	if st.State != StateIdle || !st.Stopped || st.LastError != "" {
		t.Errorf("stopped stream: %s stopped=%v %q", st.State, st.Stopped, st.LastError)
	}
	if _, err := s.Publish(SourceInfo{Protocol: "rtmp"}); !errors.Is(err, ErrStopped) {
		t.Errorf("publish into a stopped stream: %v", err)
	}
	if err := h.SetStopped("c", false); err != nil {
		t.Fatal(err)
	}
	waitCond(t, "running again", func() bool { return k.isRunning("c") })
	if err := h.SetStopped("nope", true); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown stream: %v", err)
	}
}

// retryKind fails at once and asks to be retried within maxWait.
type retryKind struct {
	maxWait time.Duration
	starts  chan time.Time
}

func (k *retryKind) Check(Source) error { return nil }
func (k *retryKind) Run(context.Context, *Stream) error {
	k.starts <- time.Now()
	return errors.New("camera unreachable")
}
func (k *retryKind) MaxRetryWait() time.Duration { return k.maxWait }

func TestRetryWaiterBoundsBackoff(t *testing.T) {
	h := newTestHub(t, Config{})
	k := &retryKind{maxWait: 200 * time.Millisecond, starts: make(chan time.Time, 16)}
	m := NewSources(h, map[string]SourceKind{"cam": k}, nil)
	defer m.Close()
	if _, err := h.Create(StreamConfig{Name: "c", Source: Source{Type: "cam"}}); err != nil {
		t.Fatal(err)
	}
	prev := <-k.starts
	for i := range 4 {
		select {
		case at := <-k.starts:
			if d := at.Sub(prev); d > 600*time.Millisecond {
				t.Fatalf("retry %d came %v after the failure, want ≤ 200 ms", i, d)
			}
			prev = at
		case <-time.After(3 * time.Second):
			t.Fatalf("retry %d did not come", i)
		}
	}
	if _, err := m.Test(context.Background(), Source{Type: "cam"}); !errors.Is(err, ErrNoTest) {
		t.Errorf("test of a kind without Test: %v", err)
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"rtsp://admin:hunter2@10.0.0.9:554/Streaming/Channels/101": "rtsp://10.0.0.9:554/Streaming/Channels/101",
		"rtsp://admin@cam/1": "rtsp://cam/1",
		"rtsp://cam/live?user=admin&password=hunter2&channel=1": "rtsp://cam/live?channel=1&password=xxxxx&user=xxxxx",
		"rtmp://live.example.com/app?txSecret=abc&txTime=1":     "rtmp://live.example.com/app?txSecret=xxxxx&txTime=1",
		"rtmp://user:pw@live.example.com/live/SECRETKEY":        "rtmp://live.example.com/live/••••TKEY",
		"rtmps://live.example.com:443/app/inst/abc?token=t":     "rtmps://live.example.com:443/app/inst/••••?token=xxxxx",
		"rtmp://live.example.com/live/":                         "rtmp://live.example.com/live/",
		"rtmp://live.example.com/my%20app/key12345":             "rtmp://live.example.com/my%20app/••••2345",
		"http://live.example.com/live/stream.flv":               "http://live.example.com/live/stream.flv",
		"rtsp://cam/1":            "rtsp://cam/1",
		"not a url %zz@secret":    "(hidden)",
		"":                        "",
		"rtsp://admin:12/ab@cam/": "(hidden)",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
	h := newTestHub(t, Config{})
	s, err := h.Create(StreamConfig{Name: "c", Source: Source{Type: "rtsp", URL: "rtsp://admin:hunter2@cam/1"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Stats(StatsOptions{}).Source.URL; got != "rtsp://cam/1" {
		t.Errorf("stats show %q", got)
	}
	if got := s.Config().Source.URL; got != "rtsp://admin:hunter2@cam/1" {
		t.Errorf("config lost the credentials: %q", got)
	}
}

func TestDemand(t *testing.T) {
	h := newTestHub(t, Config{})
	s, err := h.Create(StreamConfig{Name: "c", Source: Source{Type: "fake"}})
	if err != nil {
		t.Fatal(err)
	}
	if s.Demanded(time.Minute) {
		t.Error("demanded before anybody asked")
	}
	start := time.Now()
	s.AwaitLive(context.Background(), 5*time.Second) // not on standby: no wait
	if time.Since(start) > time.Second {
		t.Error("AwaitLive waited for a stream that is not on standby")
	}
	s.Demand()
	if !s.Demanded(time.Minute) || s.Demanded(0) {
		t.Error("demand not recorded, or recorded forever")
	}
	v, err := s.Join(ViewerInfo{Protocol: "flv"})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Demanded(0) {
		t.Error("a viewer is not demand")
	}
	v.Leave()
	s.SetStandby(true)
	if !s.Stats(StatsOptions{}).Standby {
		t.Error("standby not shown")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start = time.Now()
	s.AwaitLive(ctx, 5*time.Second) // on standby and nobody connects: waits until ctx ends
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("AwaitLive returned after %v for a stream on standby", d)
	}
}
