package push

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"chalkcast/engine"
)

// Section is the pusher's section of a stream's configuration
// (engine.StreamConfig.Outputs); files written before sections existed
// had the same list at the top level under the same name.
const Section = "pushes"

// Target is one server a stream is pushed to over RTMP.
type Target struct {
	ID string `json:"id"`
	// URL is rtmp:// or rtmps://host[:port]/app/streamkey.
	URL string `json:"url"`
	// PlayURL is where viewers of that server watch, shown next to the
	// LAN link; optional.
	PlayURL string `json:"play_url,omitempty"`
}

// Validate checks a push target's addresses.
func (t Target) Validate() error {
	u, err := url.Parse(strings.TrimSpace(t.URL))
	if err != nil || (u.Scheme != "rtmp" && u.Scheme != "rtmps") || u.Hostname() == "" ||
		len(strings.Split(strings.Trim(u.Path, "/"), "/")) < 2 {
		return fmt.Errorf("%w: the push address must look like rtmp://host[:port]/app/streamkey (or rtmps://)", engine.ErrInvalid) // not echoed: it holds the stream key
	}
	if t.PlayURL != "" {
		if u, err := url.Parse(t.PlayURL); err != nil || u.Host == "" {
			return fmt.Errorf("%w: play address %q is not a URL", engine.ErrInvalid, t.PlayURL)
		}
	}
	return nil
}

// Targets are the push targets of a stream's configuration; a section
// that does not read has none.
func Targets(c engine.StreamConfig) []Target { return decode(c.Output(Section)) }

// Add adds a push target to stream name and returns it with its new id;
// the stream is sent there from now on.
func (p *Pusher) Add(name string, t Target) (Target, error) {
	if err := t.Validate(); err != nil {
		return t, err
	}
	t.URL = strings.TrimSpace(t.URL)
	id := make([]byte, 4)
	_, _ = rand.Read(id)
	t.ID = hex.EncodeToString(id)
	err := p.hub.SetOutput(name, Section, func(b json.RawMessage) (json.RawMessage, error) {
		return json.Marshal(append(decode(b), t))
	})
	return t, err
}

// Remove removes push target id from stream name.
func (p *Pusher) Remove(name, id string) error {
	return p.hub.SetOutput(name, Section, func(b json.RawMessage) (json.RawMessage, error) {
		ts := decode(b)
		i := slices.IndexFunc(ts, func(t Target) bool { return t.ID == id })
		if i < 0 {
			return nil, fmt.Errorf("push %s of stream %s: %w", id, name, engine.ErrNotFound)
		}
		ts = slices.Delete(ts, i, i+1)
		if len(ts) == 0 {
			return nil, nil
		}
		return json.Marshal(ts)
	})
}

func decode(b json.RawMessage) []Target {
	var ts []Target
	if b != nil && json.Unmarshal(b, &ts) != nil {
		return nil
	}
	return ts
}
