package web

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"chalkcast/engine"
	"chalkcast/internal/httpapi"
)

// previewWait is how long preview.jpg waits for the first picture of a
// stream nobody was looking at.
const previewWait = 5 * time.Second

// preview answers the newest picture of a live stream as a JPEG (admins
// only: it shows the class).
func (s *Server) preview(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	b, err := s.cfg.Preview(r.Context(), name, previewWait)
	switch {
	case errors.Is(err, engine.ErrNotFound), errors.Is(err, engine.ErrNotLive):
		httpapi.Error(w, http.StatusNotFound, err.Error())
	case err != nil:
		httpapi.Error(w, http.StatusServiceUnavailable, err.Error())
	default:
		w.Header().Set("Content-Type", "image/jpeg")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		_, _ = w.Write(b)
	}
}

// audioRequest is the body of POST /api/v1/streams/<name>/audio.
type audioRequest struct {
	Muted *bool `json:"muted"`
}

// setAudio mutes or unmutes a stream: {"muted": true}.
func (s *Server) setAudio(w http.ResponseWriter, r *http.Request) {
	var req audioRequest
	if !httpapi.Decode(w, r, 1<<10, &req, `{"muted": true} or {"muted": false}`, false) {
		return
	}
	if req.Muted == nil {
		httpapi.Error(w, http.StatusBadRequest, `request body must say {"muted": true} or {"muted": false}`)
		return
	}
	name := r.PathValue("name")
	if err := s.hub.SetMuted(name, *req.Muted); err != nil {
		httpapi.Fail(w, s.log, err)
		return
	}
	s.log.Info("stream sound muted or unmuted", "stream", name, "muted", *req.Muted)
	s.answerView(w, name)
}

// answerView answers a change with the stream's new view.
func (s *Server) answerView(w http.ResponseWriter, name string) {
	st, ok := s.hub.Get(name)
	if !ok {
		httpapi.Fail(w, s.log, engine.ErrNotFound)
		return
	}
	host, httpBase := s.Base()
	httpapi.JSON(w, http.StatusOK, s.view(st, host, httpBase, true, engine.StatsOptions{}))
}
