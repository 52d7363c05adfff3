// Package web is Chalkcast's single HTTP port: the JSON API under /api/v1,
// the viewer endpoints (/live/<name>.flv, /live/<name>/index.m3u8), the
// share page (/watch/<name>) with its embedded player scripts, the list of
// live streams (/) and QR codes (/qr/<name>.png). It builds the URLs a
// teacher shares.
// It must not import a source, another output or the GUI: sources come in
// through Config (CheckSource, TestSource, Devices), outputs through
// Outputs (the viewer outputs, and the parts that serve their own API
// endpoints, such as recording and pushes).
package web

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"chalkcast/engine"
	"chalkcast/internal/httpapi"
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

// FLV serves HTTP-FLV viewers (outputs/httpflv).
type FLV interface {
	Serve(w http.ResponseWriter, r *http.Request, name string)
}

// HLS serves HLS playlists and segments (outputs/hls); Window is how far
// back a student may rewind stream name now (0: not at all).
type HLS interface {
	Serve(w http.ResponseWriter, r *http.Request, name, file string)
	Window(name string) time.Duration
}

// A Part is an output with its own piece of the API (recording, pushes):
// its endpoints and its fields in a stream's view.
type Part interface {
	// Routes adds the part's endpoints.
	Routes(httpapi.Routes)
	// View adds the part's fields to the view of stream name, as an admin
	// or as anyone else sees them.
	View(name string, admin bool, add func(field string, v any))
}

// A Sectioned part also takes its settings in a new stream's
// description, in the field named for its section of the stream's
// saved configuration ("recording": {...}).
type Sectioned interface {
	Section() string
	// NewSection checks the settings given and returns what to save, nil
	// for nothing; errors wrapping engine.ErrInvalid are the client's.
	NewSection(json.RawMessage) (json.RawMessage, error)
}

// WHEP serves WebRTC players (outputs/webrtc): Offer answers the offer
// POSTed for stream name, End ends session id (DELETE on its Location).
type WHEP interface {
	Offer(w http.ResponseWriter, r *http.Request, name string)
	End(w http.ResponseWriter, r *http.Request, id string)
}

// WHIP takes WebRTC publishers (sources/whip): Offer answers the offer
// POSTed with stream key key (from the path or the bearer token), End
// ends session id (DELETE on its Location).
type WHIP interface {
	Offer(w http.ResponseWriter, r *http.Request, key string)
	End(w http.ResponseWriter, r *http.Request, id string)
}

// Outputs are what the server routes to; main wires the concrete outputs
// (and the WHIP source) in, so that web imports none.
type Outputs struct {
	FLV FLV
	HLS HLS
	// WHEP, if set, serves WebRTC players.
	WHEP WHEP
	// WHIP, if set, takes WebRTC publishers.
	WHIP WHIP
	// Parts add their endpoints and view fields, in this order.
	Parts []Part
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
	s.mux.HandleFunc("GET /watch/{name}/replay/{id}", s.watch)
	s.mux.HandleFunc("GET /assets/player/{file}", s.asset)
	s.mux.HandleFunc("GET /qr/{file}", s.qr)
	s.mux.HandleFunc("GET /live/{file}", s.live)
	s.mux.HandleFunc("GET /live/{name}/{file}", s.hls)
	s.mux.HandleFunc("OPTIONS /live/{file}", preflight)
	s.mux.HandleFunc("OPTIONS /live/{name}/{file}", preflight)
	if out.WHEP != nil {
		s.mux.HandleFunc("POST /live/{name}/whep", func(w http.ResponseWriter, r *http.Request) {
			out.WHEP.Offer(w, r, r.PathValue("name"))
		})
		s.mux.HandleFunc("DELETE /live/{name}/whep/{id}", func(w http.ResponseWriter, r *http.Request) {
			allowOrigin(w)
			out.WHEP.End(w, r, r.PathValue("id"))
		})
		s.mux.HandleFunc("OPTIONS /live/{name}/whep/{id}", preflight)
	}
	if out.WHIP != nil {
		offer := func(w http.ResponseWriter, r *http.Request) {
			allowOrigin(w)
			out.WHIP.Offer(w, r, bearer(r, r.PathValue("key")))
		}
		s.mux.HandleFunc("POST /live/{key}/whip", offer)
		s.mux.HandleFunc("POST /whip", offer)
		s.mux.HandleFunc("DELETE /whip/{id}", func(w http.ResponseWriter, r *http.Request) {
			allowOrigin(w)
			out.WHIP.End(w, r, r.PathValue("id"))
		})
		s.mux.HandleFunc("OPTIONS /whip", preflight)
		s.mux.HandleFunc("OPTIONS /whip/{id}", preflight)
	}
	s.mux.HandleFunc("GET /api/v1/server", s.server)
	s.mux.HandleFunc("GET /api/v1/stats", s.stats)
	s.mux.HandleFunc("GET /api/v1/streams", s.list)
	s.mux.HandleFunc("POST /api/v1/streams", s.admin(s.create))
	s.mux.HandleFunc("GET /api/v1/streams/{name}", s.get)
	s.mux.HandleFunc("DELETE /api/v1/streams/{name}", s.admin(s.remove))
	s.mux.HandleFunc("POST /api/v1/streams/{name}/key", s.admin(s.resetKey))
	s.mux.HandleFunc("POST /api/v1/streams/{name}/audio", s.admin(s.setAudio))
	s.mux.HandleFunc("PUT /api/v1/streams/{name}/source", s.admin(s.setSource))
	if cfg.Preview != nil {
		s.mux.HandleFunc("GET /api/v1/streams/{name}/preview.jpg", s.admin(s.preview))
	}
	s.mux.HandleFunc("GET /api/v1/devices", s.admin(s.devices))
	s.mux.HandleFunc("POST /api/v1/sources/test", s.admin(s.testSource))
	for _, p := range out.Parts {
		p.Routes(routes{s})
	}
	s.mux.HandleFunc("POST /api/v1/streams/{name}/stop", s.admin(s.stopStart(true)))
	s.mux.HandleFunc("POST /api/v1/streams/{name}/start", s.admin(s.stopStart(false)))
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		httpapi.Error(w, http.StatusNotFound, "no such API endpoint: "+r.Method+" "+r.URL.Path)
	})
	return s, nil
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/api/") && !formProof(r) && !s.hasToken(r) {
		httpapi.Error(w, http.StatusUnsupportedMediaType, "changes need a JSON request: send Content-Type: application/json (or the admin token)")
		return
	}
	s.mux.ServeHTTP(w, r)
}

