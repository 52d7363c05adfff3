package web

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"chalkcast/engine"
	"chalkcast/engine/codec"
	"chalkcast/internal/httpapi"
	"chalkcast/internal/logbuf"
	"chalkcast/media/flv"
	"chalkcast/outputs/hls"
	"chalkcast/outputs/httpflv"
	"chalkcast/outputs/record"
)

// Remote addresses as net/http sets them.
const (
	loopback4 = "127.0.0.1:40000"
	loopback6 = "[::1]:40000"
	remote    = "192.0.2.7:5000" // TEST-NET-1: never loopback
)

type env struct {
	srv *Server
	hub *engine.Hub
	rec *record.Recorder
}

// newEnv starts a real hub, HTTP-FLV and HLS outputs behind a web.Server,
// as main does. Unset ports and source types get the usual values.
func newEnv(t *testing.T, cfg Config, ecfg engine.Config) *env {
	t.Helper()
	if cfg.HTTPPort == 0 {
		cfg.HTTPPort = 8080
	}
	if cfg.RTMPPort == 0 {
		cfg.RTMPPort = 1935
	}
	if cfg.SourceTypes == nil {
		cfg.SourceTypes = []string{"rtmp"}
	}
	if cfg.Version == "" {
		cfg.Version = "1.2.3-test"
	}
	logs := &logbuf.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	hub, err := engine.New(ecfg, nil, log)
	if err != nil {
		t.Fatalf("engine.New: %v", err)
	}
	hlsOut, err := hls.New(hub, hls.Config{}, log)
	if err != nil {
		hub.Close()
		t.Fatalf("hls.New: %v", err)
	}
	flvOut := httpflv.New(hub, httpflv.Config{}, log)
	rec, err := record.New(hub, record.Config{Dir: t.TempDir()}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		rec.Close()
		hub.Close() // ends every viewer, then the outputs wait for them
		done := make(chan struct{})
		go func() { hlsOut.Close(); flvOut.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("closing the outputs took more than 5 s")
		}
		if t.Failed() {
			t.Logf("server logs:\n%s", logs.String())
		}
	})
	srv, err := New(hub, Outputs{FLV: flvOut, HLS: hlsOut, Parts: []Part{rec}}, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	return &env{srv: srv, hub: hub, rec: rec}
}

// req describes one request to the handler.
type req struct {
	method, path, body string
	remote             string            // RemoteAddr; loopback4 when empty
	header             map[string]string // extra headers; "" removes one
}

func (e *env) do(t *testing.T, r req) *httptest.ResponseRecorder {
	t.Helper()
	hr := httptest.NewRequest(r.method, r.path, strings.NewReader(r.body))
	hr.RemoteAddr = r.remote
	if hr.RemoteAddr == "" {
		hr.RemoteAddr = loopback4
	}
	hr.Host = "127.0.0.1:8080" // as a browser or curl on this machine sends it
	if r.method == "POST" || r.method == "PUT" || r.method == "PATCH" {
		hr.Header.Set("Content-Type", "application/json") // as every API client must
	}
	for k, v := range r.header {
		switch {
		case k == "Host":
			hr.Host = v
		case v == "":
			hr.Header.Del(k)
		default:
			hr.Header.Set(k, v)
		}
	}
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, hr)
	return rec
}

// decode parses a JSON answer, failing on anything else.
func decode(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type = %q, want JSON (body %q)", ct, rec.Body.String())
	}
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("answer is not a JSON object: %v: %q", err, rec.Body.String())
	}
	return out
}

// wantError checks a JSON error answer with status and returns its message.
func wantError(t *testing.T, rec *httptest.ResponseRecorder, status int) string {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d (body %q)", rec.Code, status, rec.Body.String())
	}
	out := decode(t, rec)
	msg, _ := out["error"].(string)
	if msg == "" {
		t.Fatalf("no \"error\" string in %v", out)
	}
	return msg
}

// create makes a stream through the API as a loopback admin and returns
// the answer.
func (e *env) create(t *testing.T, name string) map[string]any {
	t.Helper()
	rec := e.do(t, req{method: "POST", path: "/api/v1/streams", body: `{"name":"` + name + `","source":{"type":"rtmp"}}`})
	if rec.Code != http.StatusCreated {
		t.Fatalf("create %s: status %d: %s", name, rec.Code, rec.Body.String())
	}
	return decode(t, rec)
}

func keyOf(t *testing.T, view map[string]any) string {
	t.Helper()
	pub, ok := view["publish"].(map[string]any)
	if !ok {
		t.Fatalf("no publish object in %v", view)
	}
	key, _ := pub["key"].(string)
	if key == "" {
		t.Fatalf("no publish key in %v", pub)
	}
	return key
}

func TestLoopbackIsAdmin(t *testing.T) {
	for _, addr := range []string{loopback4, loopback6, "127.0.0.2:1234"} {
		t.Run(addr, func(t *testing.T) {
			e := newEnv(t, Config{}, engine.Config{})
			rec := e.do(t, req{method: "POST", path: "/api/v1/streams", body: `{"name":"math"}`, remote: addr})
			if rec.Code != http.StatusCreated {
				t.Fatalf("create from %s: status %d: %s", addr, rec.Code, rec.Body.String())
			}
			old := keyOf(t, decode(t, rec))
			rec = e.do(t, req{method: "POST", path: "/api/v1/streams/math/key", remote: addr})
			if rec.Code != http.StatusOK {
				t.Fatalf("key reset from %s: status %d: %s", addr, rec.Code, rec.Body.String())
			}
			if keyOf(t, decode(t, rec)) == old {
				t.Error("key reset kept the old key")
			}
			if rec := e.do(t, req{method: "DELETE", path: "/api/v1/streams/math", remote: addr}); rec.Code != http.StatusNoContent {
				t.Fatalf("delete from %s: status %d: %s", addr, rec.Code, rec.Body.String())
			}
			if _, ok := e.hub.Get("math"); ok {
				t.Error("stream still exists after delete")
			}
		})
	}
}

