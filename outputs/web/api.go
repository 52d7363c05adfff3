package web

// The JSON API under /api/v1: streams, their sources, pushes and keys.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"chalkcast/engine"
	"chalkcast/internal/httpapi"
)

// URLs are the addresses viewers use. Watch is the one to share.
type URLs struct {
	Watch string `json:"watch"`
	QR    string `json:"qr"`
	FLV   string `json:"flv"`
	HLS   string `json:"hls"`
	WHEP  string `json:"whep,omitempty"` // WebRTC players POST their offer here
	RTMP  string `json:"rtmp"`
	RTSP  string `json:"rtsp,omitempty"`
}

// Publish tells OBS, ffmpeg or a phone where to send a stream.
type Publish struct {
	Server string `json:"server"`
	Key    string `json:"key"`
	URL    string `json:"url"`
	// WHIP is where WebRTC publishers (OBS's WHIP service, a browser)
	// POST their offer, the key in the path.
	WHIP string `json:"whip,omitempty"`
}

// StreamView is a stream as the API shows it.
type StreamView struct {
	engine.StreamStats
	Publish *Publish `json:"publish,omitempty"` // admins only: the key is a secret
	URLs    URLs     `json:"urls"`
	// RewindS is how far back the share page may rewind it now, seconds.
	RewindS float64 `json:"rewind_s,omitempty"`
	// Parts are the fields the outputs' parts add (recording_status,
	// pushes), by name, beside the others.
	Parts map[string]any `json:"-"`
}

