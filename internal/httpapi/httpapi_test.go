package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"chalkcast/engine"
	"chalkcast/internal/logbuf"
)

// answer decodes what an endpoint answered and checks the headers every
// API answer has.
func answer(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	if rec.Header().Get("Content-Type") != "application/json; charset=utf-8" || rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("headers %v", rec.Header())
	}
	var out map[string]any
	if err := json.NewDecoder(io.LimitReader(rec.Body, 1<<10)).Decode(&out); err != nil {
		t.Fatalf("body: %v", err)
	}
	return out
}

func TestError(t *testing.T) {
	rec := httptest.NewRecorder()
	Error(rec, http.StatusTeapot, `quote " and <tag>`)
	if out := answer(t, rec); rec.Code != http.StatusTeapot || out["error"] != `quote " and <tag>` {
		t.Errorf("%d %v", rec.Code, out)
	}
}

func TestDecode(t *testing.T) {
	type target struct {
		URL string `json:"url"`
	}
	for _, c := range []struct {
		body     string
		optional bool
		ok       bool
		says     string
	}{
		{body: `{"url":"rtmp://a/b/c"}`, ok: true},
		{body: ``, optional: true, ok: true},
		{body: ``, says: "EOF"},
		{body: `{"url":1}`, says: "cannot unmarshal"},
		{body: `{"url":"x","key":"y"}`, says: `unknown field "key"`},
		{body: `{"url":"` + strings.Repeat("x", 100) + `"}`, says: "too large"},
		{body: `{"url":`, optional: true, says: "unexpected EOF"},
	} {
		rec := httptest.NewRecorder()
		r := httptest.NewRequest("POST", "/", strings.NewReader(c.body))
		var v target
		if ok := Decode(rec, r, 64, &v, "a valid target", c.optional); ok != c.ok {
			t.Errorf("Decode(%.40q) = %v", c.body, ok)
			continue
		}
		if c.ok {
			if rec.Body.Len() != 0 {
				t.Errorf("Decode(%.40q) answered %s", c.body, rec.Body)
			}
			continue
		}
		out := answer(t, rec)
		msg, _ := out["error"].(string)
		if rec.Code != http.StatusBadRequest || !strings.HasPrefix(msg, "request body is not a valid target: ") || !strings.Contains(msg, c.says) {
			t.Errorf("Decode(%.40q): %d %q, want 400 saying %q", c.body, rec.Code, msg, c.says)
		}
	}
}

func TestFail(t *testing.T) {
	logs := &logbuf.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	for _, c := range []struct {
		err    error
		status int
	}{
		{fmt.Errorf("%w: stream name", engine.ErrInvalid), http.StatusBadRequest},
		{fmt.Errorf("stream math: %w", engine.ErrExists), http.StatusConflict},
		{fmt.Errorf("stream math: %w", engine.ErrNotFound), http.StatusNotFound},
		{fmt.Errorf("%w: 64 streams", engine.ErrLimit), http.StatusServiceUnavailable},
		{errors.New("disk on fire"), http.StatusInternalServerError},
	} {
		rec := httptest.NewRecorder()
		Fail(rec, log, c.err)
		if out := answer(t, rec); rec.Code != c.status || out["error"] != c.err.Error() {
			t.Errorf("Fail(%v): %d %v, want %d", c.err, rec.Code, out, c.status)
		}
	}
	if got := logs.String(); strings.Count(got, "request failed") != 1 || !strings.Contains(got, "disk on fire") {
		t.Errorf("only the server's own failure is logged: %q", got)
	}
}
