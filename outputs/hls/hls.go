// Package hls serves live streams as HLS (GET /live/<name>/index.m3u8 and
// the playlists, segments and parts it names) with gohlslib: native on
// iPhones and in WeChat on iOS, hls.js elsewhere, ffplay and VLC.
//
// One muxer per live stream reads the engine like any output. Viewers are
// counted as sessions, not requests: the first playlist request without a
// session is redirected to one carrying ?s=<id>, gohlslib repeats that
// query in every URL it hands out, and a session that has made no request
// for a while (see Config.SessionTimeout) is gone.
// Like every output it only reads streams from the engine: it must not
// import a source or the GUI.
package hls

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gohlslib/v2"

	"chalkcast/engine"
	"chalkcast/internal/httpapi"
)

// Config configures HLS. Zero fields take the stated defaults.
type Config struct {
	// Variant is "lowlatency" (fMP4 segments with LL-HLS parts; players
	// that do not know LL-HLS play the segments), "fmp4" or "mpegts".
	// Default "lowlatency".
	Variant string
	// SegmentCount is how many segments playlists keep. Default 7.
	SegmentCount int
	// SegmentMinDuration is the shortest segment; segments end on
	// keyframes. Default 1 s.
	SegmentMinDuration time.Duration
	// PartMinDuration is the shortest LL-HLS part. Default 200 ms.
	PartMinDuration time.Duration
	// SessionTimeout is how long a session may make no request before it
	// stops counting as a viewer; it grows to 2.5 keyframe intervals for
	// streams with long GOPs, whose players poll less often. Default 6 s.
	SessionTimeout time.Duration
	// StartTimeout is how long a request waits for a just-started muxer's
	// first segment. Default 10 s.
	StartTimeout time.Duration
	// Rewind is how far back students may go in a live class: playlists
	// keep that much (a segment per SegmentMinDuration, so more with
	// longer GOPs), written to Dir rather than held in memory. 0 keeps
	// SegmentCount segments in memory.
	Rewind time.Duration
	// Dir holds the segments kept for rewinding; it is emptied at start.
	Dir string
}

func (c Config) withDefaults() Config {
	if c.Variant == "" {
		c.Variant = "lowlatency"
	}
	if c.SegmentCount <= 0 {
		c.SegmentCount = 7
	}
	if c.SegmentMinDuration <= 0 {
		c.SegmentMinDuration = time.Second
	}
	if c.PartMinDuration <= 0 {
		c.PartMinDuration = 200 * time.Millisecond
	}
	if c.SessionTimeout <= 0 {
		c.SessionTimeout = 6 * time.Second
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = 10 * time.Second
	}
	if c.Rewind > 0 {
		c.SegmentCount = max(c.SegmentCount, int((c.Rewind+c.SegmentMinDuration-1)/c.SegmentMinDuration)+1)
	}
	return c
}

func (c Config) variant() (gohlslib.MuxerVariant, error) {
	switch c.Variant {
	case "lowlatency":
		return gohlslib.MuxerVariantLowLatency, nil
	case "fmp4":
		return gohlslib.MuxerVariantFMP4, nil
	case "mpegts":
		return gohlslib.MuxerVariantMPEGTS, nil
	}
	return 0, fmt.Errorf("hls: unknown variant %q (use lowlatency, fmp4 or mpegts)", c.Variant)
}

// Output serves HLS for a hub.
type Output struct {
	hub     *engine.Hub
	cfg     Config
	variant gohlslib.MuxerVariant
	log     *slog.Logger

	mu       sync.Mutex
	muxers   map[string]*muxer // by stream name
	sessions map[string]*session

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New starts the output: muxers start when streams go live.
func New(hub *engine.Hub, cfg Config, log *slog.Logger) (*Output, error) {
	cfg = cfg.withDefaults()
	v, err := cfg.variant()
	if err != nil {
		return nil, err
	}
	if cfg.Dir != "" {
		// what a previous run left (a crash) is nobody's
		if err := os.RemoveAll(cfg.Dir); err != nil {
			return nil, fmt.Errorf("hls: segments folder: %w", err)
		}
		if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
			return nil, fmt.Errorf("hls: segments folder: %w", err)
		}
	}
	o := &Output{
		hub: hub, cfg: cfg, variant: v, log: log.With("component", "hls"),
		muxers: map[string]*muxer{}, sessions: map[string]*session{},
	}
	o.ctx, o.cancel = context.WithCancel(context.Background())
	o.wg.Add(2)
	// a muxer starts when a stream goes live, so that the first HLS viewer
	// finds segments ready; a missed event only means the first request
	// starts it
	go func() {
		defer o.wg.Done()
		hub.WatchLive(o.ctx, func(s *engine.Stream) { _, _ = o.ensure(s) })
	}()
	go o.reap()
	return o, nil
}

// Close stops every muxer and session and waits for them.
func (o *Output) Close() {
	o.cancel()
	o.wg.Wait()
	o.mu.Lock()
	for id, ss := range o.sessions {
		ss.viewer.Leave()
		delete(o.sessions, id)
	}
	o.mu.Unlock()
}