func TestRemoteNeedsAdminToken(t *testing.T) {
	const token = "s3cret-admin-token"
	e := newEnv(t, Config{AdminToken: token}, engine.Config{})
	e.create(t, "keep") // for DELETE and key attempts

	refused := []struct {
		name   string
		remote string
		auth   string
	}{
		{"no header", remote, ""},
		{"LAN client", "192.168.1.50:5000", ""},
		{"IPv6 LAN client", "[fd00::9]:5000", ""},
		{"IPv4-mapped LAN client", "[::ffff:10.0.0.3]:5000", ""},
		{"wrong token", remote, "Bearer not-the-token"},
		{"token prefix only", remote, "Bearer " + token[:5]},
		{"token with suffix", remote, "Bearer " + token + "x"},
		{"missing Bearer prefix", remote, token},
		{"other scheme", remote, "Basic " + token},
		{"empty bearer", remote, "Bearer "},
		{"unparseable remote address", "127.0.0.1", ""},
		{"remote address that is a name", "localhost:1234", ""},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			h := map[string]string{}
			if c.auth != "" {
				h["Authorization"] = c.auth
			}
			for _, r := range []req{
				{method: "POST", path: "/api/v1/streams", body: `{"name":"intruder"}`},
				{method: "DELETE", path: "/api/v1/streams/keep"},
				{method: "POST", path: "/api/v1/streams/keep/key"},
			} {
				r.remote, r.header = c.remote, h
				before := e.hub.Streams()[0].Config().Key
				msg := wantError(t, e.do(t, r), http.StatusForbidden)
				if !strings.Contains(msg, "admin token") {
					t.Errorf("%s %s: error %q does not mention the admin token", r.method, r.path, msg)
				}
				if _, ok := e.hub.Get("intruder"); ok {
					t.Fatal("a refused request created a stream")
				}
				if s, ok := e.hub.Get("keep"); !ok || s.Config().Key != before {
					t.Fatal("a refused request deleted the stream or changed its key")
				}
			}
		})
	}

	// Reading is open to everybody.
	if rec := e.do(t, req{method: "GET", path: "/api/v1/streams", remote: remote}); rec.Code != http.StatusOK {
		t.Errorf("GET from a remote client: status %d", rec.Code)
	}

	// The right token lets a remote client change things.
	auth := map[string]string{"Authorization": "Bearer " + token}
	rec := e.do(t, req{method: "POST", path: "/api/v1/streams", body: `{"name":"art"}`, remote: remote, header: auth})
	if rec.Code != http.StatusCreated {
		t.Fatalf("create with the token: status %d: %s", rec.Code, rec.Body.String())
	}
	old := keyOf(t, decode(t, rec))
	rec = e.do(t, req{method: "POST", path: "/api/v1/streams/art/key", remote: remote, header: auth})
	if rec.Code != http.StatusOK || keyOf(t, decode(t, rec)) == old {
		t.Fatalf("key reset with the token: status %d: %s", rec.Code, rec.Body.String())
	}
	if rec := e.do(t, req{method: "DELETE", path: "/api/v1/streams/art", remote: remote, header: auth}); rec.Code != http.StatusNoContent {
		t.Fatalf("delete with the token: status %d: %s", rec.Code, rec.Body.String())
	}
}

func TestEmptyAdminTokenAdmitsNoRemoteClient(t *testing.T) {
	e := newEnv(t, Config{AdminToken: ""}, engine.Config{})
	for _, auth := range []string{"", "Bearer ", "Bearer", "Bearer x"} {
		rec := e.do(t, req{method: "POST", path: "/api/v1/streams", body: `{"name":"math"}`, remote: remote,
			header: map[string]string{"Authorization": auth}})
		wantError(t, rec, http.StatusForbidden)
	}
	if n := len(e.hub.Streams()); n != 0 {
		t.Fatalf("%d streams created by remote clients without a configured token", n)
	}
}

// TestChangesNeedJSON: a browser form can POST text/plain, urlencoded or
// multipart bodies to any site without asking first, and an old browser
// may send no Origin; only a JSON request (which a page on another site
// cannot send without CORS allowing it) or the admin token changes things.
func TestChangesNeedJSON(t *testing.T) {
	const token = "tok"
	e := newEnv(t, Config{AdminToken: token}, engine.Config{})
	e.create(t, "keep")
	for _, c := range []struct {
		name, method, path, body, ctype string
	}{
		{"text/plain create", "POST", "/api/v1/streams", `{"name":"x"}`, "text/plain"},
		{"form create", "POST", "/api/v1/streams", "name=x", "application/x-www-form-urlencoded"},
		{"multipart create", "POST", "/api/v1/streams", "--b\r\n\r\n{}\r\n--b--", "multipart/form-data; boundary=b"},
		{"no content type", "POST", "/api/v1/streams", `{"name":"x"}`, ""},
		{"empty text/plain key reset", "POST", "/api/v1/streams/keep/key", "", "text/plain"},
		{"empty key reset", "POST", "/api/v1/streams/keep/key", "", ""},
		{"stop", "POST", "/api/v1/streams/keep/stop", "", "text/plain;charset=UTF-8"},
		{"settings", "PUT", "/api/v1/streams/keep/recording/settings", `{"auto":true}`, "text/plain"},
		{"json look-alike", "POST", "/api/v1/streams", `{"name":"x"}`, "application/jsonp"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := e.hub.Streams()[0].Config()
			rec := e.do(t, req{method: c.method, path: c.path, body: c.body, header: map[string]string{"Content-Type": c.ctype}})
			if msg := wantError(t, rec, http.StatusUnsupportedMediaType); !strings.Contains(msg, "application/json") {
				t.Errorf("error %q does not say what to send", msg)
			}
			if _, ok := e.hub.Get("x"); ok || len(e.hub.Streams()) != 1 {
				t.Fatal("a stream was created")
			}
			if after := e.hub.Streams()[0].Config(); after.Key != before.Key || after.Stopped || record.SettingsOf(after).Auto {
				t.Fatalf("the stream was changed: %+v", after)
			}
		})
	}
	// JSON with parameters is JSON.
	rec := e.do(t, req{method: "POST", path: "/api/v1/streams", body: `{"name":"a"}`, header: map[string]string{"Content-Type": "Application/JSON; charset=utf-8"}})
	if rec.Code != http.StatusCreated {
		t.Errorf("create with JSON and a charset: status %d: %s", rec.Code, rec.Body.String())
	}
	// The admin token is enough: a form cannot send it.
	rec = e.do(t, req{method: "POST", path: "/api/v1/streams/keep/key", header: map[string]string{"Content-Type": "", "Authorization": "Bearer " + token}})
	if rec.Code != http.StatusOK {
		t.Errorf("key reset with the token and no content type: status %d: %s", rec.Code, rec.Body.String())
	}
	// A form cannot DELETE: no content type is needed.
	if rec := e.do(t, req{method: "DELETE", path: "/api/v1/streams/a"}); rec.Code != http.StatusNoContent {
		t.Errorf("delete without a content type: status %d: %s", rec.Code, rec.Body.String())
	}
}

