// Package push sends streams on to other servers over RTMP or RTMPS: a
// cloud live service, an SRS or nginx-rtmp cluster, a video platform. This
// is how a stream reaches more viewers than one laptop can serve. Every
// target has its own reader on the stream's ring, so a slow or dead server
// never slows the stream or the other targets; a target that fails is
// called again with backoff. It serves its own API endpoints (Routes) and
// its part of a stream's view; it must not import another output, a
// source or the GUI.
package push

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"chalkcast/engine"
	"chalkcast/internal/rtmpconn"
)

// Target states.
const (
	StateWaiting    = "waiting"    // the stream is not live
	StateConnecting = "connecting" // calling the server
	StateLive       = "live"       // sending
	StateRetrying   = "retrying"   // failed; calling again after a pause
)

// Status is one push target as the API and the studio show it.
type Status struct {
	ID string `json:"id"`
	// URL is the target without its stream key (a secret).
	URL         string     `json:"url"`
	PlayURL     string     `json:"play_url,omitempty"`
	State       string     `json:"state"`
	BitrateKbps float64    `json:"bitrate_kbps"`
	LastError   string     `json:"last_error,omitempty"`
	Since       *time.Time `json:"since,omitempty"` // sending since
	Skips       uint64     `json:"skips,omitempty"` // times the server was too slow and frames were skipped
}

// Pusher runs the push targets of the hub's streams.
type Pusher struct {
	hub        *engine.Hub
	log        *slog.Logger
	ctx        context.Context
	cancel     context.CancelFunc
	wg         sync.WaitGroup
	maxBackoff time.Duration

	mu      sync.Mutex
	running map[string]*target // by stream name + "/" + id
}

// New starts pushing every stream that has targets.
func New(hub *engine.Hub, log *slog.Logger) *Pusher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Pusher{hub: hub, log: log.With("component", "push"), running: map[string]*target{}, maxBackoff: 30 * time.Second}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	sub := hub.Subscribe(64)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer sub.Close()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			p.reconcile()
			select {
			case <-p.ctx.Done():
				return
			case _, ok := <-sub.C:
				if !ok {
					return
				}
			case <-t.C:
				p.sample()
			}
		}
	}()
	return p
}

// reconcile starts targets that are configured and stops the others.
func (p *Pusher) reconcile() {
	want := map[string]bool{}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ctx.Err() != nil {
		return
	}
	for _, s := range p.hub.Streams() {
		for _, t := range Targets(s.Config()) {
			key := s.Name() + "/" + t.ID
			want[key] = true
			if _, ok := p.running[key]; ok {
				continue
			}
			ctx, cancel := context.WithCancel(p.ctx)
			tg := &target{p: p, s: s, cfg: t, cancel: cancel, state: StateWaiting,
				log: p.log.With("stream", s.Name(), "target", engine.RedactURL(t.URL))}
			p.running[key] = tg
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				tg.run(ctx)
			}()
		}
	}
	for key, tg := range p.running {
		if !want[key] {
			tg.cancel()
			delete(p.running, key)
		}
	}
}

// sample turns the byte counters into bitrates once a second.
func (p *Pusher) sample() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, tg := range p.running {
		n := tg.bytes.Swap(0)
		tg.kbps.Store(n * 8 / 1000)
	}
}

// Status lists stream name's targets.
func (p *Pusher) Status(name string) []Status {
	s, ok := p.hub.Get(name)
	if !ok {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Status
	for _, t := range Targets(s.Config()) {
		st := Status{ID: t.ID, URL: engine.RedactURL(t.URL), PlayURL: t.PlayURL, State: StateWaiting}
		if tg, ok := p.running[name+"/"+t.ID]; ok {
			tg.mu.Lock()
			st.State, st.LastError = tg.state, tg.lastErr
			if !tg.since.IsZero() {
				since := tg.since
				st.Since = &since
			}
			tg.mu.Unlock()
			st.BitrateKbps = float64(tg.kbps.Load())
			st.Skips = tg.skips.Load()
		}
		out = append(out, st)
	}
	return out
}

// Close stops every target.
func (p *Pusher) Close() {
	p.mu.Lock()
	p.cancel()
	p.mu.Unlock()
	p.wg.Wait()
}

// target is one running push.
type target struct {
	p      *Pusher
	s      *engine.Stream
	cfg    Target
	log    *slog.Logger
	cancel context.CancelFunc
	bytes  atomic.Uint64
	kbps   atomic.Uint64
	skips  atomic.Uint64

	mu      sync.Mutex
	state   string
	lastErr string
	since   time.Time
}

func (t *target) set(state string, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.state = state
	if err != nil {
		t.lastErr = err.Error()
	}
	if state == StateLive {
		t.since = time.Now()
		t.lastErr = ""
	} else {
		t.since = time.Time{}
	}
}

// run pushes whenever the stream is live, calling the server again after
// failures: 1, 2, 4… up to 30 s apart, back to 1 s after a good minute.
func (t *target) run(ctx context.Context) {
	backoff := time.Second
	for ctx.Err() == nil {
		rd, err := t.s.NewReader(nil)
		if err != nil { // not live: wait for it
			t.set(StateWaiting, nil)
			select {
			case <-ctx.Done():
				return
			case <-time.After(250 * time.Millisecond):
			}
			continue
		}
		start := time.Now()
		err = t.push(ctx, rd)
		rd.Close()
		if ctx.Err() != nil {
			return
		}
		if err == nil { // the stream ended
			backoff = time.Second
			continue
		}
		if time.Since(start) > time.Minute {
			backoff = time.Second
		}
		t.log.Warn("push failed; calling the server again", "err", err, "retry_in", backoff)
		t.set(StateRetrying, err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, t.p.maxBackoff)
	}
}

// push sends rd to the server until the stream ends (nil), ctx ends
// (nil) or the server fails.
func (t *target) push(ctx context.Context, rd *engine.Reader) error {
	t.set(StateConnecting, nil)
	conn, name, err := rtmpconn.Dial(ctx, t.cfg.URL)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer conn.Close()
	if err := conn.Publish(name); err != nil {
		return err
	}
	t.set(StateLive, nil)
	t.log.Info("pushing")
	out := conn.NewSender()
	var batch []*engine.Packet
	skips := rd.Skips()
	for based := false; ; {
		batch, err = rd.Next(ctx, batch[:0])
		if err != nil {
			return nil // the stream ended (the server gets a clean end) or ctx did
		}
		if n := rd.Skips(); n != skips {
			t.skips.Add(n - skips)
			skips = n
		}
		if !based && len(batch) > 0 {
			// time zero: the earliest packet of the first batch (audio
			// may be stamped just before the keyframe)
			base := batch[0].DTS
			for _, p := range batch {
				base = min(base, p.DTS)
			}
			out.Rebase(base)
			based = true
		}
		n, err := out.Send(batch)
		if err != nil {
			return fmt.Errorf("the server stopped taking the stream (%v)", err)
		}
		t.bytes.Add(uint64(n))
	}
}
