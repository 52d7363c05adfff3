package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"runtime"
	"strings"
	"time"
)

// Config is the engine's configuration. The zero value of a field means its
// default, stated in the field's comment.
type Config struct {
	// MaxStreams is how many streams may exist. Default 64.
	MaxStreams int
	// MaxViewersPerStream bounds the viewers of one stream. Default 3000.
	MaxViewersPerStream int
	// MaxViewers bounds the viewers of all streams together. Default 5000.
	MaxViewers int
	// MaxViewersPerAddr bounds the viewers from one IP address, so that
	// one client cannot take every place; a classroom behind one Wi-Fi NAT
	// stays well below it. Default 200.
	MaxViewersPerAddr int
	// StallAfter is how long a viewer's write may stay blocked (a client
	// that does not read) before the viewer loses its place to a new one
	// when a limit is reached. Default 2 s.
	StallAfter time.Duration
	// GracePeriod is how long a stream whose publisher left waits for the
	// same key to publish again before its viewers are closed. Default 10 s.
	GracePeriod time.Duration
	// RingPackets is the number of packets each stream keeps for readers:
	// at least one GOP for instant start and MaxLag of media. Default 1024
	// (14 s of 30 fps video with 44.1 kHz AAC).
	RingPackets int
	// MaxLag is how far (in media time) a reader may fall behind the newest
	// packet before it skips to the newest keyframe. Default 5 s.
	MaxLag time.Duration
	// MaxBatch is the largest number of packets a reader gets at once
	// (a new viewer's GOP-cache burst comes in several writes). Default 64.
	MaxBatch int
	// AudioHold is how long audio of a stream with video may wait for the
	// next video frame before readers are woken anyway, so that each
	// viewer gets one write per video frame rather than one per packet.
	// Default 100 ms (any video of 10 fps or more carries the audio).
	AudioHold time.Duration
	// WakeEvery is how often at most readers of a stream with video and
	// audio are woken: a packet that comes sooner waits for the next
	// one, which is at most an audio packet's length (about 23 ms)
	// away. Each viewer then writes about 20 times a second, not 30 or
	// 60, for that much more latency. Default 40 ms; negative: every
	// video frame wakes them.
	WakeEvery time.Duration
	// Workers is the size of the worker pool. Default GOMAXPROCS.
	Workers int
	// StatsHistory is how many one-second statistics samples each stream
	// keeps. Default 600 (10 minutes).
	StatsHistory int
	// Silence makes the silent audio that replaces a muted stream's
	// sound. Without it, a muted stream drops its audio packets.
	Silence Silencer
}

func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.MaxStreams, 64)
	def(&c.MaxViewersPerStream, 3000)
	def(&c.MaxViewers, 5000)
	def(&c.MaxViewersPerAddr, 200)
	def(&c.RingPackets, 1024)
	def(&c.MaxBatch, 64)
	def(&c.Workers, runtime.GOMAXPROCS(0))
	def(&c.StatsHistory, 600)
	if c.GracePeriod <= 0 {
		c.GracePeriod = 10 * time.Second
	}
	if c.MaxLag <= 0 {
		c.MaxLag = 5 * time.Second
	}
	if c.AudioHold <= 0 {
		c.AudioHold = 100 * time.Millisecond
	}
	if c.WakeEvery == 0 {
		c.WakeEvery = 40 * time.Millisecond
	}
	if c.StallAfter <= 0 {
		c.StallAfter = 2 * time.Second
	}
	return c
}

// PushSource is the source type of a stream whose media a sender pushes
// to Chalkcast with the stream's key (OBS, ffmpeg or a phone app, over
// RTMP): no source runs for it, and a new key ends the sender's session.
// It is the type of a stream created without one.
const PushSource = "rtmp"

// Source describes where a stream's media comes from. Type is PushSource
// or a kind registered with Sources ("testpattern", "camera", "screen",
// "rtsp", "pull", "scene"); the other fields are the kind's own. Inputs
// are the sources a source made of others (a scene) composes.
type Source struct {
	Type    string            `json:"type"`
	URL     string            `json:"url,omitempty"`
	Options map[string]string `json:"options,omitempty"`
	Inputs  []Source          `json:"inputs,omitempty"`
}

// Redacted returns the source with credentials removed from its URL and
// its inputs' URLs, for everything that shows a source (API answers, the
// studio, logs). Only the persisted configuration keeps them.
func (s Source) Redacted() Source {
	s.URL = RedactURL(s.URL)
	if s.Inputs != nil {
		in := make([]Source, len(s.Inputs))
		for i, src := range s.Inputs {
			in[i] = src.Redacted()
		}
		s.Inputs = in
	}
	return s
}

