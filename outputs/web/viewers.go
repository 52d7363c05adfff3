package web

// The viewer endpoints: HTTP-FLV and HLS, dispatched to their outputs.

import (
	"net/http"
	"net/url"
	"strings"

	"chalkcast/internal/httpapi"
)

func (s *Server) live(w http.ResponseWriter, r *http.Request) {
	file := r.PathValue("file")
	if name, ok := strings.CutSuffix(file, ".flv"); ok {
		s.out.FLV.Serve(w, r, name)
		return
	}
	if name, ok := strings.CutSuffix(file, ".m3u8"); ok {
		// /live/<name>.m3u8, as nginx-rtmp and livego publish it.
		target := "/live/" + url.PathEscape(name) + "/index.m3u8"
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, target, http.StatusFound)
		return
	}
	httpapi.Error(w, http.StatusNotFound, "unknown live URL: use /live/<name>.flv or /live/<name>/index.m3u8")
}

func (s *Server) hls(w http.ResponseWriter, r *http.Request) {
	s.out.HLS.Serve(w, r, r.PathValue("name"), r.PathValue("file"))
}
