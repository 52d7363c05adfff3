package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sort"
	"sync"
	"time"
)

// SourceKind runs the sources of one Source.Type that Chalkcast drives
// itself (a test pattern, a camera, an IP camera), as opposed to sources
// that connect to Chalkcast (an RTMP push).
type SourceKind interface {
	// Check validates a source before a stream is created with it. Its
	// errors wrap ErrInvalid and are shown to the user as they are.
	Check(src Source) error
	// Run publishes the source into s until ctx ends (then it returns
	// nil) or the source fails (it returns why, in words for a teacher).
	Run(ctx context.Context, s *Stream) error
}

// RetryWaiter is implemented by a SourceKind whose failed sources should
// be retried sooner than the supervisor's default of at most 10 s apart:
// an IP camera back from a reboot should be picked up within seconds.
type RetryWaiter interface {
	MaxRetryWait() time.Duration
}

// Retuner is implemented by a SourceKind whose running sources follow
// some changes of their configuration themselves (a scene's layout, read
// with Stream.Config): Retunes reports whether the change from old to src
// is one of them, and the supervisor then leaves the source running.
type Retuner interface {
	Retunes(old, src Source) bool
}

// Tester is implemented by a SourceKind that can try a source before a
// stream is made with it (connect to an IP camera and see what it sends).
type Tester interface {
	Test(ctx context.Context, src Source) (*SourceReport, error)
}

// ErrNoTest is returned by Sources.Test for source kinds that cannot be
// tried.
var ErrNoTest = errors.New("this kind of source cannot be tested")

// Sources keeps a running source for every stream whose source kind it
// knows: it starts them for existing and new streams, restarts a failed
// source with backoff (an unplugged camera comes back by itself), restarts
// a source whose configuration changed, and stops the sources of deleted
// streams.
type Sources struct {
	hub     *Hub
	kinds   map[string]SourceKind
	log     *slog.Logger
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	mu      sync.Mutex
	running map[string]*runningSource
	// MaxBackoff bounds the wait between restarts of a failed source.
	maxBackoff time.Duration
}

type runningSource struct {
	typ    string // src.Type, for the supervisor's log
	src    Source // the configuration it runs (reconcile's, under mu)
	stream *Stream
	cancel context.CancelFunc
	done   chan struct{}
}

// NewSources starts supervising the sources of hub's streams.
func NewSources(hub *Hub, kinds map[string]SourceKind, log *slog.Logger) *Sources {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Sources{
		hub:        hub,
		kinds:      kinds,
		log:        log.With("component", "sources"),
		running:    map[string]*runningSource{},
		maxBackoff: 10 * time.Second,
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	sub := hub.Subscribe(64)
	m.wg.Add(1)
	go m.watch(sub)
	return m
}

// Types are the source kinds this supervisor runs, sorted.
func (m *Sources) Types() []string {
	t := make([]string, 0, len(m.kinds))
	for k := range m.kinds {
		t = append(t, k)
	}
	sort.Strings(t)
	return t
}

// Check validates src if its kind is one of the supervisor's; other kinds
// are not its business and pass.
func (m *Sources) Check(src Source) error {
	if k, ok := m.kinds[src.Type]; ok {
		return k.Check(src)
	}
	return nil
}

// Test tries src with its kind's Tester; the error is in words for a
// teacher.
func (m *Sources) Test(ctx context.Context, src Source) (*SourceReport, error) {
	t, ok := m.kinds[src.Type].(Tester)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNoTest, src.Type)
	}
	return t.Test(ctx, src)
}

// watch reconciles on every hub event and once a second, so that an event
// dropped under load delays a source by at most a second.
func (m *Sources) watch(sub *Subscription) {
	defer m.wg.Done()
	defer sub.Close()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	m.reconcile()
	for {
		select {
		case <-m.ctx.Done():
			return
		case _, ok := <-sub.C:
			if !ok {
				return
			}
		case <-t.C:
		}
		m.reconcile()
	}
}

func (m *Sources) reconcile() {
	want := map[string]*Stream{}
	for _, s := range m.hub.Streams() {
		if c := s.Config(); !c.Stopped {
			if _, ok := m.kinds[c.Source.Type]; ok {
				want[s.Name()] = s
			}
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ctx.Err() != nil {
		return
	}
	// Stopping sources are not waited for here (a device can take a moment
	// to let go); a source that replaces one waits for it instead, so the
	// two never hold the same device.
	stopping := map[string]chan struct{}{}
	for name, r := range m.running {
		s, ok := want[name]
		if ok && s == r.stream {
			src := s.Config().Source
			if reflect.DeepEqual(src, r.src) {
				continue
			}
			if rt, ok := m.kinds[src.Type].(Retuner); ok && src.Type == r.src.Type && rt.Retunes(r.src, src) {
				r.src = src
				m.hub.events.publish(Event{Kind: EventSourceRetuned, Stream: name})
				continue
			}
		}
		r.cancel()
		stopping[name] = r.done
		delete(m.running, name)
	}
	for name, s := range want {
		if _, ok := m.running[name]; ok {
			continue
		}
		src := s.Config().Source
		ctx, cancel := context.WithCancel(m.ctx)
		r := &runningSource{typ: src.Type, src: src, stream: s, cancel: cancel, done: make(chan struct{})}
		m.running[name] = r
		m.wg.Add(1)
		go m.supervise(ctx, r, m.kinds[src.Type], stopping[name])
	}
}

// supervise runs one stream's source until ctx ends, restarting it after
// failures: 1 s, 2 s, 4 s... up to maxBackoff, back to 1 s once it ran for
// a while.
func (m *Sources) supervise(ctx context.Context, r *runningSource, k SourceKind, after <-chan struct{}) {
	defer m.wg.Done()
	defer close(r.done)
	if after != nil {
		select { // the source this one replaces has let go of its devices
		case <-after:
		case <-ctx.Done():
			return
		}
	}
	log := m.log.With("stream", r.stream.Name(), "source", r.typ)
	backoff, maxBackoff := time.Second, m.maxBackoff
	if rw, ok := k.(RetryWaiter); ok {
		maxBackoff = min(maxBackoff, max(rw.MaxRetryWait(), 100*time.Millisecond))
	}
	backoff = min(backoff, maxBackoff)
	lastErr := ""
	for {
		start := time.Now()
		err := runSource(ctx, k, r.stream)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = errors.New("the source stopped")
		}
		if time.Since(start) > 30*time.Second {
			backoff = min(time.Second, maxBackoff)
		}
		// the same failure again (a camera that stays away) is logged quietly
		if err.Error() != lastErr {
			log.Warn("source failed; retrying", "err", err, "retry_in", backoff)
		} else {
			log.Debug("source failed again; retrying", "err", err, "retry_in", backoff)
		}
		lastErr = err.Error()
		r.stream.SourceFailed(err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// runSource runs k, turning a panic in a driver into an error of this
// stream rather than a crash of the whole studio.
func runSource(ctx context.Context, k SourceKind, s *Stream) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("the source crashed: %v", p)
		}
	}()
	return k.Run(ctx, s)
}

// Close stops every source and waits for them.
func (m *Sources) Close() {
	m.cancel()
	m.wg.Wait()
}
