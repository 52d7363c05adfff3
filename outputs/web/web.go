// Package web is Chalkcast's single HTTP port: the JSON API under /api/v1,
// the viewer endpoints (/live/<name>.flv, /live/<name>/index.m3u8), the
// share page (/watch/<name>) with its embedded player scripts, the list of
// live streams (/) and QR codes (/qr/<name>.png). It builds the URLs a
// teacher shares.
package web

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"chalkcast/engine"
	"chalkcast/outputs/hls"
	"chalkcast/outputs/httpflv"
	"chalkcast/outputs/push"
	"chalkcast/outputs/record"
)

// Config configures the HTTP side.
type Config struct {
	// AdminToken, if set, lets a non-loopback client change things with
	// "Authorization: Bearer <token>". Loopback clients are always admins.
	AdminToken string
	// PublicURL overrides the base of shared URLs (e.g.
	// "http://192.168.1.20:8080"); by default the LAN address is used.
	PublicURL string
	// HTTPPort and RTMPPort are the ports the listeners really use;
	// RTSPPort too, 0 when RTSP is off.
	HTTPPort, RTMPPort, RTSPPort int
	// SourceTypes are the source kinds this build can create.
	SourceTypes []string
	// CheckSource, if set, validates a new stream's source (its options);
	// errors wrapping engine.ErrInvalid are shown to the client.
	CheckSource func(engine.Source) error
	// TestSource, if set, tries a source before a stream is made with it
	// (an IP camera's "Test connection").
	TestSource func(context.Context, engine.Source) (*engine.SourceReport, error)
	// Devices, if set, lists the capture devices and encoding presets
	// for /api/v1/devices; rescan looks for newly connected ones.
	Devices func(rescan bool) any
	// Version is shown by /api/v1/server.
	Version string
	// Preview, if set, returns the newest picture of a live stream as a
	// JPEG, waiting up to wait for one; it fails with engine.ErrNotFound or
	// engine.ErrNotLive when there is nothing to show.
	Preview func(ctx context.Context, name string, wait time.Duration) ([]byte, error)
}

// Outputs are the viewer endpoints the server routes to.
type Outputs struct {
	FLV *httpflv.Output
	HLS *hls.Output
	// Rec records streams; nil serves no recording endpoints.
	Rec *record.Recorder
	// Push sends streams on to other servers; nil serves no push endpoints.
	Push *push.Pusher
}

// Server serves the API and the viewer endpoints.
type Server struct {
	hub   *engine.Hub
	out   Outputs
	cfg   Config
	log   *slog.Logger
	mux   *http.ServeMux
	share *share
}

// New returns the HTTP handler of Chalkcast.
func New(hub *engine.Hub, out Outputs, cfg Config, log *slog.Logger) (*Server, error) {
	sh, err := newShare()
	if err != nil {
		return nil, err
	}
	s := &Server{hub: hub, out: out, cfg: cfg, log: log.With("component", "web"), mux: http.NewServeMux(), share: sh}
	s.mux.HandleFunc("GET /{$}", s.index)
	s.mux.HandleFunc("GET /watch/{name}", s.watch)
	s.mux.HandleFunc("GET /assets/player/{file}", s.asset)
	s.mux.HandleFunc("GET /qr/{file}", s.qr)
	s.mux.HandleFunc("GET /live/{file}", s.live)
	s.mux.HandleFunc("GET /live/{name}/{file}", s.hls)
	s.mux.HandleFunc("OPTIONS /live/{file}", preflight)
	s.mux.HandleFunc("OPTIONS /live/{name}/{file}", preflight)
	s.mux.HandleFunc("GET /api/v1/server", s.server)
	s.mux.HandleFunc("GET /api/v1/stats", s.stats)
	s.mux.HandleFunc("GET /api/v1/streams", s.list)
	s.mux.HandleFunc("POST /api/v1/streams", s.admin(s.create))
	s.mux.HandleFunc("GET /api/v1/streams/{name}", s.get)
	s.mux.HandleFunc("DELETE /api/v1/streams/{name}", s.admin(s.remove))
	s.mux.HandleFunc("POST /api/v1/streams/{name}/key", s.admin(s.resetKey))
	s.mux.HandleFunc("POST /api/v1/streams/{name}/audio", s.admin(s.setAudio))
	if cfg.Preview != nil {
		s.mux.HandleFunc("GET /api/v1/streams/{name}/preview.jpg", s.admin(s.preview))
	}
	s.mux.HandleFunc("GET /api/v1/devices", s.admin(s.devices))
	s.mux.HandleFunc("POST /api/v1/sources/test", s.admin(s.testSource))
	if out.Push != nil {
		s.mux.HandleFunc("POST /api/v1/streams/{name}/pushes", s.admin(s.addPush))
		s.mux.HandleFunc("DELETE /api/v1/streams/{name}/pushes/{id}", s.admin(s.removePush))
	}
	if out.Rec != nil {
		s.mux.HandleFunc("POST /api/v1/streams/{name}/recording", s.admin(s.startRecording))
		s.mux.HandleFunc("DELETE /api/v1/streams/{name}/recording", s.admin(s.stopRecording))
		s.mux.HandleFunc("PUT /api/v1/streams/{name}/recording/settings", s.admin(s.recordingSettings))
		s.mux.HandleFunc("GET /api/v1/recordings", s.admin(s.recordings))
		s.mux.HandleFunc("GET /api/v1/recordings/{stream}/{file}", s.admin(s.download))
		s.mux.HandleFunc("DELETE /api/v1/recordings/{stream}/{file}", s.admin(s.deleteRecording))
	}
	s.mux.HandleFunc("POST /api/v1/streams/{name}/stop", s.admin(s.stopStart(true)))
	s.mux.HandleFunc("POST /api/v1/streams/{name}/start", s.admin(s.stopStart(false)))
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		Error(w, http.StatusNotFound, "no such API endpoint: "+r.Method+" "+r.URL.Path)
	})
	return s, nil
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/api/") && !formProof(r) && !s.hasToken(r) {
		Error(w, http.StatusUnsupportedMediaType, "changes need a JSON request: send Content-Type: application/json (or the admin token)")
		return
	}
	s.mux.ServeHTTP(w, r)
}

