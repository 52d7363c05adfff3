package web

// The JSON API under /api/v1: streams, their sources, pushes and keys.

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"chalkcast/engine"
	"chalkcast/outputs/push"
	"chalkcast/outputs/record"
)

// URLs are the addresses viewers use. Watch is the one to share.
type URLs struct {
	Watch string `json:"watch"`
	QR    string `json:"qr"`
	FLV   string `json:"flv"`
	HLS   string `json:"hls"`
	RTMP  string `json:"rtmp"`
	RTSP  string `json:"rtsp,omitempty"`
}

// Publish tells OBS, ffmpeg or a phone where to send a stream.
type Publish struct {
	Server string `json:"server"`
	Key    string `json:"key"`
	URL    string `json:"url"`
}

// StreamView is a stream as the API shows it.
type StreamView struct {
	engine.StreamStats
	Publish *Publish `json:"publish,omitempty"` // admins only: the key is a secret
	// Recording is the stream's recording state, when recording is on.
	Recording *record.Status `json:"recording_status,omitempty"`
	// Pushes are the servers the stream is sent on to (admins only).
	Pushes []push.Status `json:"pushes,omitempty"`
	URLs   URLs          `json:"urls"`
}

// view shows a stream; host and httpBase come from Base, looked up once
// per request (it enumerates the network interfaces).
func (s *Server) view(st *engine.Stream, host, httpBase string, admin bool, opt engine.StatsOptions) StreamView {
	rtmpBase := "rtmp://" + net.JoinHostPort(host, strconv.Itoa(s.cfg.RTMPPort)) + "/live"
	name := st.Name()
	v := StreamView{
		StreamStats: st.Stats(opt),
		URLs: URLs{
			Watch: httpBase + "/watch/" + name,
			QR:    httpBase + "/qr/" + name + ".png",
			FLV:   httpBase + "/live/" + name + ".flv",
			HLS:   httpBase + "/live/" + name + "/index.m3u8",
			RTMP:  rtmpBase + "/" + name,
			RTSP:  s.rtspURL(host, name),
		},
	}
	if s.out.Rec != nil {
		if rs := s.out.Rec.Status(name); admin && (rs.Active || rs.Error != "") {
			v.Recording = &rs
		} else if rs.Active {
			v.Recording = &record.Status{Active: true} // students may know, not where it goes
		}
	}
	if admin && s.out.Push != nil {
		v.Pushes = s.out.Push.Status(name)
	}
	if admin {
		cfg := st.Config()
		if cfg.Source.Type == engine.PushSource {
			v.Publish = &Publish{Server: rtmpBase, Key: cfg.Key, URL: rtmpBase + "/" + cfg.Key}
		}
	} else {
		v.ViewerList = nil // remote addresses are the teacher's business
		v.Publisher = nil  // and the sender's
		v.Source.URL = ""  // so is where a camera is
		if v.LastError != "" {
			// the detail names cameras and servers by their addresses
			v.LastError = anonymousError
		}
	}
	return v
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	admin := s.isAdmin(r)
	host, httpBase := s.Base()
	out := []StreamView{}
	for _, st := range s.hub.Streams() {
		out = append(out, s.view(st, host, httpBase, admin, engine.StatsOptions{}))
	}
	writeJSON(w, http.StatusOK, map[string]any{"streams": out})
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	st, ok := s.hub.Get(r.PathValue("name"))
	if !ok {
		Error(w, http.StatusNotFound, fmt.Sprintf("no stream named %q", r.PathValue("name")))
		return
	}
	q := r.URL.Query()
	if q.Get("watch") != "" {
		st.Demand() // the share page is open: an on-demand camera connects
	}
	admin := s.isAdmin(r)
	host, httpBase := s.Base()
	writeJSON(w, http.StatusOK, s.view(st, host, httpBase, admin, engine.StatsOptions{
		Viewers: admin, History: q.Get("history") != "",
	}))
}

type createRequest struct {
	Name      string          `json:"name"`
	Title     string          `json:"title"`
	Source    engine.Source   `json:"source"`
	Recording record.Settings `json:"recording"`
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	var req createRequest
	if !decodeBody(w, r, 64<<10, &req, "a valid stream description", false) {
		return
	}
	if req.Source.Type == "" {
		req.Source.Type = engine.PushSource
	}
	if !slices.Contains(s.cfg.SourceTypes, req.Source.Type) {
		Error(w, http.StatusBadRequest, fmt.Sprintf("source type %q is not supported (supported: %s)",
			req.Source.Type, strings.Join(s.cfg.SourceTypes, ", ")))
		return
	}
	if s.cfg.CheckSource != nil {
		if err := s.cfg.CheckSource(req.Source); err != nil {
			s.fail(w, err)
			return
		}
	}
	sc := engine.StreamConfig{Name: req.Name, Title: req.Title, Source: req.Source}
	if req.Recording != (record.Settings{}) {
		section, err := req.Recording.Encode()
		if err != nil {
			s.fail(w, err)
			return
		}
		sc.Outputs = map[string]json.RawMessage{record.Section: section}
	}
	st, err := s.hub.Create(sc)
	if err != nil {
		s.fail(w, err)
		return
	}
	s.log.Info("stream created", "stream", st.Name(), "source", req.Source.Type)
	host, httpBase := s.Base()
	writeJSON(w, http.StatusCreated, s.view(st, host, httpBase, true, engine.StatsOptions{}))
}

