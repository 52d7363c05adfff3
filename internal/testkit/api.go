package testkit

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"chalkcast/internal/httpapi"
)

// ServeRoutes serves the API endpoints an output adds (its Routes) to
// every client, as the web server does to admins; outputs/web's own tests
// check who is one.
func ServeRoutes(t testing.TB, add func(httpapi.Routes)) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	add(everyone{mux})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

type everyone struct{ *http.ServeMux }

func (e everyone) Admin(pattern string, h http.HandlerFunc) { e.HandleFunc(pattern, h) }

// Call sends one request to srv and returns the status and the JSON
// object answered, nil when the body is empty.
func Call(t testing.TB, srv *httptest.Server, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return resp.StatusCode, out
}