func TestForeignOriginIsRefused(t *testing.T) {
	const token = "tok"
	e := newEnv(t, Config{AdminToken: token}, engine.Config{})
	// Requests carry Host 127.0.0.1:8080 (see env.do).
	for _, c := range []struct {
		name   string
		origin string
		remote string
		auth   string
	}{
		{"other host from loopback", "http://evil.example", loopback4, ""},
		{"other port from loopback", "http://127.0.0.1:8081", loopback4, ""},
		{"opaque origin from loopback", "null", loopback4, ""},
		{"other host with the token", "http://evil.example", remote, "Bearer " + token},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := map[string]string{"Origin": c.origin}
			if c.auth != "" {
				h["Authorization"] = c.auth
			}
			rec := e.do(t, req{method: "POST", path: "/api/v1/streams", body: `{"name":"math"}`, remote: c.remote, header: h})
			msg := wantError(t, rec, http.StatusForbidden)
			if !strings.Contains(msg, "cross-origin") {
				t.Errorf("error %q does not say why", msg)
			}
			if _, ok := e.hub.Get("math"); ok {
				t.Fatal("a cross-origin request created a stream")
			}
		})
	}
	// A page served by Chalkcast itself may change things.
	rec := e.do(t, req{method: "POST", path: "/api/v1/streams", body: `{"name":"math"}`,
		header: map[string]string{"Origin": "http://127.0.0.1:8080"}})
	if rec.Code != http.StatusCreated {
		t.Fatalf("same-origin create: status %d: %s", rec.Code, rec.Body.String())
	}
	rec = e.do(t, req{method: "DELETE", path: "/api/v1/streams/math", remote: loopback6,
		header: map[string]string{"Origin": "http://127.0.0.1:8080"}})
	if rec.Code != http.StatusNoContent {
		t.Fatalf("same-origin delete: status %d: %s", rec.Code, rec.Body.String())
	}
}

// A page on attacker.example whose name the attacker re-points to
// 127.0.0.1 (DNS rebinding) is same-origin with itself: Origin and Host
// agree, and the teacher's browser connects from loopback. It must not be
// an admin: it could read every publish key and change streams.
func TestDNSRebindingIsNotAdmin(t *testing.T) {
	e := newEnv(t, Config{}, engine.Config{})
	key := keyOf(t, e.create(t, "math"))
	rebound := map[string]string{"Host": "attacker.example:8080", "Origin": "http://attacker.example:8080"}

	rec := e.do(t, req{method: "GET", path: "/api/v1/streams/math", header: rebound})
	if strings.Contains(rec.Body.String(), key) {
		t.Errorf("GET with a foreign Host from loopback shows the publish key")
	}
	rec = e.do(t, req{method: "POST", path: "/api/v1/streams", body: `{"name":"pwned"}`, header: rebound})
	if rec.Code != http.StatusForbidden {
		t.Errorf("POST with a foreign Host (and matching Origin) from loopback: status %d, want 403", rec.Code)
	}
}

func TestKeysAreSecret(t *testing.T) {
	e := newEnv(t, Config{PublicURL: "http://cast.example:9000", RTMPPort: 1936, AdminToken: "tok"}, engine.Config{})
	created := e.create(t, "math")
	key := keyOf(t, created)
	if len(key) != 32 {
		t.Errorf("key %q: want 32 hex digits", key)
	}
	if _, err := hex.DecodeString(key); err != nil {
		t.Errorf("key %q is not hex: %v", key, err)
	}
	e.create(t, "art")

	// A live stream with a viewer, so that admins have a viewer list.
	s, _ := e.hub.Get("math")
	const publisherAddr = "203.0.113.7:50000"
	pub, err := s.Publish(engine.SourceInfo{Protocol: "rtmp", Remote: publisherAddr})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close(nil)
	const viewerAddr = "198.51.100.9:1234"
	v, err := s.Join(engine.ViewerInfo{Protocol: "flv", Remote: viewerAddr, Agent: "test-agent"})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Leave()

	for _, path := range []string{"/api/v1/streams", "/api/v1/streams/math", "/api/v1/streams/math?history=1"} {
		for _, c := range []struct {
			name string
			r    req
		}{
			{"remote", req{remote: remote}},
			{"remote with a wrong token", req{remote: remote, header: map[string]string{"Authorization": "Bearer nope"}}},
		} {
			c.r.method, c.r.path = "GET", path
			rec := e.do(t, c.r)
			if rec.Code != http.StatusOK {
				t.Fatalf("%s GET %s: status %d", c.name, path, rec.Code)
			}
			body := rec.Body.String()
			for _, secret := range []string{key, `"publish"`, `"viewer_list"`, viewerAddr, "test-agent", `"publisher"`, publisherAddr} {
				if strings.Contains(body, secret) {
					t.Errorf("%s GET %s: body contains %q:\n%s", c.name, path, secret, body)
				}
			}
		}
	}

	// Admins (loopback or token) see where to publish, and the viewers.
	for _, r := range []req{
		{method: "GET", path: "/api/v1/streams/math", remote: loopback4},
		{method: "GET", path: "/api/v1/streams/math", remote: remote, header: map[string]string{"Authorization": "Bearer tok"}},
	} {
		out := decode(t, e.do(t, r))
		p, _ := out["publish"].(map[string]any)
		if p["server"] != "rtmp://cast.example:1936/live" || p["key"] != key || p["url"] != "rtmp://cast.example:1936/live/"+key {
			t.Errorf("admin (%s) publish = %v", r.remote, p)
		}
		vl, _ := out["viewer_list"].([]any)
		if len(vl) != 1 || vl[0].(map[string]any)["remote"] != viewerAddr || vl[0].(map[string]any)["protocol"] != "flv" {
			t.Errorf("admin (%s) viewer_list = %v", r.remote, out["viewer_list"])
		}
		if p, _ := out["publisher"].(map[string]any); p["protocol"] != "rtmp" || p["remote"] != publisherAddr {
			t.Errorf("admin (%s) publisher = %v", r.remote, out["publisher"])
		}
	}
	// The list shows admins every stream's publish details.
	out := decode(t, e.do(t, req{method: "GET", path: "/api/v1/streams"}))
	list := out["streams"].([]any)
	if len(list) != 2 {
		t.Fatalf("list has %d streams, want 2", len(list))
	}
	for _, it := range list {
		st := it.(map[string]any)
		if st["publish"] == nil {
			t.Errorf("admin list: stream %v has no publish details", st["name"])
		}
	}
	if list[0].(map[string]any)["name"] != "art" || list[1].(map[string]any)["name"] != "math" {
		t.Errorf("list is not sorted by name: %v", list)
	}
}

