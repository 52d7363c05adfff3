package record

// Replays: a lesson plays as HLS VOD over its recording's own fragments,
// by byte range, to whoever may watch the stream when it is shared (and
// to admins always), and its viewers are counted.

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"chalkcast/internal/httpapi"
)

// replayTimeout is how long a replay session may make no request and
// still count as watching: hls.js buffers up to 30 s ahead, then waits.
const replayTimeout = 60 * time.Second

// maxReplaySessions bounds the sessions counted at once; past it, new ones
// are served but not counted.
const maxReplaySessions = 4096

// replayViewers are the replay sessions, by session id.
type replayViewers struct {
	mu sync.Mutex
	m  map[string]replaySession
}

type replaySession struct {
	lesson string
	last   time.Time
}

// touch notes a request of session id for lesson at now.
func (v *replayViewers) touch(id, lesson string, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.m == nil {
		v.m = map[string]replaySession{}
	}
	if _, ok := v.m[id]; !ok && len(v.m) >= maxReplaySessions {
		v.expire(now)
		if len(v.m) >= maxReplaySessions {
			return
		}
	}
	v.m[id] = replaySession{lesson, now}
}

// expire forgets the sessions gone quiet; v.mu is held.
func (v *replayViewers) expire(now time.Time) {
	for id, s := range v.m {
		if now.Sub(s.last) > replayTimeout {
			delete(v.m, id)
		}
	}
}

// count is how many sessions watch each lesson at now.
func (v *replayViewers) count(now time.Time) map[string]int {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.expire(now)
	n := map[string]int{}
	for _, s := range v.m {
		n[s.lesson]++
	}
	return n
}

// validSession accepts the session ids playlists hand out.
func validSession(id string) bool {
	if len(id) != 32 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil
}

// replayable opens the recording of lesson id for c: a finished MP4 one,
// shared unless c is an admin, of a stream c may watch.
func (r *Recorder) replayable(id string, c httpapi.Client) (stream, file string, err error) {
	stream, file, err = r.resolve(id)
	if err != nil || filepath.Ext(file) != ".mp4" || !c.MayWatch(stream) {
		return "", "", ErrNoLesson
	}
	if r.isWriting(stream, file) {
		return "", "", ErrNoLesson
	}
	if !c.Admin {
		start, _ := parseName(stream, file)
		r.lmu.Lock()
		meta, err := r.readMeta(stream)
		r.lmu.Unlock()
		if err != nil {
			return "", "", err
		}
		m, ok := meta[file]
		if !ok {
			m = r.defaultMeta(stream, start)
		}
		if !m.Shared {
			return "", "", ErrNoLesson
		}
	}
	return stream, file, nil
}

// servePlaylist answers GET /replay/<id>/index.m3u8: the lesson's HLS VOD
// playlist, its media URL carrying the viewer's session (?s=).
func (a api) servePlaylist(w http.ResponseWriter, r *http.Request, c httpapi.Client) {
	id := r.PathValue("id")
	stream, file, err := a.r.replayable(id, c)
	if err != nil {
		a.noReplay(w, err)
		return
	}
	ix, err := a.r.index(stream, file)
	if err != nil {
		a.noReplay(w, err)
		return
	}
	sid := r.URL.Query().Get("s")
	if !validSession(sid) {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		sid = hex.EncodeToString(b)
	}
	a.r.replays.touch(sid, id, time.Now())
	w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	_, _ = w.Write(ix.playlist("media.mp4?" + url.Values{"s": {sid}}.Encode()))
}

// serveMedia answers GET /replay/<id>/media.mp4: the recording itself, by
// the byte ranges the playlist names.
func (a api) serveMedia(w http.ResponseWriter, r *http.Request, c httpapi.Client) {
	id := r.PathValue("id")
	stream, file, err := a.r.replayable(id, c)
	if err != nil {
		a.noReplay(w, err)
		return
	}
	f, err := a.r.Open(stream, file)
	if err != nil {
		a.noReplay(w, err)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		a.noReplay(w, err)
		return
	}
	if sid := r.URL.Query().Get("s"); validSession(sid) {
		a.r.replays.touch(sid, id, time.Now())
	}
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Content-Type", "video/mp4")
	http.ServeContent(w, r, file, st.ModTime(), f)
}

// noReplay answers a replay that cannot be served: not found, to anyone
// who may not see it, whatever the reason.
func (a api) noReplay(w http.ResponseWriter, err error) {
	if !errors.Is(err, ErrNoLesson) && !errors.Is(err, os.ErrNotExist) {
		a.r.log.Warn("replay failed", "err", err)
	}
	httpapi.Error(w, http.StatusNotFound, "no such lesson")
}
