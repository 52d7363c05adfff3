// Package engine is Chalkcast's media hub: named streams with one publisher
// and many readers, the shared packet type, the bounded fan-out ring,
// statistics, events and the worker pool.
//
// It knows no protocol, file format or GUI: sources turn their input into
// Packets and write them through a Publisher; outputs read them through a
// Reader and turn them into bytes for someone.
package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Store persists stream configurations (names, keys, sources).
type Store interface {
	Load() ([]StreamConfig, error)
	Save([]StreamConfig) error
}

// Hub holds every stream. Create it with New, then Close it.
type Hub struct {
	cfg   Config
	log   *slog.Logger
	store Store

	mu      sync.RWMutex
	streams map[string]*Stream
	byKey   map[string]*Stream
	opMu    sync.Mutex // serialises Create, Delete and ResetKey with their saves

	viewers atomic.Int64
	admitMu sync.Mutex     // orders viewer admissions: see Stream.Join
	byAddr  map[string]int // viewers per IP address, under admitMu
	events  broker
	pool    *Pool
	started time.Time

	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// New loads the persisted streams from store (which may be nil for a hub
// that forgets on exit) and starts the hub's housekeeping.
func New(cfg Config, store Store, log *slog.Logger) (*Hub, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Hub{
		cfg:     cfg.withDefaults(),
		log:     log.With("component", "engine"),
		byAddr:  map[string]int{},
		store:   store,
		streams: map[string]*Stream{},
		byKey:   map[string]*Stream{},
		started: time.Now(),
	}
	if store != nil {
		saved, err := store.Load()
		if err != nil {
			return nil, fmt.Errorf("engine: load streams: %w", err)
		}
		for _, sc := range saved {
			if err := ValidateName(sc.Name); err != nil || sc.Key == "" {
				h.log.Warn("skipping a saved stream with a bad name or no key", "stream", sc.Name)
				continue
			}
			s := newStream(h, sc)
			h.streams[sc.Name] = s
			h.byKey[sc.Key] = s
		}
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	h.pool = NewPool(h.cfg.Workers, 64*h.cfg.Workers)
	h.wg.Add(1)
	go h.housekeeping()
	return h, nil
}

// Config returns the effective configuration (defaults filled in).
func (h *Hub) Config() Config { return h.cfg }

// Pool is the bounded worker pool for CPU work of sources and outputs.
func (h *Hub) Pool() *Pool { return h.pool }

// Subscribe returns a subscription with room for buffer events.
func (h *Hub) Subscribe(buffer int) *Subscription { return h.events.subscribe(buffer) }

// housekeeping samples statistics once a second on the pool.
func (h *Hub) housekeeping() {
	defer h.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-h.ctx.Done():
			return
		case now := <-t.C:
			// One task per tick keeps samples of a stream in order; a
			// tick that finds the pool full is skipped (the next window is
			// simply longer) and counted by the pool.
			_ = h.pool.TrySubmit(func() {
				for _, s := range h.Streams() {
					s.sample(now)
				}
			})
		}
	}
}

// Close ends every stream's readers and stops the hub. It may be called
// more than once.
func (h *Hub) Close() { h.closeOnce.Do(h.close) }

func (h *Hub) close() {
	h.cancel()
	h.wg.Wait()
	h.mu.Lock()
	for _, s := range h.streams {
		s.mu.Lock()
		if s.pub != nil {
			s.pub.closed.Store(true)
			s.pub = nil
		}
		if s.ring != nil {
			s.endLocked("server stopping")
		}
		s.mu.Unlock()
	}
	h.mu.Unlock()
	h.pool.Close()
	h.events.closeAll()
}

func newKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

// Create adds a stream. Name must be valid and free; a key is generated.
func (h *Hub) Create(sc StreamConfig) (*Stream, error) {
	if err := ValidateName(sc.Name); err != nil {
		return nil, err
	}
	if sc.Source.Type == "" {
		sc.Source.Type = PushSource
	}
	sc.Key = newKey()
	sc.Created = time.Now().UTC().Truncate(time.Second)
	h.opMu.Lock()
	defer h.opMu.Unlock()
	h.mu.RLock()
	_, exists := h.streams[sc.Name]
	n := len(h.streams)
	h.mu.RUnlock()
	if exists {
		return nil, fmt.Errorf("stream %s: %w", sc.Name, ErrExists)
	}
	if n >= h.cfg.MaxStreams {
		return nil, fmt.Errorf("%w: at most %d streams", ErrLimit, h.cfg.MaxStreams)
	}
	if err := h.persist(func(all []StreamConfig) []StreamConfig { return append(all, sc) }); err != nil {
		return nil, err
	}
	s := newStream(h, sc)
	h.mu.Lock()
	h.streams[sc.Name] = s
	h.byKey[sc.Key] = s
	h.mu.Unlock()
	h.events.publish(Event{Kind: EventStreamCreated, Stream: sc.Name})
	return s, nil
}

// Delete removes a stream, ending its publisher and viewers.
func (h *Hub) Delete(name string) error {
	h.opMu.Lock()
	defer h.opMu.Unlock()
	s, ok := h.Get(name)
	if !ok {
		return fmt.Errorf("stream %s: %w", name, ErrNotFound)
	}
	if err := h.persist(func(all []StreamConfig) []StreamConfig {
		return slices.DeleteFunc(all, func(c StreamConfig) bool { return c.Name == name })
	}); err != nil {
		return err
	}
	h.mu.Lock()
	delete(h.streams, name)
	delete(h.byKey, s.Config().Key)
	h.mu.Unlock()
	s.delete()
	h.events.publish(Event{Kind: EventStreamDeleted, Stream: name})
	return nil
}