// session is one counted HLS client.
type session struct {
	stream *engine.Stream
	viewer *engine.Viewer
	last   atomic.Int64 // unix nanoseconds of the latest request
}

// reap ends sessions that stopped asking.
func (o *Output) reap() {
	defer o.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-o.ctx.Done():
			return
		case now := <-t.C:
			timeouts := map[*engine.Stream]time.Duration{}
			o.mu.Lock()
			for id, ss := range o.sessions {
				to, ok := timeouts[ss.stream]
				if !ok {
					to = o.timeout(ss.stream)
					timeouts[ss.stream] = to
				}
				if now.UnixNano()-ss.last.Load() > int64(to) {
					ss.viewer.Leave()
					delete(o.sessions, id)
				}
			}
			o.mu.Unlock()
		}
	}
}

func (o *Output) timeout(s *engine.Stream) time.Duration {
	t := o.cfg.SessionTimeout
	if st := s.Stats(engine.StatsOptions{}); st.Video != nil {
		t = max(t, time.Duration(2.5*st.Video.KeyframeInterval*float64(time.Second)))
	}
	return t
}

// Window is how far back a student may rewind live stream name now: the
// rewind setting, or less when its muxer has not been running that long;
// 0 when it is not live (or rewinding is off).
func (o *Output) Window(name string) time.Duration {
	o.mu.Lock()
	m, ok := o.muxers[name]
	o.mu.Unlock()
	if !ok || o.cfg.Rewind <= 0 {
		return 0
	}
	return min(o.cfg.Rewind, m.age())
}

// validSession accepts the ids this output hands out (and nothing that
// could grow memory or logs without bound).
func validSession(id string) bool {
	if len(id) != 32 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil
}

// request is an HLS request as Serve routes it.
type request struct {
	stream string // a valid stream name
	// file is the last path element: index.m3u8, a media playlist, a
	// segment or a part, for gohlslib to find among what it serves.
	file string
	// session is the viewer's session id (32 hex digits), or "" when the
	// request starts a session, which it may only do at index.m3u8.
	session string
}

// What parseRequest refuses.
var (
	errNotStream = errors.New("not a stream name")
	errNoSession = errors.New("start HLS playback at index.m3u8")
)

// parseRequest reads a request for /live/<name>/<file> whose query is q
// (the path's split is http.ServeMux's). The error says what is wrong
// with it when it cannot be served.
func parseRequest(name, file string, q url.Values) (request, error) {
	req := request{stream: name, file: file}
	if engine.ValidateName(name) != nil {
		return request{}, errNotStream
	}
	if id := q.Get("s"); validSession(id) {
		req.session = id
	} else if file != "index.m3u8" {
		return req, errNoSession
	}
	return req, nil
}

// Serve answers one HLS request for stream name; file is the last path
// element (index.m3u8, a media playlist, a segment or a part).
func (o *Output) Serve(w http.ResponseWriter, r *http.Request, name, file string) {
	q := r.URL.Query()
	req, err := parseRequest(name, file, q)
	var s *engine.Stream
	ok := false
	if !errors.Is(err, errNotStream) { // the hub holds only valid names
		s, ok = o.hub.Get(req.stream)
	}
	if !ok {
		httpapi.Error(w, http.StatusNotFound, fmt.Sprintf("no stream named %q", name))
		return
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	if err != nil {
		httpapi.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	id := req.session
	if id == "" {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		q.Set("s", hex.EncodeToString(b))
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, r.URL.Path+"?"+q.Encode(), http.StatusFound)
		return
	}
	s.AwaitLive(r.Context(), o.cfg.StartTimeout) // an on-demand camera connects now
	m, err := o.ensure(s)
	if err != nil {
		httpapi.Error(w, http.StatusNotFound, err.Error())
		return
	}
	if err := o.touch(id, s, r); err != nil {
		httpapi.Error(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), o.cfg.StartTimeout)
	defer cancel()
	gm, err := m.wait(ctx)
	if err != nil {
		httpapi.Error(w, http.StatusNotFound, fmt.Sprintf("stream %s: %v", name, err))
		return
	}
	gm.Handle(w, r)
}

// touch counts the session as a viewer of s, creating it on first sight.
func (o *Output) touch(id string, s *engine.Stream, r *http.Request) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	ss, ok := o.sessions[id]
	if ok && ss.stream != s {
		ss.viewer.Leave() // the id moved to another stream: count it there
		ok = false
	}
	if !ok {
		v, err := s.Join(engine.ViewerInfo{Protocol: "hls", Remote: r.RemoteAddr, Agent: r.UserAgent()})
		if err != nil {
			delete(o.sessions, id)
			return err
		}
		ss = &session{stream: s, viewer: v}
		o.sessions[id] = ss
	}
	ss.last.Store(time.Now().UnixNano())
	return nil
}