// formProof reports whether r is a request no HTML form can make: a form
// on any web site may POST text/plain, urlencoded or multipart bodies here
// through the teacher's browser without asking (and an old browser sends
// no Origin), while a JSON body from another site needs a CORS preflight,
// which the API never grants. Forms only GET or POST, so DELETE passes.
func formProof(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodDelete:
		return true
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/json"
}

// Error writes {"error": msg} with status.
func Error(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func preflight(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "GET, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Range, Content-Type")
	h.Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) live(w http.ResponseWriter, r *http.Request) {
	file := r.PathValue("file")
	if name, ok := strings.CutSuffix(file, ".flv"); ok {
		s.out.FLV.Serve(w, r, name, Error)
		return
	}
	if name, ok := hls.PathIsHLS(file); ok {
		// /live/<name>.m3u8, as nginx-rtmp and livego publish it.
		target := "/live/" + url.PathEscape(name) + "/index.m3u8"
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, target, http.StatusFound)
		return
	}
	Error(w, http.StatusNotFound, "unknown live URL: use /live/<name>.flv or /live/<name>/index.m3u8")
}

func (s *Server) hls(w http.ResponseWriter, r *http.Request) {
	s.out.HLS.Serve(w, r, r.PathValue("name"), r.PathValue("file"), Error)
}

// hasToken reports whether r carries the admin token.
func (s *Server) hasToken(r *http.Request) bool {
	tok := s.cfg.AdminToken
	if tok == "" {
		return false
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(tok)) == 1
}

// isAdmin: loopback clients, or the admin token.
func (s *Server) isAdmin(r *http.Request) bool {
	if s.hasToken(r) {
		return true
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return false
	}
	// A page whose domain an attacker re-points at 127.0.0.1 (DNS
	// rebinding) also reaches us from loopback, but with its own name in
	// Host: loopback is trusted only when it asked for a loopback name.
	return isLoopbackHost(r.Host)
}

func isLoopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// admin guards endpoints that change things. A browser page from another
// origin must not drive the API through the teacher's browser, so a
// request carrying a foreign Origin is refused even from loopback.
func (s *Server) admin(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.isAdmin(r) {
			Error(w, http.StatusForbidden, "changes are allowed from this computer or with the admin token only")
			return
		}
		if o := r.Header.Get("Origin"); o != "" {
			if u, err := url.Parse(o); err != nil || u.Host != r.Host {
				Error(w, http.StatusForbidden, "cross-origin requests may not change streams")
				return
			}
		}
		next(w, r)
	}
}

// Base returns the host (no port) shared URLs use and the HTTP base URL.
func (s *Server) Base() (host, httpBase string) {
	if s.cfg.PublicURL != "" {
		if u, err := url.Parse(s.cfg.PublicURL); err == nil && u.Host != "" {
			return u.Hostname(), strings.TrimSuffix(u.String(), "/")
		}
	}
	host = "127.0.0.1"
	if addrs := LANAddresses(); len(addrs) > 0 {
		host = addrs[0].IP
	}
	return host, "http://" + net.JoinHostPort(host, strconv.Itoa(s.cfg.HTTPPort))
}

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