func TestURLsWithPublicURL(t *testing.T) {
	for _, c := range []struct {
		public, flv, rtmp, base string
	}{
		{"http://cast.example:9000", "http://cast.example:9000/live/math.flv", "rtmp://cast.example:1936/live/math", "http://cast.example:9000"},
		{"http://cast.example:9000/", "http://cast.example:9000/live/math.flv", "rtmp://cast.example:1936/live/math", "http://cast.example:9000"},
		{"https://cast.example", "https://cast.example/live/math.flv", "rtmp://cast.example:1936/live/math", "https://cast.example"},
		{"http://[fd00::5]:9000", "http://[fd00::5]:9000/live/math.flv", "rtmp://[fd00::5]:1936/live/math", "http://[fd00::5]:9000"},
	} {
		hlsURL := c.base + "/live/math/index.m3u8"
		t.Run(c.public, func(t *testing.T) {
			e := newEnv(t, Config{PublicURL: c.public, RTMPPort: 1936, HTTPPort: 8081}, engine.Config{})
			created := e.create(t, "math")
			for _, view := range []map[string]any{created, decode(t, e.do(t, req{method: "GET", path: "/api/v1/streams/math", remote: remote}))} {
				urls := view["urls"].(map[string]any)
				if urls["flv"] != c.flv || urls["rtmp"] != c.rtmp || urls["hls"] != hlsURL {
					t.Errorf("urls = %v, want flv %s hls %s rtmp %s", urls, c.flv, hlsURL, c.rtmp)
				}
			}
			host, base := e.srv.Base()
			if base != c.base {
				t.Errorf("Base() = %q, %q; want base %q", host, base, c.base)
			}
			srv := decode(t, e.do(t, req{method: "GET", path: "/api/v1/server"}))
			if srv["base_url"] != c.base {
				t.Errorf("server base_url = %v, want %s", srv["base_url"], c.base)
			}
		})
	}
}

func TestURLsWithoutPublicURL(t *testing.T) {
	e := newEnv(t, Config{HTTPPort: 8081, RTMPPort: 1936}, engine.Config{})
	created := e.create(t, "math")
	host := "127.0.0.1"
	if a := LANAddresses(); len(a) > 0 {
		host = a[0].IP
	}
	wantFLV := "http://" + net.JoinHostPort(host, "8081") + "/live/math.flv"
	wantHLS := "http://" + net.JoinHostPort(host, "8081") + "/live/math/index.m3u8"
	wantRTMP := "rtmp://" + net.JoinHostPort(host, "1936") + "/live/math"
	urls := created["urls"].(map[string]any)
	if urls["flv"] != wantFLV || urls["rtmp"] != wantRTMP || urls["hls"] != wantHLS {
		t.Errorf("urls = %v, want flv %s hls %s rtmp %s", urls, wantFLV, wantHLS, wantRTMP)
	}
	pub := created["publish"].(map[string]any)
	if want := "rtmp://" + net.JoinHostPort(host, "1936") + "/live"; pub["server"] != want {
		t.Errorf("publish.server = %v, want %s", pub["server"], want)
	}
	if h, base := e.srv.Base(); h != host || base != "http://"+net.JoinHostPort(host, "8081") {
		t.Errorf("Base() = %q, %q; want host %s", h, base, host)
	}
	// A PublicURL without a host is ignored.
	e2 := newEnv(t, Config{HTTPPort: 8081, PublicURL: "not a url"}, engine.Config{})
	if h, _ := e2.srv.Base(); h != host {
		t.Errorf("Base() with an unusable PublicURL = %q, want the LAN host %s", h, host)
	}
}

