package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"

	qrcode "github.com/skip2/go-qrcode"

	"chalkcast/assets"
	"chalkcast/engine"
	"chalkcast/internal/httpapi"
)

// static is one embedded file, kept raw and gzipped, ready to serve.
type static struct {
	typ       string
	raw, gz   []byte
	etag      string
	maxAgeSec int
}

// share serves what students open: the share page, the list of live
// streams, the player scripts and QR codes. All of it is embedded.
type share struct {
	watch, index *template.Template
	files        map[string]static // by URL path
}

func newShare() (*share, error) {
	sh := &share{files: map[string]static{}}
	var err error
	if sh.watch, err = template.ParseFS(assets.FS, "watch.html"); err != nil {
		return nil, fmt.Errorf("web: share page: %w", err)
	}
	if sh.index, err = template.ParseFS(assets.FS, "index.html"); err != nil {
		return nil, fmt.Errorf("web: stream list: %w", err)
	}
	err = fs.WalkDir(assets.FS, "player", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := fs.ReadFile(assets.FS, p)
		if err != nil {
			return err
		}
		typ := mime.TypeByExtension(path.Ext(p))
		if typ == "" || path.Base(p) == "VERSIONS" {
			typ = "text/plain; charset=utf-8"
		}
		sum := sha256.Sum256(raw)
		sh.files["/assets/"+p] = static{typ: typ, raw: raw, gz: gzipped(raw), etag: `"` + hex.EncodeToString(sum[:8]) + `"`, maxAgeSec: 86400}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: player scripts: %w", err)
	}
	return sh, nil
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

// serveBytes answers with raw or, when the client accepts it, gz.
func serveBytes(w http.ResponseWriter, r *http.Request, status int, typ string, raw, gz []byte) {
	h := w.Header()
	h.Set("Content-Type", typ)
	h.Add("Vary", "Accept-Encoding")
	body := raw
	if gz != nil && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		h.Set("Content-Encoding", "gzip")
		body = gz
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

func (s *Server) asset(w http.ResponseWriter, r *http.Request) {
	f, ok := s.share.files[r.URL.Path]
	if !ok {
		httpapi.Error(w, http.StatusNotFound, "no such file")
		return
	}
	w.Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(f.maxAgeSec))
	w.Header().Set("ETag", f.etag)
	w.Header().Set("Access-Control-Allow-Origin", "*")
	if r.Header.Get("If-None-Match") == f.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	serveBytes(w, r, http.StatusOK, f.typ, f.raw, f.gz)
}

// watch is the share page of one stream: it plays by itself as soon as
// the stream is live, in any browser, WeChat included, and lists the
// stream's shared lessons. At /watch/<name>/replay/<id> it replays
// lesson id instead.
func (s *Server) watch(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	status := http.StatusOK
	title := name
	if st, ok := s.hub.Get(name); ok {
		if t := st.Config().Title; t != "" {
			title = t
		}
	} else {
		status = http.StatusNotFound // the page itself says so, in the reader's language
	}
	var buf bytes.Buffer
	page := map[string]string{"Name": name, "Heading": title, "Title": title + " · Chalkcast", "Replay": r.PathValue("id")}
	if err := s.share.watch.Execute(&buf, page); err != nil {
		httpapi.Error(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	serveBytes(w, r, status, "text/html; charset=utf-8", buf.Bytes(), gzipped(buf.Bytes()))
}

// index lists the live streams.
func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		httpapi.Error(w, http.StatusNotFound, "not found: "+r.URL.Path)
		return
	}
	var live []engine.StreamStats
	for _, st := range s.hub.Streams() {
		if st.State().Active() {
			live = append(live, st.Stats(engine.StatsOptions{}))
		}
	}
	var buf bytes.Buffer
	if err := s.share.index.Execute(&buf, live); err != nil {
		httpapi.Error(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	serveBytes(w, r, http.StatusOK, "text/html; charset=utf-8", buf.Bytes(), gzipped(buf.Bytes()))
}

// qr is a PNG QR code of the stream's share URL, for the studio window
// and for printing.
func (s *Server) qr(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutSuffix(r.PathValue("file"), ".png")
	if !ok {
		httpapi.Error(w, http.StatusNotFound, "use /qr/<name>.png")
		return
	}
	if _, ok := s.hub.Get(name); !ok {
		httpapi.Error(w, http.StatusNotFound, fmt.Sprintf("no stream named %q", name))
		return
	}
	size := 512
	if v := r.URL.Query().Get("size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 64 || n > 2048 {
			httpapi.Error(w, http.StatusBadRequest, "size must be a number of pixels from 64 to 2048")
			return
		}
		size = n
	}
	_, base := s.Base()
	png, err := qrcode.Encode(base+"/watch/"+name, qrcode.Medium, size)
	if err != nil {
		httpapi.Error(w, http.StatusInternalServerError, "qr: "+err.Error())
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	serveBytes(w, r, http.StatusOK, "image/png", png, nil)
}