// anonymousError is the last error as clients that are not admins see it.
const anonymousError = "the stream's source is not available at the moment"

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
		if cfg.Source.Type == "rtmp" {
			v.Publish = &Publish{Server: rtmpBase, Key: cfg.Key, URL: rtmpBase + "/" + cfg.Key}
		}
	} else {
		v.ViewerList = nil // remote addresses are the teacher's business
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
	Name      string                 `json:"name"`
	Title     string                 `json:"title"`
	Source    engine.Source          `json:"source"`
	Recording engine.RecordingConfig `json:"recording"`
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	var req createRequest
	if !decodeBody(w, r, 64<<10, &req, "a valid stream description", false) {
		return
	}
	if req.Source.Type == "" {
		req.Source.Type = "rtmp"
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
	st, err := s.hub.Create(engine.StreamConfig{Name: req.Name, Title: req.Title, Source: req.Source, Recording: req.Recording})
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
	var t engine.PushTarget
	if !decodeBody(w, r, 8<<10, &t, "a valid push target", false) {
		return
	}
	t, err := s.hub.AddPush(r.PathValue("name"), t)
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
	if err := s.hub.RemovePush(r.PathValue("name"), r.PathValue("id")); err != nil {
		s.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// startRecording records a live stream now; the body may set the format
// and split ({"format":"flv","split_minutes":30}), else the stream's
// setting applies.
func (s *Server) startRecording(w http.ResponseWriter, r *http.Request) {
	var opt *engine.RecordingConfig
	if r.ContentLength != 0 {
		var o *engine.RecordingConfig
		if !decodeBody(w, r, 4<<10, &o, "a valid recording setting", true) {
			return
		}
		opt = o
	}
	st, err := s.out.Rec.Start(r.PathValue("name"), opt)
	switch {
	case errors.Is(err, record.ErrNotLive), errors.Is(err, record.ErrRecording):
		Error(w, http.StatusConflict, err.Error())
	case err != nil:
		s.fail(w, err)
	default:
		writeJSON(w, http.StatusCreated, st)
	}
}

// stopRecording stops a recording and answers with its (last) file.
func (s *Server) stopRecording(w http.ResponseWriter, r *http.Request) {
	f, err := s.out.Rec.Stop(r.PathValue("name"))
	switch {
	case errors.Is(err, record.ErrNotRecording):
		Error(w, http.StatusNotFound, err.Error())
	case err != nil:
		Error(w, http.StatusInternalServerError, err.Error())
	default:
		writeJSON(w, http.StatusOK, f)
	}
}

// recordingSettings saves whether and how a stream is recorded.
func (s *Server) recordingSettings(w http.ResponseWriter, r *http.Request) {
	var rc engine.RecordingConfig
	if !decodeBody(w, r, 4<<10, &rc, "a valid recording setting", false) {
		return
	}
	if err := s.hub.SetRecording(r.PathValue("name"), rc); err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rc)
}

// recordings lists the recordings (admins only: they are the class).
func (s *Server) recordings(w http.ResponseWriter, _ *http.Request) {
	files, err := s.out.Rec.List()
	if err != nil {
		s.fail(w, err)
		return
	}
	if files == nil {
		files = []record.File{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"recordings": files, "folder": s.out.Rec.Dir()})
}

// download serves one recording file (admins only); nothing outside the
// recordings folder, and nothing but recordings, can be named.
func (s *Server) download(w http.ResponseWriter, r *http.Request) {
	f, err := s.out.Rec.Open(r.PathValue("stream"), r.PathValue("file"))
	if err != nil {
		Error(w, http.StatusNotFound, "no such recording")
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		Error(w, http.StatusNotFound, "no such recording")
		return
	}
	name := filepath.Base(f.Name())
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	http.ServeContent(w, r, name, st.ModTime(), f)
}

// deleteRecording removes one finished recording (admins only), with the
// same names as download; a file still being written is a conflict.
func (s *Server) deleteRecording(w http.ResponseWriter, r *http.Request) {
	stream, file := r.PathValue("stream"), r.PathValue("file")
	switch err := s.out.Rec.Delete(stream, file); {
	case errors.Is(err, os.ErrNotExist):
		Error(w, http.StatusNotFound, "no such recording")
	case errors.Is(err, record.ErrWriting):
		Error(w, http.StatusConflict, err.Error())
	case err != nil:
		s.fail(w, err)
	default:
		writeJSON(w, http.StatusOK, map[string]string{"deleted": file, "stream": stream})
	}
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
