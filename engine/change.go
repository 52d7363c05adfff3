package engine

import (
	"encoding/json"
	"fmt"
	"maps"
)

// Detached makes a stream that is not the hub's: it is not listed, saved
// or served, and publishes no events. A source that a scene composes (an
// IP camera) runs into one, and the scene reads it. Release ends it.
func (h *Hub) Detached(name string, src Source) (s *Stream, release func()) {
	s = newStream(h, StreamConfig{Name: name, Source: src})
	s.detached = true
	return s, s.delete
}

// SetSource replaces stream name's source, running or not: the change is
// saved, the supervisor stops the old source and starts the new one, and
// the new one continues the stream's ring if it publishes within the grace
// period, so that viewers stay connected on the same link, timestamps go
// on and they see the new picture from its first keyframe. An RTMP sender
// of a stream that stops taking pushes is disconnected. The caller has
// validated src (Sources.Check).
func (h *Hub) SetSource(name string, src Source) error {
	h.opMu.Lock()
	defer h.opMu.Unlock()
	s, err := h.persistOne(name, func(c *StreamConfig) { c.Source = src })
	if err != nil {
		return err
	}
	if pub := s.setSource(src); pub != nil {
		pub.Close(nil)
	}
	h.events.publish(Event{Kind: EventSourceChanged, Stream: name})
	return nil
}

// SetOutput changes output's section of stream name's configuration:
// change gets the current section (nil if none) and returns the new one
// (nil removes it), or an error, which changes nothing. The change is
// saved, then EventOutputConfig tells the output's own loop, which reads
// the section with Stream.Config.
func (h *Hub) SetOutput(name, output string, change func(json.RawMessage) (json.RawMessage, error)) error {
	h.opMu.Lock()
	defer h.opMu.Unlock()
	s, ok := h.Get(name)
	if !ok {
		return fmt.Errorf("stream %s: %w", name, ErrNotFound)
	}
	section, err := change(s.Config().Output(output))
	if err != nil {
		return err
	}
	with := func(c *StreamConfig) {
		outs := maps.Clone(c.Outputs)
		if section == nil {
			delete(outs, output)
		} else {
			if outs == nil {
				outs = map[string]json.RawMessage{}
			}
			outs[output] = section
		}
		c.Outputs = outs
	}
	if _, err := h.persistOne(name, with); err != nil {
		return err
	}
	s.mu.Lock()
	with(&s.cfg)
	s.mu.Unlock()
	h.events.publish(Event{Kind: EventOutputConfig, Stream: name, Output: output})
	return nil
}