// stopStart stops or starts a stream and answers with its new view.
func (s *Server) stopStart(stop bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		if err := s.hub.SetStopped(name, stop); err != nil {
			s.fail(w, err)
			return
		}
		s.log.Info("stream stopped or started", "stream", name, "stopped", stop)
		s.answerView(w, name)
	}
}

// devices lists the capture devices and presets (admins only: device
// names say what is plugged into the teacher's machine).
func (s *Server) devices(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Devices == nil {
		Error(w, http.StatusNotFound, "this server has no capture devices")
		return
	}
	writeJSON(w, http.StatusOK, s.cfg.Devices(r.URL.Query().Get("rescan") == "1"))
}

// testSource tries a source (admins only: it makes the server connect
// wherever it is told) and answers what it found, or 422 with why not.
func (s *Server) testSource(w http.ResponseWriter, r *http.Request) {
	if s.cfg.TestSource == nil {
		Error(w, http.StatusNotFound, "this server cannot test sources")
		return
	}
	var src engine.Source
	if !decodeBody(w, r, 16<<10, &src, "a valid source", false) {
		return
	}
	rep, err := s.cfg.TestSource(r.Context(), src)
	switch {
	case errors.Is(err, engine.ErrInvalid), errors.Is(err, engine.ErrNoTest):
		Error(w, http.StatusBadRequest, err.Error())
	case err != nil:
		Error(w, http.StatusUnprocessableEntity, err.Error())
	default:
		writeJSON(w, http.StatusOK, rep)
	}
}

func (s *Server) rtspURL(host, name string) string {
	if s.cfg.RTSPPort == 0 {
		return ""
	}
	return "rtsp://" + net.JoinHostPort(host, strconv.Itoa(s.cfg.RTSPPort)) + "/live/" + name
}

// fail maps engine errors to HTTP statuses.
func (s *Server) fail(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, engine.ErrInvalid):
		Error(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, engine.ErrExists):
		Error(w, http.StatusConflict, err.Error())
	case errors.Is(err, engine.ErrNotFound):
		Error(w, http.StatusNotFound, err.Error())
	case errors.Is(err, engine.ErrLimit):
		Error(w, http.StatusServiceUnavailable, err.Error())
	default:
		s.log.Error("request failed", "err", err)
		Error(w, http.StatusInternalServerError, err.Error())
	}
}

// addPush adds a server the stream is sent on to:
// {"url":"rtmp://host/app/key","play_url":"https://..."}.
func (s *Server) addPush(w http.ResponseWriter, r *http.Request) {
	var t push.Target
	if !decodeBody(w, r, 8<<10, &t, "a valid push target", false) {
		return
	}
	t, err := s.out.Push.Add(r.PathValue("name"), t)
	if err != nil {
		s.fail(w, err)
		return
	}
	s.log.Info("push added", "stream", r.PathValue("name"), "id", t.ID)
	for _, st := range s.out.Push.Status(r.PathValue("name")) {
		if st.ID == t.ID {
			writeJSON(w, http.StatusCreated, st)
			return
		}
	}
	writeJSON(w, http.StatusCreated, push.Status{ID: t.ID, State: push.StateWaiting})
}

// removePush stops sending the stream to one server.
func (s *Server) removePush(w http.ResponseWriter, r *http.Request) {
	if err := s.out.Push.Remove(r.PathValue("name"), r.PathValue("id")); err != nil {
		s.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) remove(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := s.hub.Delete(name); err != nil {
		s.fail(w, err)
		return
	}
	s.log.Info("stream deleted", "stream", name)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) resetKey(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if _, err := s.hub.ResetKey(name); err != nil {
		s.fail(w, err)
		return
	}
	st, ok := s.hub.Get(name)
	if !ok {
		Error(w, http.StatusNotFound, fmt.Sprintf("no stream named %q", name))
		return
	}
	s.log.Info("stream key reset", "stream", name)
	host, httpBase := s.Base()
	writeJSON(w, http.StatusOK, s.view(st, host, httpBase, true, engine.StatsOptions{}))
}

func (s *Server) stats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.hub.Stats())
}

func (s *Server) server(w http.ResponseWriter, _ *http.Request) {
	_, httpBase := s.Base()
	writeJSON(w, http.StatusOK, map[string]any{
		"name":         "Chalkcast",
		"version":      s.cfg.Version,
		"http_port":    s.cfg.HTTPPort,
		"rtmp_port":    s.cfg.RTMPPort,
		"rtsp_port":    s.cfg.RTSPPort,
		"base_url":     httpBase,
		"addresses":    LANAddresses(),
		"source_types": s.cfg.SourceTypes,
	})
}
