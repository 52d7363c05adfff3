// Package whip takes WebRTC publishers with WHIP (POST /live/<key>/whip,
// or POST /whip with Authorization: Bearer <key>): OBS's "WHIP" service,
// a browser page, any WHIP client. A publisher sends H.264 and Opus; the
// H.264 goes into the stream as it came, and the Opus is transcoded to
// AAC once, for FLV, HLS, RTMP and recordings. A WHIP publisher is the
// stream's publisher like an RTMP one: the same keys, grace period,
// statistics and events.
// Like every source it feeds the engine: it must not import an output or
// the GUI.
package whip

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"chalkcast/engine"
	"chalkcast/internal/httpapi"
	"chalkcast/internal/rtc"
)

// Source takes WHIP publishers into a hub's streams.
type Source struct {
	hub *engine.Hub
	tr  *rtc.Transport
	log *slog.Logger

	sessions *rtc.Sessions // one per publisher
}

// New returns a WHIP source for hub on tr's ports; Close it to end every
// publisher.
func New(hub *engine.Hub, tr *rtc.Transport, log *slog.Logger) *Source {
	return &Source{hub: hub, tr: tr, log: log.With("component", "whip"), sessions: rtc.NewSessions()}
}

// Close ends every publisher and waits for them.
func (s *Source) Close() { s.sessions.Close() }

// Offer answers a WHIP offer for the stream whose key is key: 201 with the
// SDP answer and the session's Location (DELETE ends the publishing).
// Refusals are JSON errors: 401 for a wrong key (logged without the key),
// 409 for a stream that takes no pushes or already has a publisher, 406
// for an offer without H.264 video.
func (s *Source) Offer(w http.ResponseWriter, r *http.Request, key string) {
	st, ok := s.hub.ByKey(key)
	if !ok || key == "" {
		// The key itself is a secret: never log it.
		s.log.Warn("publish refused: wrong or missing stream key", "remote", r.RemoteAddr)
		w.Header().Set("WWW-Authenticate", `Bearer realm="chalkcast"`)
		httpapi.Error(w, http.StatusUnauthorized, "wrong stream key")
		return
	}
	offer, ok := rtc.ReadOffer(w, r)
	if !ok {
		return
	}
	if t := st.Config().Source.Type; t != engine.PushSource {
		s.log.Warn("publish refused: the stream does not take pushes", "stream", st.Name(), "source", t)
		httpapi.Error(w, http.StatusConflict, fmt.Sprintf("stream %s takes its media from its %s source, not from a push", st.Name(), t))
		return
	}
	p, err := st.Publish(engine.SourceInfo{Protocol: "whip", Remote: r.RemoteAddr})
	if err != nil {
		s.log.Warn("publish refused", "stream", st.Name(), "err", err)
		code := http.StatusConflict
		if errors.Is(err, engine.ErrNotFound) {
			code = http.StatusNotFound
		}
		httpapi.Error(w, code, err.Error())
		return
	}
	pub, answer, err := s.newPublisher(r.Context(), st, p, offer, r.RemoteAddr)
	if err != nil {
		p.Close(nil)
		code := http.StatusInternalServerError
		if errors.Is(err, rtc.ErrOffer) {
			code = http.StatusNotAcceptable
		} else {
			s.log.Error("WHIP publisher", "stream", st.Name(), "err", err)
		}
		httpapi.Error(w, code, err.Error())
		return
	}
	id := s.sessions.Run(pub.pc.Stop, pub.run)
	rtc.Answered(w, answer, "/whip/"+id)
}

// End ends publishing session id (DELETE on its Location): 200, or 404
// for a session that is not there (any more).
func (s *Source) End(w http.ResponseWriter, _ *http.Request, id string) {
	if !s.sessions.End(id) {
		httpapi.Error(w, http.StatusNotFound, "no such WHIP session")
		return
	}
	w.WriteHeader(http.StatusOK)
}
