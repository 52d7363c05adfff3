package web

// Recordings in the API: start, stop, settings, the list, downloads and
// deletion.

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"

	"chalkcast/outputs/record"
)

// startRecording records a live stream now; the body may set the format
// and split ({"format":"flv","split_minutes":30}), else the stream's
// setting applies.
func (s *Server) startRecording(w http.ResponseWriter, r *http.Request) {
	var opt *record.Settings
	if r.ContentLength != 0 {
		var o *record.Settings
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
	var rc record.Settings
	if !decodeBody(w, r, 4<<10, &rc, "a valid recording setting", false) {
		return
	}
	if err := s.out.Rec.SetSettings(r.PathValue("name"), rc); err != nil {
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
