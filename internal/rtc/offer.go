package rtc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"

	"github.com/pion/sdp/v3"

	"chalkcast/internal/httpapi"
)

// MaxOffer bounds an offer's size: a browser's offer of one audio and one
// video section is 4-8 KiB, OBS's less.
const MaxOffer = 64 << 10

// maxSections bounds an offer's media sections.
const maxSections = 8

// ReadOffer reads the SDP offer of a WHIP or WHEP request within MaxOffer
// and checks it. On failure it answers the client (415, 413 or 400, with
// a JSON reason) and returns false.
func ReadOffer(w http.ResponseWriter, r *http.Request) (string, bool) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/sdp" {
		httpapi.Error(w, http.StatusUnsupportedMediaType, "send the SDP offer with Content-Type: application/sdp")
		return "", false
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxOffer))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		httpapi.Error(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the SDP offer is over %d bytes", MaxOffer))
		return "", false
	}
	if err != nil {
		httpapi.Error(w, http.StatusBadRequest, "reading the SDP offer: "+err.Error())
		return "", false
	}
	if err := CheckOffer(b); err != nil {
		httpapi.Error(w, http.StatusBadRequest, err.Error())
		return "", false
	}
	return string(b), true
}

// CheckOffer parses an offer and bounds what is handed on: at most
// maxSections media sections, each of audio or video, with ICE
// credentials and a DTLS fingerprint, in the offer or in its sections.
func CheckOffer(b []byte) error {
	var d sdp.SessionDescription
	if err := d.Unmarshal(b); err != nil {
		return fmt.Errorf("%w: not SDP: %v", ErrOffer, err)
	}
	if len(d.MediaDescriptions) == 0 {
		return fmt.Errorf("%w: it has no media section", ErrOffer)
	}
	if len(d.MediaDescriptions) > maxSections {
		return fmt.Errorf("%w: %d media sections, at most %d", ErrOffer, len(d.MediaDescriptions), maxSections)
	}
	_, ufrag := d.Attribute("ice-ufrag")
	_, finger := d.Attribute("fingerprint")
	for i, m := range d.MediaDescriptions {
		switch m.MediaName.Media {
		case "audio", "video":
		default:
			return fmt.Errorf("%w: media section %d is %q: only audio and video are served", ErrOffer, i+1, m.MediaName.Media)
		}
		_, u := m.Attribute("ice-ufrag")
		_, f := m.Attribute("fingerprint")
		if !(ufrag || u) || !(finger || f) {
			return fmt.Errorf("%w: media section %d has no ICE credentials or DTLS fingerprint", ErrOffer, i+1)
		}
	}
	return nil
}

// Sessions are the WHIP or WHEP sessions a server runs, each on its own
// goroutine and each a resource a client ends with DELETE at its Location.
type Sessions struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu sync.Mutex
	m  map[string]func()
}

// NewSessions returns an empty set of sessions; Close it.
func NewSessions() *Sessions {
	s := &Sessions{m: map[string]func(){}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
}

// Context ends when the sessions are closed: every session's lives in it.
func (s *Sessions) Context() context.Context { return s.ctx }

// Run runs a session on its own goroutine until run returns, registered
// under the id it returns; end is how End stops it.
func (s *Sessions) Run(end, run func()) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	s.mu.Lock()
	s.m[id] = end
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		run()
		s.mu.Lock()
		delete(s.m, id)
		s.mu.Unlock()
	}()
	return id
}

// End stops session id and reports whether there was one.
func (s *Sessions) End(id string) bool {
	s.mu.Lock()
	end, ok := s.m[id]
	delete(s.m, id)
	s.mu.Unlock()
	if ok {
		end()
	}
	return ok
}

// Close ends every session and waits for them.
func (s *Sessions) Close() {
	s.cancel()
	s.wg.Wait()
}

// Answered answers a WHIP or WHEP offer: 201 with the SDP answer and the
// session's Location, which the client DELETEs to end it.
func Answered(w http.ResponseWriter, answer, location string) {
	h := w.Header()
	h.Set("Content-Type", "application/sdp")
	h.Set("Location", location)
	h.Set("Cache-Control", "no-store")
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "Location")
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer)
}

// Accepted is what an answer took, by kind ("audio", "video"): the
// codec name of the first format of each section that was not refused.
func Accepted(answer string) map[string]string {
	var d sdp.SessionDescription
	got := map[string]string{}
	if d.UnmarshalString(answer) != nil {
		return got
	}
	for _, m := range d.MediaDescriptions {
		kind := m.MediaName.Media
		if m.MediaName.Port.Value == 0 || got[kind] != "" || len(m.MediaName.Formats) == 0 {
			continue
		}
		if _, inactive := m.Attribute("inactive"); inactive {
			continue
		}
		prefix := "rtpmap:" + m.MediaName.Formats[0] + " "
		for _, a := range m.Attributes {
			if v, ok := strings.CutPrefix(a.String(), prefix); ok {
				name, _, _ := strings.Cut(v, "/")
				got[kind] = name
				break
			}
		}
	}
	return got
}