// ResetKey gives the stream a new publish key; a publisher using the old
// one is disconnected.
func (h *Hub) ResetKey(name string) (string, error) {
	h.opMu.Lock()
	defer h.opMu.Unlock()
	key := newKey()
	s, err := h.persistOne(name, func(c *StreamConfig) { c.Key = key })
	if err != nil {
		return "", err
	}
	h.mu.Lock()
	delete(h.byKey, s.Config().Key)
	h.byKey[key] = s
	pub := s.setKey(key)
	h.mu.Unlock()
	if pub != nil {
		pub.Close(fmt.Errorf("the publish key was reset"))
	}
	h.events.publish(Event{Kind: EventKeyReset, Stream: name})
	return key, nil
}

// SetStopped stops a stream (its publisher leaves, its source stops, and
// nothing may publish into it) or starts it again. The choice persists.
func (h *Hub) SetStopped(name string, stopped bool) error {
	h.opMu.Lock()
	defer h.opMu.Unlock()
	s, err := h.persistOne(name, func(c *StreamConfig) { c.Stopped = stopped })
	if err != nil {
		return err
	}
	s.setStopped(stopped)
	kind := EventStreamStarted
	if stopped {
		kind = EventStreamStopped
	}
	h.events.publish(Event{Kind: kind, Stream: name})
	return nil
}

// StopTypes stops every stream not stopped yet whose source is of one of
// types, as the teacher's Stop does: the choice persists and Start undoes
// it. The studio calls it at start-up, before the sources are supervised,
// so that opening the window never switches a camera or a screen on.
func (h *Hub) StopTypes(types ...string) error {
	var errs []error
	for _, s := range h.Streams() {
		if c := s.Config(); !c.Stopped && slices.Contains(types, c.Source.Type) {
			errs = append(errs, h.SetStopped(c.Name, true))
		}
	}
	return errors.Join(errs...)
}

// persistOne saves a change to one stream's configuration and returns the
// stream; the caller holds opMu and applies the change once it is saved.
func (h *Hub) persistOne(name string, change func(*StreamConfig)) (*Stream, error) {
	s, ok := h.Get(name)
	if !ok {
		return nil, fmt.Errorf("stream %s: %w", name, ErrNotFound)
	}
	err := h.persist(func(all []StreamConfig) []StreamConfig {
		for i := range all {
			if all[i].Name == name {
				change(&all[i])
			}
		}
		return all
	})
	return s, err
}

// Get returns the stream with the public name.
func (h *Hub) Get(name string) (*Stream, bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	s, ok := h.streams[name]
	return s, ok
}

// ByKey returns the stream whose publish key is key.
func (h *Hub) ByKey(key string) (*Stream, bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	s, ok := h.byKey[key]
	return s, ok
}

// Streams returns all streams sorted by name.
func (h *Hub) Streams() []*Stream {
	h.mu.RLock()
	out := make([]*Stream, 0, len(h.streams))
	for _, s := range h.streams {
		out = append(out, s)
	}
	h.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// persist saves the stream configurations as change makes them from the
// current ones. Callers hold opMu and apply the change in memory only
// after it was saved, so a failed save changes nothing.
func (h *Hub) persist(change func([]StreamConfig) []StreamConfig) error {
	if h.store == nil {
		return nil
	}
	var all []StreamConfig
	for _, s := range h.Streams() {
		all = append(all, s.Config())
	}
	all = change(all)
	slices.SortFunc(all, func(a, b StreamConfig) int { return strings.Compare(a.Name, b.Name) })
	if err := h.store.Save(all); err != nil {
		return fmt.Errorf("engine: save streams: %w", err)
	}
	return nil
}

// HubStats are engine-wide figures.
type HubStats struct {
	Streams      int     `json:"streams"`
	Live         int     `json:"live"`
	Viewers      int64   `json:"viewers"`
	BytesIn      uint64  `json:"bytes_in"`
	BytesOut     uint64  `json:"bytes_out"`
	UptimeSec    float64 `json:"uptime_s"`
	PoolRejected uint64  `json:"pool_rejected"`
	Limits       struct {
		MaxStreams          int `json:"max_streams"`
		MaxViewersPerStream int `json:"max_viewers_per_stream"`
		MaxViewers          int `json:"max_viewers"`
	} `json:"limits"`
}

// Stats returns engine-wide figures.
func (h *Hub) Stats() HubStats {
	var st HubStats
	for _, s := range h.Streams() {
		st.Streams++
		if s.State() == StateLive {
			st.Live++
		}
		st.BytesIn += s.c.bytesIn.Load()
		st.BytesOut += s.c.bytesOut.Load()
	}
	st.Viewers = h.viewers.Load()
	st.UptimeSec = time.Since(h.started).Seconds()
	st.PoolRejected = h.pool.Rejected()
	st.Limits.MaxStreams = h.cfg.MaxStreams
	st.Limits.MaxViewersPerStream = h.cfg.MaxViewersPerStream
	st.Limits.MaxViewers = h.cfg.MaxViewers
	return st
}

// WatchLive calls fn for every stream that is active now and then each
// time one goes live, in order, until ctx ends. It is for outputs that
// prepare something per live stream (a muxer, an RTSP stream); fn must not
// block for long. A missed event (the subscriber was slow) is not
// replayed: such outputs also prepare on a viewer's first request.
func (h *Hub) WatchLive(ctx context.Context, fn func(*Stream)) {
	sub := h.Subscribe(256)
	defer sub.Close()
	for _, s := range h.Streams() {
		if s.State().Active() {
			fn(s)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-sub.C:
			if !ok {
				return
			}
			if e.Kind != EventStreamLive {
				continue
			}
			if s, ok := h.Get(e.Stream); ok {
				fn(s)
			}
		}
	}
}