// MarshalJSON writes v with its parts' fields.
func (v StreamView) MarshalJSON() ([]byte, error) {
	type fields StreamView // without this method
	b, err := json.Marshal(fields(v))
	if err != nil || len(v.Parts) == 0 {
		return b, err
	}
	parts, err := json.Marshal(v.Parts)
	if err != nil {
		return nil, fmt.Errorf("view of %s: %w", v.Name, err)
	}
	// both are objects: {...} and {...} make {..., ...}
	return append(append(b[:len(b)-1], ','), parts[1:]...), nil
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
	if s.out.WHEP != nil {
		v.URLs.WHEP = httpBase + "/live/" + name + "/whep"
	}
	if v.State.Active() {
		v.RewindS = s.out.HLS.Window(name).Seconds()
	}
	for _, p := range s.out.Parts {
		p.View(name, admin, func(field string, pv any) {
			if v.Parts == nil {
				v.Parts = map[string]any{}
			}
			v.Parts[field] = pv
		})
	}
	if admin {
		cfg := st.Config()
		if cfg.Source.Type == engine.PushSource {
			v.Publish = &Publish{Server: rtmpBase, Key: cfg.Key, URL: rtmpBase + "/" + cfg.Key}
			if s.out.WHIP != nil {
				v.Publish.WHIP = httpBase + "/live/" + cfg.Key + "/whip"
			}
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
	httpapi.JSON(w, http.StatusOK, map[string]any{"streams": out})
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	st, ok := s.hub.Get(r.PathValue("name"))
	if !ok {
		httpapi.Error(w, http.StatusNotFound, fmt.Sprintf("no stream named %q", r.PathValue("name")))
		return
	}
	q := r.URL.Query()
	if q.Get("watch") != "" {
		st.Demand() // the share page is open: an on-demand camera connects
	}
	admin := s.isAdmin(r)
	host, httpBase := s.Base()
	httpapi.JSON(w, http.StatusOK, s.view(st, host, httpBase, admin, engine.StatsOptions{
		Viewers: admin, History: q.Get("history") != "",
	}))
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	var fields map[string]json.RawMessage
	if !httpapi.Decode(w, r, 64<<10, &fields, "a valid stream description", false) {
		return
	}
	sc, err := s.newStream(fields)
	if err != nil {
		httpapi.Fail(w, s.log, err)
		return
	}
	st, err := s.hub.Create(sc)
	if err != nil {
		httpapi.Fail(w, s.log, err)
		return
	}
	s.log.Info("stream created", "stream", st.Name(), "source", sc.Source.Type)
	host, httpBase := s.Base()
	httpapi.JSON(w, http.StatusCreated, s.view(st, host, httpBase, true, engine.StatsOptions{}))
}

// newStream reads a new stream's description: its name, title and source
// ({"type":"rtmp"} when none is given), and the settings of the parts that
// take theirs, each under its section's name.
func (s *Server) newStream(fields map[string]json.RawMessage) (engine.StreamConfig, error) {
	var sc engine.StreamConfig
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		var err error
		switch k {
		case "name":
			err = decodeField(fields[k], &sc.Name)
		case "title":
			err = decodeField(fields[k], &sc.Title)
		case "source":
			err = decodeField(fields[k], &sc.Source)
		default:
			err = s.newSection(&sc, k, fields[k])
		}
		if err != nil {
			return sc, fmt.Errorf("%w: stream description, field %q: %w", engine.ErrInvalid, k, err)
		}
	}
	return sc, s.checkSource(&sc.Source)
}

// checkSource validates a new or replacing source: {"type":"rtmp"} when
// it names none, else one of this build's kinds with options its kind
// takes.
func (s *Server) checkSource(src *engine.Source) error {
	if src.Type == "" {
		src.Type = engine.PushSource
	}
	if !slices.Contains(s.cfg.SourceTypes, src.Type) {
		return fmt.Errorf("%w: source type %q is not supported (supported: %s)",
			engine.ErrInvalid, src.Type, strings.Join(s.cfg.SourceTypes, ", "))
	}
	if s.cfg.CheckSource != nil {
		return s.cfg.CheckSource(*src)
	}
	return nil
}

// newSection gives field to the part whose section it names.
func (s *Server) newSection(sc *engine.StreamConfig, field string, raw json.RawMessage) error {
	for _, p := range s.out.Parts {
		if sp, ok := p.(Sectioned); ok && sp.Section() == field {
			sec, err := sp.NewSection(raw)
			if err != nil || sec == nil {
				return err
			}
			if sc.Outputs == nil {
				sc.Outputs = map[string]json.RawMessage{}
			}
			sc.Outputs[field] = sec
			return nil
		}
	}
	return errors.New("there is no such field")
}

// decodeField reads one field of a request, refusing fields v does not
// have.
func decodeField(raw json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// stopStart stops or starts a stream and answers with its new view.
func (s *Server) stopStart(stop bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		if err := s.hub.SetStopped(name, stop); err != nil {
			httpapi.Fail(w, s.log, err)
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
		httpapi.Error(w, http.StatusNotFound, "this server has no capture devices")
		return
	}
	httpapi.JSON(w, http.StatusOK, s.cfg.Devices(r.URL.Query().Get("rescan") == "1"))
}

// testSource tries a source (admins only: it makes the server connect
// wherever it is told) and answers what it found, or 422 with why not.
func (s *Server) testSource(w http.ResponseWriter, r *http.Request) {
	if s.cfg.TestSource == nil {
		httpapi.Error(w, http.StatusNotFound, "this server cannot test sources")
		return
	}
	var src engine.Source
	if !httpapi.Decode(w, r, 16<<10, &src, "a valid source", false) {
		return
	}
	rep, err := s.cfg.TestSource(r.Context(), src)
	switch {
	case errors.Is(err, engine.ErrInvalid), errors.Is(err, engine.ErrNoTest):
		httpapi.Error(w, http.StatusBadRequest, err.Error())
	case err != nil:
		httpapi.Error(w, http.StatusUnprocessableEntity, err.Error())
	default:
		httpapi.JSON(w, http.StatusOK, rep)
	}
}

func (s *Server) rtspURL(host, name string) string {
	if s.cfg.RTSPPort == 0 {
		return ""
	}
	return "rtsp://" + net.JoinHostPort(host, strconv.Itoa(s.cfg.RTSPPort)) + "/live/" + name
}

func (s *Server) remove(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := s.hub.Delete(name); err != nil {
		httpapi.Fail(w, s.log, err)
		return
	}
	s.log.Info("stream deleted", "stream", name)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) resetKey(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if _, err := s.hub.ResetKey(name); err != nil {
		httpapi.Fail(w, s.log, err)
		return
	}
	st, ok := s.hub.Get(name)
	if !ok {
		httpapi.Error(w, http.StatusNotFound, fmt.Sprintf("no stream named %q", name))
		return
	}
	s.log.Info("stream key reset", "stream", name)
	host, httpBase := s.Base()
	httpapi.JSON(w, http.StatusOK, s.view(st, host, httpBase, true, engine.StatsOptions{}))
}

func (s *Server) stats(w http.ResponseWriter, _ *http.Request) {
	httpapi.JSON(w, http.StatusOK, s.hub.Stats())
}

func (s *Server) server(w http.ResponseWriter, _ *http.Request) {
	_, httpBase := s.Base()
	httpapi.JSON(w, http.StatusOK, map[string]any{
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
