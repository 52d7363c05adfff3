// Package webrtc serves live streams to WebRTC players with WHEP
// (POST /live/<name>/whep): the share page's lowest-latency path.
//
// H.264 goes out as it came in, cut into RTP payloads once per packet
// (engine.Packet.Wire) and shared by every viewer; Opus and G.711 too.
// AAC, which browsers do not play over WebRTC, is transcoded to Opus once
// per stream, however many viewers listen. Per viewer there is only its
// cursor, the RTP header, SRTP and the socket write: a viewer that cannot
// keep up is dropped to the next keyframe by the engine, and a lost picture
// (a PLI from the player) asks the source for a keyframe where it can make
// one.
// Like every output it only reads streams from the engine: it must not
// import a source or the GUI.
package webrtc

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"

	"chalkcast/engine"
	"chalkcast/internal/httpapi"
	"chalkcast/internal/rtc"
)

// Output serves WHEP viewers of a hub.
type Output struct {
	hub *engine.Hub
	tr  *rtc.Transport
	log *slog.Logger

	sessions *rtc.Sessions // one per viewer

	mu    sync.Mutex
	feeds map[*engine.Stream]*feed // AAC transcoded to Opus, per stream with listeners
}

// New returns an output for hub on tr's ports; Close it to end every
// viewer.
func New(hub *engine.Hub, tr *rtc.Transport, log *slog.Logger) *Output {
	return &Output{hub: hub, tr: tr, log: log.With("component", "whep"), sessions: rtc.NewSessions(), feeds: map[*engine.Stream]*feed{}}
}

// Close ends every viewer and waits for them.
func (o *Output) Close() { o.sessions.Close() }

// Offer answers a WHEP offer for stream name: 201 with the SDP answer and
// the session's Location. Refusals are JSON errors: 404 for an unknown or
// idle stream, 406 for a stream or an offer without a codec in common,
// 503 when a viewer limit is reached.
func (o *Output) Offer(w http.ResponseWriter, r *http.Request, name string) {
	offer, ok := rtc.ReadOffer(w, r)
	if !ok {
		return
	}
	s, ok := o.hub.Get(name)
	if !ok {
		httpapi.Error(w, http.StatusNotFound, fmt.Sprintf("no stream named %q", name))
		return
	}
	v, err := s.Join(engine.ViewerInfo{Protocol: "webrtc", Remote: r.RemoteAddr, Agent: r.UserAgent()})
	if err != nil {
		httpapi.Error(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	s.AwaitLive(r.Context(), engine.AwaitStart) // an on-demand camera connects now
	vw, err := o.newViewer(s, v)
	if err != nil {
		v.Leave()
		o.refuse(w, name, err)
		return
	}
	answer, err := rtc.Answer(r.Context(), vw.pc, offer)
	if err != nil {
		vw.close()
		o.refuse(w, name, err)
		return
	}
	id := o.sessions.Run(vw.end, vw.run)
	rtc.Answered(w, answer, r.URL.Path+"/"+id)
}

// errCodec is a stream whose codecs WebRTC cannot carry.
var errCodec = errors.New("webrtc plays H.264 video with Opus, AAC or G.711 sound")

// errBFrames is a stream whose pictures come out of order (B-frames, an
// encoder's default such as OBS's): browsers' WebRTC players cannot show
// them, so the share page plays HTTP-FLV instead.
var errBFrames = fmt.Errorf("%w, without B-frames: this stream has them (OBS: set the x264 options to bframes=0)", errCodec)

func (o *Output) refuse(w http.ResponseWriter, name string, err error) {
	switch {
	case errors.Is(err, engine.ErrNotLive):
		httpapi.Error(w, http.StatusNotFound, fmt.Sprintf("stream %s is not live", name))
	case errors.Is(err, errCodec), errors.Is(err, rtc.ErrOffer):
		httpapi.Error(w, http.StatusNotAcceptable, err.Error())
	default:
		o.log.Error("WHEP viewer", "stream", name, "err", err)
		httpapi.Error(w, http.StatusInternalServerError, err.Error())
	}
}

// End ends the WHEP session id (DELETE on its Location): 200, or 404 for a
// session that is not there (any more).
func (o *Output) End(w http.ResponseWriter, _ *http.Request, id string) {
	if !o.sessions.End(id) {
		httpapi.Error(w, http.StatusNotFound, "no such WHEP session")
		return
	}
	w.WriteHeader(http.StatusOK)
}
