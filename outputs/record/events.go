package record

import "sync"

// EventKind says what the recorder has to tell.
type EventKind int

// What the recorder tells its listeners.
const (
	EventStarted EventKind = iota // a recording of Stream started
	EventSaved                    // File of Stream was saved: a split, or the end
	EventFailed                   // the recording of Stream stopped: Err says why
	EventDiskLow                  // Free bytes are left where recordings are written
)

// Event is something the recorder tells whoever listens (the studio's
// notifications), the way the engine's events tell about streams.
type Event struct {
	Kind   EventKind
	Stream string // "" for EventDiskLow
	File   File   // EventSaved
	Err    error  // EventFailed
	Free   uint64 // EventDiskLow
}

// listeners are the recorder's Listen callbacks.
type listeners struct {
	mu   sync.Mutex
	next int
	fs   map[int]func(Event)
}

// Listen calls f with every event from now on, on the recorder's own
// goroutines: f must return quickly. It returns the function that stops
// the calls.
func (r *Recorder) Listen(f func(Event)) (stop func()) {
	l := &r.listeners
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fs == nil {
		l.fs = map[int]func(Event){}
	}
	id := l.next
	l.next++
	l.fs[id] = f
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		delete(l.fs, id)
	}
}

// tell calls every listener with e.
func (r *Recorder) tell(e Event) {
	l := &r.listeners
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, f := range l.fs {
		f(e)
	}
}
