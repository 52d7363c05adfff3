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

// ServeRoutes serves the API endpoints an output adds (its Routes) as
// the web server does: a request is an admin's unless it carries the
// header Visitor (see Visit); outputs/web's own tests check who is one.
// Every stream may be watched; shared links start at Base.
func ServeRoutes(t testing.TB, add func(httpapi.Routes)) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	add(routes{mux})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// Visitor is the header that makes a request to ServeRoutes a student's.
const Visitor = "X-Test-Visitor"

// Base is where ServeRoutes says shared links start.
const Base = "http://chalkcast.test:8080"

type routes struct{ *http.ServeMux }

func (rt routes) Admin(pattern string, h http.HandlerFunc) {
	rt.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(Visitor) != "" {
			httpapi.Error(w, http.StatusForbidden, "admins only")
			return
		}
		h(w, r)
	})
}

func (rt routes) Public(pattern string, h func(http.ResponseWriter, *http.Request, httpapi.Client)) {
	rt.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		h(w, r, httpapi.Client{Admin: r.Header.Get(Visitor) == "", MayWatch: func(string) bool { return true }})
	})
}

func (routes) Base() string { return Base }

// Call sends one request to srv and returns the status and the JSON
// object answered, nil when the body is empty.
func Call(t testing.TB, srv *httptest.Server, method, path, body string) (int, map[string]any) {
	t.Helper()
	return call(t, srv, method, path, body, false)
}

// Visit is Call as a student: a client that is not an admin.
func Visit(t testing.TB, srv *httptest.Server, method, path, body string) (int, map[string]any) {
	t.Helper()
	return call(t, srv, method, path, body, true)
}

func call(t testing.TB, srv *httptest.Server, method, path, body string, visitor bool) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if visitor {
		req.Header.Set(Visitor, "1")
	}
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