func TestCreateValidation(t *testing.T) {
	e := newEnv(t, Config{SourceTypes: []string{"rtmp", "testpattern"}}, engine.Config{MaxStreams: 3})
	long := strings.Repeat("x", 70<<10)
	for _, c := range []struct {
		name, body string
		status     int
		mention    string
	}{
		{"bad JSON", `{"name":`, 400, ""},
		{"not JSON", `name=math`, 400, ""},
		{"array", `[]`, 400, ""},
		{"empty body", ``, 400, ""},
		{"unknown field", `{"name":"math","colour":"red"}`, 400, "colour"},
		{"unknown source field", `{"name":"math","source":{"type":"rtmp","port":1}}`, 400, "port"},
		{"wrong type", `{"name":7}`, 400, ""},
		{"too large", `{"name":"math","title":"` + long + `"}`, 400, "too large"},
		{"unsupported source", `{"name":"math","source":{"type":"carrier-pigeon"}}`, 400, "carrier-pigeon"},
		{"empty name", `{"name":""}`, 400, "stream name"},
		{"no name", `{}`, 400, "stream name"},
		{"path", `{"name":"../etc"}`, 400, "stream name"},
		{"slash", `{"name":"a/b"}`, 400, "stream name"},
		{"space", `{"name":"a b"}`, 400, "stream name"},
		{"dot", `{"name":"math.flv"}`, 400, "stream name"},
		{"leading dash", `{"name":"-math"}`, 400, "stream name"},
		{"leading underscore", `{"name":"_math"}`, 400, "stream name"},
		{"non-ASCII", `{"name":"数学"}`, 400, "stream name"},
		{"65 characters", `{"name":"` + strings.Repeat("a", 65) + `"}`, 400, "stream name"},
	} {
		t.Run(c.name, func(t *testing.T) {
			msg := wantError(t, e.do(t, req{method: "POST", path: "/api/v1/streams", body: c.body}), c.status)
			if c.mention != "" && !strings.Contains(msg, c.mention) {
				t.Errorf("error %q does not mention %q", msg, c.mention)
			}
			if c.name == "unsupported source" && !strings.Contains(msg, "supported: rtmp, testpattern") {
				t.Errorf("error %q does not list the supported source types", msg)
			}
			if n := len(e.hub.Streams()); n != 0 {
				t.Fatalf("a refused create left %d streams", n)
			}
		})
	}

	// Valid: 64 characters, digits first, '-' and '_' inside; the source
	// type defaults to rtmp; the title is kept.
	for _, body := range []string{
		`{"name":"` + strings.Repeat("a", 64) + `"}`,
		`{"name":"7b_math-2","title":"Maths 7B","source":{"type":"testpattern"}}`,
	} {
		rec := e.do(t, req{method: "POST", path: "/api/v1/streams", body: body})
		if rec.Code != http.StatusCreated {
			t.Fatalf("create %s: status %d: %s", body, rec.Code, rec.Body.String())
		}
	}
	s, _ := e.hub.Get(strings.Repeat("a", 64))
	if s == nil || s.Config().Source.Type != "rtmp" {
		t.Errorf("default source type: %+v", s)
	}
	out := decode(t, e.do(t, req{method: "GET", path: "/api/v1/streams/7b_math-2"}))
	if out["title"] != "Maths 7B" || out["source"].(map[string]any)["type"] != "testpattern" || out["state"] != "idle" {
		t.Errorf("stream view = %v", out)
	}
	if out["publish"] != nil {
		t.Errorf("a testpattern stream has publish details: %v", out["publish"])
	}

	// Duplicate: 409. Over the limit of 3: 503.
	wantError(t, e.do(t, req{method: "POST", path: "/api/v1/streams", body: `{"name":"7b_math-2"}`}), http.StatusConflict)
	e.create(t, "third")
	msg := wantError(t, e.do(t, req{method: "POST", path: "/api/v1/streams", body: `{"name":"fourth"}`}), http.StatusServiceUnavailable)
	if !strings.Contains(msg, "limit") {
		t.Errorf("limit error %q", msg)
	}
	if n := len(e.hub.Streams()); n != 3 {
		t.Errorf("%d streams, want 3", n)
	}
}

func TestDeleteAndResetKey(t *testing.T) {
	e := newEnv(t, Config{}, engine.Config{})
	key := keyOf(t, e.create(t, "math"))

	rec := e.do(t, req{method: "POST", path: "/api/v1/streams/math/key"})
	if rec.Code != http.StatusOK {
		t.Fatalf("key reset: status %d: %s", rec.Code, rec.Body.String())
	}
	view := decode(t, rec)
	newKey := keyOf(t, view)
	if newKey == key || len(newKey) != 32 {
		t.Fatalf("new key %q (old %q)", newKey, key)
	}
	if view["name"] != "math" {
		t.Errorf("key reset answer = %v", view)
	}
	if got := keyOf(t, decode(t, e.do(t, req{method: "GET", path: "/api/v1/streams/math"}))); got != newKey {
		t.Errorf("GET after reset shows key %q, want %q", got, newKey)
	}
	if _, ok := e.hub.ByKey(key); ok {
		t.Error("the old key still finds the stream")
	}
	if s, ok := e.hub.ByKey(newKey); !ok || s.Name() != "math" {
		t.Error("the new key does not find the stream")
	}

	if rec := e.do(t, req{method: "DELETE", path: "/api/v1/streams/math"}); rec.Code != http.StatusNoContent || rec.Body.Len() != 0 {
		t.Fatalf("delete: status %d body %q", rec.Code, rec.Body.String())
	}
	wantError(t, e.do(t, req{method: "GET", path: "/api/v1/streams/math"}), http.StatusNotFound)
	wantError(t, e.do(t, req{method: "DELETE", path: "/api/v1/streams/math"}), http.StatusNotFound)
	wantError(t, e.do(t, req{method: "POST", path: "/api/v1/streams/math/key"}), http.StatusNotFound)
	if _, ok := e.hub.ByKey(newKey); ok {
		t.Error("a deleted stream's key still finds it")
	}
	out := decode(t, e.do(t, req{method: "GET", path: "/api/v1/streams"}))
	if l, ok := out["streams"].([]any); !ok || len(l) != 0 {
		t.Errorf("list after delete = %v, want an empty array", out)
	}
}

