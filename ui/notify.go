package ui

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"fyne.io/fyne/v2/lang"
	"github.com/gen2brain/beeep"

	"chalkcast/engine"
)

// notifier turns engine events into desktop notifications. Sending never
// blocks the studio: one notification is sent at a time on its own
// goroutine, and one that arrives meanwhile is dropped (and logged). A
// machine without a notification service only gets log lines.
type notifier struct {
	enabled atomic.Bool // the setting, changed on the UI goroutine
	log     *slog.Logger
	busy    atomic.Bool
	send    func(title, message string) error

	mu      sync.Mutex
	failed  map[string]bool // streams whose source failed (for "recovered")
	reached map[string]int  // highest viewer milestone notified per stream
}

func newNotifier(enabled bool, log *slog.Logger) *notifier {
	n := &notifier{
		log:    log,
		send:   func(title, message string) error { return beeep.Notify(title, message, "") },
		failed: map[string]bool{}, reached: map[string]int{},
	}
	n.enabled.Store(enabled)
	return n
}

// event handles one engine event; hub gives the viewer counts.
func (n *notifier) event(hub *engine.Hub, e engine.Event) { n.deliver(n.message(hub, e)) }

// deliver sends a notification, unless title is empty or they are off.
func (n *notifier) deliver(title, msg string) {
	if title == "" || !n.enabled.Load() {
		return
	}
	if !n.busy.CompareAndSwap(false, true) {
		n.log.Info("notification skipped: another is being sent", "title", title)
		return
	}
	go func() {
		defer n.busy.Store(false)
		if err := n.send(title, msg); err != nil {
			n.log.Info("desktop notification not shown", "err", err)
		}
	}()
}

// message is what to tell the teacher about e, if anything.
func (n *notifier) message(hub *engine.Hub, e engine.Event) (string, string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch e.Kind {
	case engine.EventStreamLive:
		if n.failed[e.Stream] {
			delete(n.failed, e.Stream)
			return fmt.Sprintf(lang.L("“%s” is back"), e.Stream), lang.L("The source works again; students see the stream.")
		}
		return fmt.Sprintf(lang.L("“%s” is live"), e.Stream), lang.L("Share the link or the QR code with your students.")
	case engine.EventSourceError:
		if n.failed[e.Stream] {
			return "", "" // said already; retries fail the same way
		}
		n.failed[e.Stream] = true
		return fmt.Sprintf(lang.L("“%s” lost its source"), e.Stream), plainText(e.Error)
	case engine.EventNoSound:
		return fmt.Sprintf(lang.L("No sound in “%s”"), e.Stream), lang.L("Students hear nothing") + ": " + lang.L(e.Error)
	case engine.EventStreamDeleted:
		delete(n.failed, e.Stream)
		delete(n.reached, e.Stream)
	case engine.EventViewerJoined:
		st, ok := hub.Get(e.Stream)
		if !ok {
			return "", ""
		}
		count := st.Stats(engine.StatsOptions{}).Viewers.Total
		best := 0
		for _, m := range [...]int{1, 10, 25, 50, 100, 200, 500, 1000} { // counts worth telling
			if count >= m {
				best = m
			}
		}
		if best > n.reached[e.Stream] {
			n.reached[e.Stream] = best
			return fmt.Sprintf(lang.L("%d watching “%s”"), count, e.Stream), ""
		}
	}
	return "", ""
}