// secretParams are query parameters cameras and CDNs take credentials in.
var secretParams = []string{"pass", "pwd", "secret", "token", "key", "auth", "sign", "user"}

// RedactURL removes the user name and password from a URL, masks query
// parameters that look like credentials (password=, token=...) and, in an
// rtmp:// or rtmps:// address, the stream key (the last path element after
// the app) but for its last four characters. A string that is not a URL is
// returned as "(hidden)" if it contains an '@' (it could be a mistyped URL
// with a password), unchanged otherwise.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if strings.Contains(raw, "@") {
			return "(hidden)"
		}
		return raw
	}
	u.User = nil
	if strings.Contains(u.Host+u.Path+u.RawQuery, "@") {
		return "(hidden)" // an unescaped @ in a password: the rest may be part of it
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			lk := strings.ToLower(k)
			for _, p := range secretParams {
				if strings.Contains(lk, p) {
					q.Set(k, "xxxxx")
					break
				}
			}
		}
		u.RawQuery = q.Encode()
	}
	if u.Scheme == "rtmp" || u.Scheme == "rtmps" {
		return maskStreamKey(u)
	}
	return u.String()
}

// maskStreamKey writes an RTMP address with its stream key masked:
// "rtmp://live.example.com/app/••••f00d". An address with only an app has
// no key to mask.
func maskStreamKey(u *url.URL) string {
	i := strings.LastIndex(u.Path, "/")
	if i <= 0 || strings.Trim(u.Path[:i], "/") == "" {
		return u.String()
	}
	dir, key := u.Path[:i+1], u.Path[i+1:]
	switch {
	case len(key) > 4:
		key = "••••" + key[len(key)-4:]
	case key != "":
		key = "••••"
	}
	// written by hand: url.URL would percent-encode the dots
	out := u.Scheme + "://" + u.Host + (&url.URL{Path: dir}).EscapedPath() + key
	if u.RawQuery != "" {
		out += "?" + u.RawQuery
	}
	return out
}

// StreamConfig is what is persisted about a stream.
type StreamConfig struct {
	Name    string    `json:"name"`
	Title   string    `json:"title,omitempty"`
	Key     string    `json:"key"`
	Source  Source    `json:"source"`
	Created time.Time `json:"created"`
	// Stopped streams take no publisher and run no source until started.
	Stopped bool `json:"stopped,omitempty"`
	// Muted streams send silence instead of their sound.
	Muted bool `json:"muted,omitempty"`
	// Outputs are the outputs' own settings of the stream (how it is
	// recorded, where it is pushed), one section per output, stored as
	// the output wrote it: the engine never reads them. Change them with
	// Hub.SetOutput; a map in a StreamConfig is never modified.
	Outputs map[string]json.RawMessage `json:"outputs,omitempty"`
}

// UnmarshalJSON reads a stream configuration. Top-level fields it does not
// know were written by an output before outputs had sections of their own
// (recording, pushes): they become those outputs' sections, unread.
func (c *StreamConfig) UnmarshalJSON(b []byte) error {
	type plain StreamConfig
	if err := json.Unmarshal(b, (*plain)(c)); err != nil {
		return err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return err
	}
	known := map[string]bool{"name": true, "title": true, "key": true, "source": true, "created": true, "stopped": true, "muted": true, "outputs": true}
	for k, v := range fields {
		if known[k] {
			continue
		}
		if c.Outputs == nil {
			c.Outputs = map[string]json.RawMessage{}
		}
		if _, ok := c.Outputs[k]; !ok {
			c.Outputs[k] = v
		}
	}
	return nil
}

// Output is the section of output in the configuration, nil if none.
func (c StreamConfig) Output(output string) json.RawMessage { return c.Outputs[output] }

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_-]{0,63}$`)

// ErrInvalid marks configuration errors a caller can show as they are.
var ErrInvalid = errors.New("invalid")

// ValidateName checks that a stream name is safe in URLs and file names.
func ValidateName(name string) error {
	if !nameRE.MatchString(name) {
		// what a client sent may be any length: the error (and the log
		// line or reply it ends in) quotes its start only
		if len(name) > 64 {
			name = name[:64] + "…"
		}
		return fmt.Errorf("%w: stream name %q: use 1-64 letters, digits, '-' or '_', starting with a letter or digit", ErrInvalid, name)
	}
	return nil
}
