// Package httpapi holds what every part of Chalkcast's JSON API shares:
// answers and errors in JSON, request bodies read within a limit, engine
// errors mapped to HTTP statuses, and Routes, through which an output
// (recording, pushes) adds its own endpoints to the one HTTP port without
// knowing the server that routes them.
// It must not import an output, a source or the GUI.
package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"chalkcast/engine"
)

// Routes is where an output adds its API endpoints.
type Routes interface {
	// Admin serves pattern (as http.ServeMux reads it) to admins only:
	// clients on this computer or with the admin token.
	Admin(pattern string, h http.HandlerFunc)
	// Public serves pattern to anyone, telling h who asks.
	Public(pattern string, h func(http.ResponseWriter, *http.Request, Client))
	// Base is the HTTP base URL of shared links ("http://192.168.1.20:8080").
	Base() string
}

// Client is who sent a request to a public endpoint.
type Client struct {
	// Admin: the teacher's computer, or the admin token.
	Admin bool
	// MayWatch reports whether the client may watch stream's class,
	// live or again: not when there is no such stream.
	MayWatch func(stream string) bool
}

// Error answers {"error": msg} with status.
func Error(w http.ResponseWriter, status int, msg string) {
	JSON(w, status, map[string]string{"error": msg})
}

// JSON answers v, indented, with status; API answers are never cached.
func JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// Decode reads a JSON request body of at most limit bytes into v,
// refusing fields v does not have. On failure it answers 400 saying the
// body is not what (e.g. "a valid push target") and returns false; an
// empty body is accepted when optional.
func Decode(w http.ResponseWriter, r *http.Request, limit int64, v any, what string, optional bool) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil || (optional && errors.Is(err, io.EOF)) {
		return true
	}
	Error(w, http.StatusBadRequest, "request body is not "+what+": "+err.Error())
	return false
}

// Fail answers err with the status its engine error says: 400 for
// invalid input, 409 for a name taken, 404 for a stream or thing not
// found, 503 at a limit; anything else is the server's fault, logged and
// answered 500.
func Fail(w http.ResponseWriter, log *slog.Logger, err error) {
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
		log.Error("request failed", "err", err)
		Error(w, http.StatusInternalServerError, err.Error())
	}
}
