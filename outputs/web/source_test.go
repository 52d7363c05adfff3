package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"chalkcast/engine"
)

// oneShotKind is a source kind whose sources go live at once and stay
// until stopped, unless their "fail" option says why they cannot start.
type oneShotKind struct{}

func (oneShotKind) Check(src engine.Source) error {
	if src.Options["colour"] == "plaid" {
		return fmt.Errorf("%w: no plaid", engine.ErrInvalid)
	}
	return nil
}

func (oneShotKind) Run(ctx context.Context, s *engine.Stream) error {
	if why := s.Config().Source.Options["fail"]; why != "" {
		return errors.New(why)
	}
	p, err := s.Publish(engine.SourceInfo{Protocol: "oneshot"})
	if err != nil {
		return err
	}
	<-ctx.Done()
	p.Close(nil)
	return nil
}

func TestSetSource(t *testing.T) {
	kinds := map[string]engine.SourceKind{"oneshot": oneShotKind{}}
	e := newEnv(t, Config{SourceTypes: []string{"rtmp", "oneshot"}, CheckSource: func(src engine.Source) error {
		if k, ok := kinds[src.Type]; ok {
			return k.Check(src)
		}
		return nil
	}}, engine.Config{})
	srcs := engine.NewSources(e.hub, kinds, nil)
	t.Cleanup(srcs.Close)
	e.create(t, "math")
	put := func(name, body string) *httptest.ResponseRecorder {
		return e.do(t, req{method: "PUT", path: "/api/v1/streams/" + name + "/source", body: body})
	}

	// The pushed stream becomes one Chalkcast runs: the answer comes when
	// it is live.
	rec := put("math", `{"type":"oneshot","options":{"colour":"red"}}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("switch to a running source: %d %s", rec.Code, rec.Body.String())
	}
	view := decode(t, rec)
	if view["state"] != "live" || view["source"].(map[string]any)["type"] != "oneshot" {
		t.Errorf("view after the switch: %v", view)
	}
	// One that fails is accepted, and the view says why it is not live.
	rec = put("math", `{"type":"oneshot","options":{"fail":"camera unplugged"}}`)
	if rec.Code != http.StatusAccepted {
		t.Fatalf("switch to a failing source: %d %s", rec.Code, rec.Body.String())
	}
	if view := decode(t, rec); view["last_error"] != "camera unplugged" {
		t.Errorf("view after a failed switch: %v", view)
	}
	// Back to a push: accepted, live once somebody pushes.
	if rec := put("math", `{"type":"rtmp"}`); rec.Code != http.StatusAccepted {
		t.Errorf("switch to a push: %d %s", rec.Code, rec.Body.String())
	}

	for _, c := range []struct {
		name, stream, body string
		status             int
		mention            string
	}{
		{"unknown stream", "nobody", `{"type":"oneshot"}`, 404, "nobody"},
		{"unsupported", "math", `{"type":"carrier-pigeon"}`, 400, "supported: rtmp, oneshot"},
		{"refused by its kind", "math", `{"type":"oneshot","options":{"colour":"plaid"}}`, 400, "plaid"},
		{"unknown field", "math", `{"type":"oneshot","port":1}`, 400, "port"},
		{"not JSON", "math", `type=oneshot`, 400, ""},
		{"too large", "math", `{"type":"oneshot","url":"` + strings.Repeat("x", 70<<10) + `"}`, 400, "too large"},
	} {
		t.Run(c.name, func(t *testing.T) {
			msg := wantError(t, put(c.stream, c.body), c.status)
			if !strings.Contains(msg, c.mention) {
				t.Errorf("error %q does not mention %q", msg, c.mention)
			}
			if s, _ := e.hub.Get("math"); s.Config().Source.Type != "rtmp" {
				t.Errorf("a refused switch changed the source to %+v", s.Config().Source)
			}
		})
	}
	// Remote clients need the admin token.
	rec = e.do(t, req{method: "PUT", path: "/api/v1/streams/math/source", body: `{"type":"oneshot"}`, remote: "192.0.2.7:4000"})
	if rec.Code != http.StatusUnauthorized && rec.Code != http.StatusForbidden {
		t.Errorf("remote switch without the token: %d", rec.Code)
	}
}