// liveStream makes a stream live with a publisher writing an H.264 keyframe
// and an AAC frame, and returns the publisher.
func liveStream(t *testing.T, e *env, name string) *engine.Publisher {
	t.Helper()
	s, ok := e.hub.Get(name)
	if !ok {
		t.Fatalf("no stream %s", name)
	}
	p, err := s.Publish(engine.SourceInfo{Protocol: "test", Remote: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := codec.BuildAVCRecord([][]byte{sps360Main}, [][]byte{pps360Main})
	if err != nil {
		t.Fatal(err)
	}
	vcfg, err := codec.H264Config(rec)
	if err != nil {
		t.Fatal(err)
	}
	acfg, err := codec.AACConfig([]byte{0x12, 0x10})
	if err != nil {
		t.Fatal(err)
	}
	p.SetConfig(engine.TrackVideo, vcfg)
	p.SetConfig(engine.TrackAudio, acfg)
	p.WritePacket(&engine.Packet{Track: engine.TrackVideo, Codec: engine.CodecH264, Keyframe: true,
		Payload: []byte{0, 0, 0, 2, 0x65, 0x88}, Config: vcfg})
	p.WritePacket(&engine.Packet{Track: engine.TrackAudio, Codec: engine.CodecAAC, DTS: 10 * time.Millisecond,
		PTS: 10 * time.Millisecond, Keyframe: true, Payload: []byte{0x21, 0x10, 0x04}, Config: acfg})
	return p
}

// An x264 640x360 Main profile SPS and its PPS.
var (
	sps360Main = mustHex("674d401eeca05017fcb808800000030080000019078b16cb")
	pps360Main = mustHex("68ebe3cb20")
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestStatsAndServerInfo(t *testing.T) {
	e := newEnv(t, Config{HTTPPort: 8081, RTMPPort: 1936, SourceTypes: []string{"rtmp"}, Version: "9.9.9"},
		engine.Config{MaxStreams: 7, MaxViewersPerStream: 11, MaxViewers: 13})
	e.create(t, "math")
	e.create(t, "art")
	p := liveStream(t, e, "math")
	defer p.Close(nil)

	rec := e.do(t, req{method: "GET", path: "/api/v1/stats", remote: remote})
	if rec.Code != http.StatusOK {
		t.Fatalf("stats: status %d", rec.Code)
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("stats Cache-Control = %q", cc)
	}
	st := decode(t, rec)
	for _, f := range []string{"streams", "live", "viewers", "bytes_in", "bytes_out", "uptime_s", "pool_rejected", "limits"} {
		if _, ok := st[f]; !ok {
			t.Errorf("stats has no %q: %v", f, st)
		}
	}
	if st["streams"] != 2.0 || st["live"] != 1.0 || st["viewers"] != 0.0 {
		t.Errorf("stats streams/live/viewers = %v/%v/%v, want 2/1/0", st["streams"], st["live"], st["viewers"])
	}
	if st["bytes_in"] != 9.0 { // 6 + 3 payload bytes
		t.Errorf("bytes_in = %v, want 9", st["bytes_in"])
	}
	if up, _ := st["uptime_s"].(float64); up < 0 || up > 60 {
		t.Errorf("uptime_s = %v", st["uptime_s"])
	}
	lim, _ := st["limits"].(map[string]any)
	if lim["max_streams"] != 7.0 || lim["max_viewers_per_stream"] != 11.0 || lim["max_viewers"] != 13.0 {
		t.Errorf("limits = %v", lim)
	}

	srv := decode(t, e.do(t, req{method: "GET", path: "/api/v1/server", remote: remote}))
	if srv["name"] != "Chalkcast" || srv["version"] != "9.9.9" || srv["http_port"] != 8081.0 || srv["rtmp_port"] != 1936.0 {
		t.Errorf("server = %v", srv)
	}
	if types, _ := srv["source_types"].([]any); len(types) != 1 || types[0] != "rtmp" {
		t.Errorf("source_types = %v", srv["source_types"])
	}
	_, base := e.srv.Base()
	if srv["base_url"] != base {
		t.Errorf("base_url = %v, want %s", srv["base_url"], base)
	}
	addrs, _ := srv["addresses"].([]any) // null when the machine has no LAN address
	if lan := LANAddresses(); len(addrs) != len(lan) {
		t.Errorf("addresses = %v, want %d like LANAddresses", srv["addresses"], len(lan))
	}
	for _, a := range addrs {
		m := a.(map[string]any)
		for _, f := range []string{"ip", "interface", "preferred"} {
			if _, ok := m[f]; !ok {
				t.Errorf("address %v has no %q", m, f)
			}
		}
	}

	// The stream view of a live stream.
	view := decode(t, e.do(t, req{method: "GET", path: "/api/v1/streams/math", remote: remote}))
	if view["state"] != "live" {
		t.Errorf("state = %v", view["state"])
	}
	video, _ := view["video"].(map[string]any)
	if video["codec"] != "h264" || video["width"] != 640.0 || video["height"] != 360.0 || video["profile"] != "Main" {
		t.Errorf("video = %v", view["video"])
	}
	audio, _ := view["audio"].(map[string]any)
	if audio["codec"] != "aac" || audio["sample_rate"] != 44100.0 || audio["channels"] != 2.0 {
		t.Errorf("audio = %v", view["audio"])
	}
	viewers, _ := view["viewers"].(map[string]any)
	if viewers["total"] != 0.0 || viewers["peak"] != 0.0 {
		t.Errorf("viewers = %v", view["viewers"])
	}
}

func TestUnknownPathsAnswerJSON(t *testing.T) {
	e := newEnv(t, Config{}, engine.Config{})
	e.create(t, "math")
	for _, r := range []req{
		{method: "GET", path: "/api/v1/nothing"},
		{method: "GET", path: "/api/v2/streams"},
		{method: "POST", path: "/api/v1/stats"},
		{method: "PUT", path: "/api/v1/streams/math"},
		{method: "PATCH", path: "/api/v1/streams"},
		{method: "GET", path: "/api/v1/streams/math/key"},
		{method: "GET", path: "/api/v1/streams/math/extra"},
		{method: "GET", path: "/api/"},
	} {
		msg := wantError(t, e.do(t, r), http.StatusNotFound)
		if !strings.Contains(msg, r.method) {
			t.Errorf("%s %s: error %q does not name the request", r.method, r.path, msg)
		}
	}
	if _, ok := e.hub.Get("math"); !ok {
		t.Error("an unknown endpoint removed the stream")
	}
}

func TestLiveEndpoints(t *testing.T) {
	e := newEnv(t, Config{}, engine.Config{})
	e.create(t, "math")

	for _, path := range []string{"/live/x.flv", "/live/x/index.m3u8"} {
		rec := e.do(t, req{method: "OPTIONS", path: path, remote: remote,
			header: map[string]string{"Origin": "http://player.example", "Access-Control-Request-Method": "GET"}})
		if rec.Code != http.StatusNoContent {
			t.Fatalf("OPTIONS %s: status %d", path, rec.Code)
		}
		h := rec.Header()
		if h.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(h.Get("Access-Control-Allow-Methods"), "GET") ||
			!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Range") || h.Get("Access-Control-Max-Age") == "" {
			t.Errorf("OPTIONS %s: preflight headers = %v", path, h)
		}
		if rec.Body.Len() != 0 {
			t.Errorf("OPTIONS %s: preflight body %q", path, rec.Body.String())
		}
	}

	// /live/<name>.m3u8 (the nginx-rtmp style) is an alias of the HLS
	// playlist; the query is kept.
	for path, want := range map[string]string{
		"/live/math.m3u8":      "/live/math/index.m3u8",
		"/live/math.m3u8?a=1":  "/live/math/index.m3u8?a=1",
		"/live/nobody.m3u8":    "/live/nobody/index.m3u8",
		"/live/a%20b.m3u8?x=y": "/live/a%20b/index.m3u8?x=y",
	} {
		rec := e.do(t, req{method: "GET", path: path, remote: remote})
		if rec.Code != http.StatusFound || rec.Header().Get("Location") != want {
			t.Errorf("GET %s: status %d Location %q, want 302 to %s", path, rec.Code, rec.Header().Get("Location"), want)
		}
	}

	for _, c := range []struct {
		path, mention string
	}{
		{"/live/math", "/live/<name>.flv"},
		{"/live/math.mp4", "/live/<name>.flv"},
		{"/live/nobody/index.m3u8", "nobody"},
		{"/live/nobody.flv", "nobody"},
		{"/live/math.flv", "not live"}, // idle: an answer, not a hanging request
		{"/live/..%2f..%2fetc%2fpasswd.flv", ""},
	} {
		msg := wantError(t, e.do(t, req{method: "GET", path: c.path, remote: remote}), http.StatusNotFound)
		if c.mention != "" && !strings.Contains(msg, c.mention) {
			t.Errorf("GET %s: error %q does not mention %q", c.path, msg, c.mention)
		}
	}
	if s, _ := e.hub.Get("math"); s.Stats(engine.StatsOptions{}).Viewers.Total != 0 {
		t.Error("refused viewers are still counted")
	}
}

// A viewer of a live stream gets HTTP-FLV through the web server.
func TestFLVViewerThroughWeb(t *testing.T) {
	e := newEnv(t, Config{}, engine.Config{})
	e.create(t, "math")
	p := liveStream(t, e, "math")
	defer p.Close(nil)
	ts := httptest.NewServer(e.srv)
	defer ts.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	hr, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/live/math.flv", nil)
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "video/x-flv" ||
		resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("status %d headers %v", resp.StatusCode, resp.Header)
	}
	fr := flv.NewReader(resp.Body)
	fh, err := fr.ReadHeader()
	if err != nil || !fh.Video || !fh.Audio {
		t.Fatalf("FLV header %+v, %v", fh, err)
	}
	var types []string
	for len(types) < 4 {
		tag, err := fr.ReadTag()
		if err != nil {
			t.Fatalf("after tags %v: %v", types, err)
		}
		switch tag.Type {
		case flv.TagVideo:
			v, err := flv.ParseVideo(tag.Body)
			if err != nil {
				t.Fatal(err)
			}
			if v.SeqHeader {
				types = append(types, "video-config")
			} else {
				types = append(types, "video")
			}
		case flv.TagAudio:
			a, err := flv.ParseAudio(tag.Body)
			if err != nil {
				t.Fatal(err)
			}
			if a.SeqHeader {
				types = append(types, "audio-config")
			} else {
				types = append(types, "audio")
			}
		}
	}
	if got := strings.Join(types, " "); got != "video-config video audio-config audio" {
		t.Errorf("tags = %s", got)
	}
	s, _ := e.hub.Get("math")
	if n := s.Stats(engine.StatsOptions{}).Viewers.ByProtocol["flv"]; n != 1 {
		t.Errorf("flv viewers = %d, want 1", n)
	}
}

func TestHistory(t *testing.T) {
	e := newEnv(t, Config{}, engine.Config{})
	e.create(t, "math")
	// The hub samples once a second; wait for the first sample.
	deadline := time.Now().Add(5 * time.Second)
	var hist []any
	for {
		out := decode(t, e.do(t, req{method: "GET", path: "/api/v1/streams/math?history=1", remote: remote}))
		if h, ok := out["history"].([]any); ok && len(h) > 0 {
			hist = h
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no history after 5 s: %v", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	smp := hist[0].(map[string]any)
	for _, f := range []string{"t", "kbps", "viewers"} {
		if _, ok := smp[f]; !ok {
			t.Errorf("history sample %v has no %q", smp, f)
		}
	}
	for _, path := range []string{"/api/v1/streams/math", "/api/v1/streams"} {
		if body := e.do(t, req{method: "GET", path: path}).Body.String(); strings.Contains(body, `"history"`) {
			t.Errorf("GET %s without ?history has a history:\n%s", path, body)
		}
	}
}

func TestIsVirtual(t *testing.T) {
	for name, want := range map[string]bool{
		"docker0": true, "br-abc123": true, "veth1234": true, "virbr0": true, "tun0": true, "wg0": true,
		"vmnet8": true, "vboxnet0": true, "tap0": true, "utun3": true, "lxcbr0": true, "zt0": true,
		"eth0": false, "wlan0": false, "enp3s0": false, "wlp2s0": false, "en0": false, "br0": false, "lo": false,
	} {
		if got := isVirtual(name); got != want {
			t.Errorf("isVirtual(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestLANAddresses(t *testing.T) {
	addrs := LANAddresses()
	t.Logf("LAN addresses: %+v", addrs)
	rank := func(ip net.IP) int {
		switch {
		case ip.To4() != nil && ip.IsPrivate():
			return 0
		case ip.To4() != nil:
			return 1
		}
		return 2
	}
	prev := 0
	for i, a := range addrs {
		ip := net.ParseIP(a.IP)
		if ip == nil {
			t.Errorf("%d: %q is not an IP address", i, a.IP)
			continue
		}
		if ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsMulticast() || ip.IsUnspecified() {
			t.Errorf("%d: %s (%s) is not a LAN address", i, a.IP, a.Interface)
		}
		if a.Interface == "" || isVirtual(a.Interface) {
			t.Errorf("%d: %s is on interface %q", i, a.IP, a.Interface)
		}
		if a.Preferred != (i == 0) {
			t.Errorf("%d: %s preferred = %v", i, a.IP, a.Preferred)
		}
		if r := rank(ip); r < prev {
			t.Errorf("%d: %s comes after a less preferred address", i, a.IP)
		} else {
			prev = r
		}
	}
	// Every address listed belongs to an interface that is up.
	ifs, err := net.Interfaces()
	if err != nil {
		t.Skip(err)
	}
	up := map[string]bool{}
	for _, ifc := range ifs {
		up[ifc.Name] = ifc.Flags&net.FlagUp != 0 && ifc.Flags&net.FlagLoopback == 0
	}
	for _, a := range addrs {
		if !up[a.Interface] {
			t.Errorf("%s: interface %s is down or loopback", a.IP, a.Interface)
		}
	}
}

// TestPartsAreAdminsOnly: the recording endpoints, which outputs/record
// serves and tests, answer only the teacher; a recording's file is not
// deleted by anyone else.
func TestPartsAreAdminsOnly(t *testing.T) {
	e := newEnv(t, Config{}, engine.Config{})
	if _, err := e.hub.Create(engine.StreamConfig{Name: "math"}); err != nil {
		t.Fatal(err)
	}
	name := "math_2026-11-26_09-00-00.mp4"
	path := filepath.Join(e.rec.Dir(), "math", name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, r := range []req{
		{method: "GET", path: "/api/v1/recordings"},
		{method: "GET", path: "/api/v1/recordings/math/" + name},
		{method: "DELETE", path: "/api/v1/recordings/math/" + name},
		{method: "POST", path: "/api/v1/streams/math/recording"},
		{method: "DELETE", path: "/api/v1/streams/math/recording"},
		{method: "PUT", path: "/api/v1/streams/math/recording/settings", body: `{"auto":true}`},
	} {
		r.remote = remote
		wantError(t, e.do(t, r), http.StatusForbidden)
	}
	if s, _ := e.hub.Get("math"); record.SettingsOf(s.Config()).Auto {
		t.Error("a refused request changed the setting")
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("a refused request deleted the file: %v", err)
	}
	out := decode(t, e.do(t, req{method: "GET", path: "/api/v1/recordings"}))
	if list, ok := out["recordings"].([]any); !ok || len(list) != 1 {
		t.Errorf("the teacher's recordings: %v", out)
	}
}

// TestCreateWithSections: a new stream's description may carry the
// settings of a part that takes them, which checks them; other fields
// are refused.
func TestCreateWithSections(t *testing.T) {
	e := newEnv(t, Config{}, engine.Config{})
	for _, c := range []struct{ body, says string }{
		{`{"name":"math","recording":{"format":"avi"}}`, "avi"},
		{`{"name":"math","recording":{"colour":"red"}}`, "colour"},
		{`{"name":"math","recording":true}`, "recording"},
		{`{"name":"math","pushes":[]}`, "pushes"},
	} {
		msg := wantError(t, e.do(t, req{method: "POST", path: "/api/v1/streams", body: c.body}), http.StatusBadRequest)
		if !strings.Contains(msg, c.says) {
			t.Errorf("create %s: %q does not mention %q", c.body, msg, c.says)
		}
	}
	if n := len(e.hub.Streams()); n != 0 {
		t.Fatalf("refused creates left %d streams", n)
	}
	rec := e.do(t, req{method: "POST", path: "/api/v1/streams", body: `{"name":"math","recording":{"auto":true,"format":"flv"}}`})
	if rec.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	if s, _ := e.hub.Get("math"); record.SettingsOf(s.Config()) != (record.Settings{Auto: true, Format: "flv"}) {
		t.Errorf("saved %+v", record.SettingsOf(s.Config()))
	}
	rec = e.do(t, req{method: "POST", path: "/api/v1/streams", body: `{"name":"art","recording":{}}`})
	if s, _ := e.hub.Get("art"); rec.Code != http.StatusCreated || s.Config().Output(record.Section) != nil {
		t.Errorf("default settings: %d, saved %s", rec.Code, s.Config().Output(record.Section))
	}
}

// seatPart is a part of this test's own: one admin endpoint, and a field
// whose value depends on who looks.
type seatPart struct{ seats int }

func (p *seatPart) Routes(rt httpapi.Routes) {
	rt.Admin("POST /api/v1/streams/{name}/seats", func(w http.ResponseWriter, r *http.Request) {
		p.seats++
		httpapi.JSON(w, http.StatusOK, map[string]int{"seats": p.seats})
	})
}

func (p *seatPart) View(name string, admin bool, add func(string, any)) {
	if admin {
		add("seats", map[string]any{"stream": name, "taken": p.seats})
	} else {
		add("seats", "some")
	}
}

// TestPartsInView: a part's endpoints are the teacher's and its fields
// sit beside the stream's own in every view.
func TestPartsInView(t *testing.T) {
	e := newEnv(t, Config{}, engine.Config{})
	p := &seatPart{}
	srv, err := New(e.hub, Outputs{FLV: e.srv.out.FLV, HLS: e.srv.out.HLS, Parts: []Part{p, e.rec}}, e.srv.cfg, e.srv.log)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	e.create(t, "math")
	wantError(t, e.do(t, req{method: "POST", path: "/api/v1/streams/math/seats", body: `{}`, remote: remote}), http.StatusForbidden)
	if p.seats != 0 {
		t.Fatal("a refused request reached the part")
	}
	if rec := e.do(t, req{method: "POST", path: "/api/v1/streams/math/seats", body: `{}`}); rec.Code != http.StatusOK || p.seats != 1 {
		t.Fatalf("the teacher's request: %d %s", rec.Code, rec.Body)
	}
	out := decode(t, e.do(t, req{method: "GET", path: "/api/v1/streams/math"}))
	if seats, _ := out["seats"].(map[string]any); seats["stream"] != "math" || seats["taken"] != 1.0 || out["name"] != "math" || out["urls"] == nil {
		t.Errorf("the teacher's view %v", out)
	}
	list := decode(t, e.do(t, req{method: "GET", path: "/api/v1/streams", remote: remote}))
	if streams, _ := list["streams"].([]any); len(streams) != 1 || streams[0].(map[string]any)["seats"] != "some" {
		t.Errorf("a student's list %v", list)
	}
	if _, ok := out["recording_status"]; ok {
		t.Errorf("an idle stream's view has a recording status: %v", out)
	}
}