// formProof reports whether r is a request no HTML form can make: a form
// on any web site may POST text/plain, urlencoded or multipart bodies here
// through the teacher's browser without asking (and an old browser sends
// no Origin), while a JSON body from another site needs a CORS preflight,
// which the API never grants; so does a picture (a cover), which no form
// sends as such. Forms only GET or POST, so DELETE passes.
func formProof(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodDelete:
		return true
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && (mt == "application/json" || mt == "image/jpeg" || mt == "image/png")
}

// preflight lets players and publishing pages on other sites in: GET, and
// the POST and DELETE of WHEP and WHIP (whose only credential is a stream
// key, never an admin's).
func preflight(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	allowOrigin(w)
	h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Range, Content-Type, Authorization")
	h.Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusNoContent)
}

func allowOrigin(w http.ResponseWriter) { w.Header().Set("Access-Control-Allow-Origin", "*") }

// bearer is r's bearer token, else inPath.
func bearer(r *http.Request, inPath string) string {
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return strings.TrimSpace(tok)
	}
	return inPath
}

// hasToken reports whether r carries the admin token.
func (s *Server) hasToken(r *http.Request) bool {
	tok := s.cfg.AdminToken
	if tok == "" {
		return false
	}
	got := bearer(r, "")
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(tok)) == 1
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
			httpapi.Error(w, http.StatusForbidden, "changes are allowed from this computer or with the admin token only")
			return
		}
		if o := r.Header.Get("Origin"); o != "" {
			if u, err := url.Parse(o); err != nil || u.Host != r.Host {
				httpapi.Error(w, http.StatusForbidden, "cross-origin requests may not change streams")
				return
			}
		}
		next(w, r)
	}
}

// routes are the server's routes as the parts see them.
type routes struct{ s *Server }

func (rt routes) Admin(pattern string, h http.HandlerFunc) {
	rt.s.mux.HandleFunc(pattern, rt.s.admin(h))
}

func (rt routes) Public(pattern string, h func(http.ResponseWriter, *http.Request, httpapi.Client)) {
	rt.s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		h(w, r, httpapi.Client{Admin: rt.s.isAdmin(r), MayWatch: rt.s.mayWatch})
	})
}

func (rt routes) Base() string {
	_, base := rt.s.Base()
	return base
}

// mayWatch: anyone may watch a stream that exists.
func (s *Server) mayWatch(stream string) bool {
	_, ok := s.hub.Get(stream)
	return ok
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

// anonymousError is the last error as clients that are not admins see it.
const anonymousError = "the stream's source is not available at the moment"
