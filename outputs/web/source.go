package web

import (
	"context"
	"net/http"
	"time"

	"chalkcast/engine"
	"chalkcast/internal/httpapi"
)

// switchWait bounds how long replacing a source waits for the new one to
// publish before answering that it is not live yet: long enough for a
// camera to open and an IP camera to answer.
const switchWait = 10 * time.Second

// setSource replaces a stream's source while it runs (admins only), with
// the checks of a new stream's source. Viewers stay connected. It answers
// 200 with the stream's view once the new source is live, or 202 with the
// view (whose state and last error say why) when it is not: a stream that
// is stopped or waits for a sender to push, a new source that fails (it
// is retried) or is not live within switchWait.
func (s *Server) setSource(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var src engine.Source
	if !httpapi.Decode(w, r, 64<<10, &src, "a valid source", false) {
		return
	}
	if err := s.checkSource(&src); err != nil {
		httpapi.Fail(w, s.log, err)
		return
	}
	sub := s.hub.Subscribe(64)
	defer sub.Close()
	if err := s.hub.SetSource(name, src); err != nil {
		httpapi.Fail(w, s.log, err)
		return
	}
	s.log.Info("source replaced", "stream", name, "source", src.Type)
	st, ok := s.hub.Get(name)
	if !ok {
		httpapi.Fail(w, s.log, engine.ErrNotFound)
		return
	}
	status := http.StatusAccepted
	if src.Type != engine.PushSource && !st.Config().Stopped && awaitLive(r.Context(), sub, name) {
		status = http.StatusOK
	}
	host, httpBase := s.Base()
	httpapi.JSON(w, status, s.view(st, host, httpBase, true, engine.StatsOptions{}))
}

// awaitLive waits for stream name to go live after its source changed,
// reading events from sub (subscribed before the change), until it is,
// the new source fails, switchWait passes or ctx ends.
func awaitLive(ctx context.Context, sub *engine.Subscription, name string) bool {
	ctx, cancel := context.WithTimeout(ctx, switchWait)
	defer cancel()
	changed := false
	for {
		select {
		case <-ctx.Done():
			return false
		case e, ok := <-sub.C:
			if !ok {
				return false
			}
			switch {
			case e.Stream != name:
			case e.Kind == engine.EventSourceChanged:
				changed = true
			case (e.Kind == engine.EventStreamLive || e.Kind == engine.EventSourceRetuned) && changed:
				return true
			case e.Kind == engine.EventSourceError && changed, e.Kind == engine.EventStreamDeleted:
				return false // the view says why
			}
		}
	}
}
