package engine

import (
	"sync"
	"sync/atomic"
	"time"
)

// EventKind says what happened.
type EventKind string

// Events the hub publishes.
const (
	EventStreamCreated      EventKind = "stream_created"
	EventStreamDeleted      EventKind = "stream_deleted"
	EventStreamLive         EventKind = "stream_live"
	EventStreamReconnecting EventKind = "stream_reconnecting"
	EventStreamEnded        EventKind = "stream_ended"
	EventKeyReset           EventKind = "key_reset"
	EventStreamStopped      EventKind = "stream_stopped"
	EventStreamStarted      EventKind = "stream_started"
	EventViewerJoined       EventKind = "viewer_joined"
	EventViewerLeft         EventKind = "viewer_left"
	EventSourceError        EventKind = "source_error"
	EventAudioMuted         EventKind = "audio_muted"
	EventAudioUnmuted       EventKind = "audio_unmuted"
	// EventNoSound: students hear nothing although the stream is not
	// muted (Error says why). Published once per silence.
	EventNoSound EventKind = "no_sound"
	// EventOutputConfig: Output's section of the stream's configuration
	// changed (Hub.SetOutput).
	EventOutputConfig EventKind = "output_config"
	// EventSourceChanged: the stream's source was replaced (Hub.SetSource);
	// the new one continues the stream once it publishes.
	EventSourceChanged EventKind = "source_changed"
	// EventSourceRetuned: the running source took its new configuration
	// without a restart (a scene's layout; see Retuner).
	EventSourceRetuned EventKind = "source_retuned"
)

// Event is one thing that happened in the hub. Events are values: a
// subscriber may keep them.
type Event struct {
	Kind   EventKind `json:"kind"`
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
	// Viewer is set for viewer events.
	Viewer *ViewerStats `json:"viewer,omitempty"`
	// Error is the reason for source errors and an ended stream.
	Error string `json:"error,omitempty"`
	// Output names the output whose settings changed, for
	// EventOutputConfig.
	Output string `json:"output,omitempty"`
}

// Subscription receives events on C. Delivery never blocks the engine: when
// C is full the event is dropped for this subscriber and counted.
type Subscription struct {
	C       <-chan Event
	c       chan Event
	dropped atomic.Uint64
	b       *broker
}

// Dropped is how many events this subscriber missed because it was slow.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Close ends the subscription; C is closed.
func (s *Subscription) Close() { s.b.remove(s) }

type broker struct {
	mu   sync.Mutex
	subs map[*Subscription]struct{}
}

func (b *broker) subscribe(buffer int) *Subscription {
	if buffer < 1 {
		buffer = 1
	}
	c := make(chan Event, buffer)
	s := &Subscription{C: c, c: c, b: b}
	b.mu.Lock()
	if b.subs == nil {
		b.subs = map[*Subscription]struct{}{}
	}
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s
}

func (b *broker) remove(s *Subscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.subs[s]; ok {
		delete(b.subs, s)
		close(s.c)
	}
}

func (b *broker) closeAll() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		close(s.c)
	}
	b.subs = nil
}

func (b *broker) publish(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		select {
		case s.c <- e:
		default:
			s.dropped.Add(1)
		}
	}
}
