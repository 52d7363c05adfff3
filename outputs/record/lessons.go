package record

// Lessons: every finished recording is one, with a title and whether
// students may watch it again. What the teacher set is kept beside the
// recordings, in each stream's folder (lessons.json), so that it travels
// with them.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"chalkcast/engine"
)

// Lesson is a finished recording as students see it.
type Lesson struct {
	// ID names the lesson everywhere (its file's name without the
	// extension: "<stream>_<start>").
	ID       string        `json:"id"`
	Stream   string        `json:"stream"`
	Title    string        `json:"title"`
	Start    time.Time     `json:"start"`
	Duration time.Duration `json:"-"` // duration_s in JSON
	Shared   bool          `json:"shared"`
	// Viewers are the replay sessions watching it now.
	Viewers int `json:"viewers"`
	// Replay: it plays in a browser. MP4 lessons do; FLV ones are
	// download-only, so only admins see them.
	Replay bool `json:"-"`
	// File is the recording's name, Size its bytes (for admins).
	File string `json:"file,omitempty"`
	Size int64  `json:"size,omitempty"`
	// The links the API gives: the replay page and its HLS playlist, or,
	// for a lesson that does not play in a browser, the download (admins).
	ReplayURL   string `json:"replay_url,omitempty"`
	HLSURL      string `json:"hls_url,omitempty"`
	DownloadURL string `json:"download_url,omitempty"`
}

// linked is l with its links, starting at base.
func (l Lesson) linked(base string) Lesson {
	if l.Replay {
		l.ReplayURL = base + "/watch/" + url.PathEscape(l.Stream) + "/replay/" + url.PathEscape(l.ID)
		l.HLSURL = base + "/replay/" + url.PathEscape(l.ID) + "/index.m3u8"
	} else if l.File != "" {
		l.DownloadURL = base + "/api/v1/recordings/" + url.PathEscape(l.Stream) + "/" + url.PathEscape(l.File)
	}
	return l
}

// MarshalJSON writes the duration in seconds, as the API does.
func (l Lesson) MarshalJSON() ([]byte, error) {
	type plain Lesson
	return json.Marshal(struct {
		plain
		DurationS float64 `json:"duration_s"`
	}{plain(l), l.Duration.Seconds()})
}

// lessonMeta is what the teacher set for one lesson.
type lessonMeta struct {
	Title  string `json:"title"`
	Shared bool   `json:"shared"`
}

// lessonsFile is where a stream's folder keeps its lessons' settings, by
// file name; maxLessonsFile bounds what is read of it.
const (
	lessonsFile    = "lessons.json"
	maxLessonsFile = 4 << 20
	// MaxTitle is the longest lesson title, in characters.
	MaxTitle = 200
)

// idRE splits a lesson id into its stream and the rest of its file name.
var idRE = regexp.MustCompile(`^(.+)_(\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d(?:-\d{1,2})?)$`)

// ErrNoLesson: no such lesson, or not one this client may see.
var ErrNoLesson = fmt.Errorf("no such lesson: %w", engine.ErrNotFound)

// lessonID is the id of recording file.
func lessonID(file string) string { return strings.TrimSuffix(file, filepath.Ext(file)) }

// resolve finds the recording of lesson id: its stream and file name.
func (r *Recorder) resolve(id string) (stream, file string, err error) {
	m := idRE.FindStringSubmatch(id)
	if m == nil || engine.ValidateName(m[1]) != nil {
		return "", "", ErrNoLesson
	}
	for _, ext := range []string{".mp4", ".flv"} {
		if _, ok := parseName(m[1], id+ext); !ok {
			continue
		}
		if st, err := os.Lstat(filepath.Join(r.cfg.Dir, m[1], id+ext)); err == nil && st.Mode().IsRegular() {
			return m[1], id + ext, nil
		}
	}
	return "", "", ErrNoLesson
}

// Lessons lists stream's finished recordings as lessons, newest first:
// all of them for an admin, else the shared ones that play in a browser.
func (r *Recorder) Lessons(stream string, admin bool) ([]Lesson, error) {
	files, err := r.list(stream)
	if err != nil {
		return nil, err
	}
	r.lmu.Lock()
	meta, err := r.readMeta(stream)
	r.lmu.Unlock()
	if err != nil {
		return nil, err
	}
	watching := r.replays.count(time.Now())
	out := []Lesson{}
	for _, f := range files {
		if f.Recording {
			continue
		}
		l := r.lesson(f, meta)
		l.Viewers = watching[l.ID]
		if admin {
			out = append(out, l)
		} else if l.Shared && l.Replay {
			l.File, l.Size = "", 0
			out = append(out, l)
		}
	}
	return out, nil
}

// Lesson is lesson id, if it exists and, for a client that is not an
// admin, is shared and plays in a browser.
func (r *Recorder) Lesson(id string, admin bool) (Lesson, error) {
	stream, _, err := r.resolve(id)
	if err != nil {
		return Lesson{}, err
	}
	ls, err := r.Lessons(stream, admin)
	if err != nil {
		return Lesson{}, err
	}
	for _, l := range ls {
		if l.ID == id {
			return l, nil
		}
	}
	return Lesson{}, ErrNoLesson
}

// lesson is finished recording f as a lesson, with what meta holds for it
// or else the defaults: the stream's title and the start, shared unless
// the stream's setting says otherwise.
func (r *Recorder) lesson(f File, meta map[string]lessonMeta) Lesson {
	m, ok := meta[f.Name]
	if !ok {
		m = r.defaultMeta(f.Stream, f.Start)
	}
	return Lesson{ID: lessonID(f.Name), Stream: f.Stream, Title: m.Title, Start: f.Start, Duration: f.Duration,
		Shared: m.Shared, Replay: filepath.Ext(f.Name) == ".mp4", File: f.Name, Size: f.Size}
}

// defaultMeta is a new lesson's title and sharing.
func (r *Recorder) defaultMeta(stream string, start time.Time) lessonMeta {
	title, shared := stream, true
	if s, ok := r.hub.Get(stream); ok {
		if t := s.Config().Title; t != "" {
			title = t
		}
		shared = !SettingsOf(s.Config()).Unshared
	}
	return lessonMeta{Title: title + " · " + start.Local().Format("2006-01-02 15:04"), Shared: shared}
}

// LessonChange is what PATCH /api/v1/lessons/<id> may change.
type LessonChange struct {
	Title  *string `json:"title,omitempty"`
	Shared *bool   `json:"shared,omitempty"`
}

// ChangeLesson renames, shares or unshares lesson id.
func (r *Recorder) ChangeLesson(id string, c LessonChange) (Lesson, error) {
	stream, file, err := r.resolve(id)
	if err != nil {
		return Lesson{}, err
	}
	if r.isWriting(stream, file) {
		return Lesson{}, ErrWriting
	}
	if c.Title != nil {
		t, err := cleanTitle(*c.Title)
		if err != nil {
			return Lesson{}, err
		}
		c.Title = &t
	}
	start, _ := parseName(stream, file)
	err = r.changeMeta(stream, func(meta map[string]lessonMeta) {
		m, ok := meta[file]
		if !ok {
			m = r.defaultMeta(stream, start)
		}
		if c.Title != nil {
			m.Title = *c.Title
		}
		if c.Shared != nil {
			m.Shared = *c.Shared
		}
		meta[file] = m
	})
	if err != nil {
		return Lesson{}, err
	}
	l, err := r.Lesson(id, true)
	if err == nil {
		r.log.Info("lesson changed", "lesson", id, "title", l.Title, "shared", l.Shared)
	}
	return l, err
}

// cleanTitle is a title as given, trimmed, once it is one line of at most
// MaxTitle characters.
func cleanTitle(t string) (string, error) {
	t = strings.TrimSpace(t)
	switch {
	case t == "":
		return "", fmt.Errorf("%w: a lesson needs a title", engine.ErrInvalid)
	case !utf8.ValidString(t) || strings.ContainsFunc(t, unicode.IsControl):
		return "", fmt.Errorf("%w: a lesson title is one line of text", engine.ErrInvalid)
	case utf8.RuneCountInString(t) > MaxTitle:
		return "", fmt.Errorf("%w: a lesson title has at most %d characters", engine.ErrInvalid, MaxTitle)
	}
	return t, nil
}

// DeleteLesson removes lesson id's recording and what was set for it.
func (r *Recorder) DeleteLesson(id string) error {
	stream, file, err := r.resolve(id)
	if err != nil {
		return err
	}
	return r.Delete(stream, file)
}

// newLesson notes a recording file as it starts, so that its title and
// sharing are those of that moment.
func (r *Recorder) newLesson(stream, file string, start time.Time) {
	m := r.defaultMeta(stream, start)
	err := r.changeMeta(stream, func(meta map[string]lessonMeta) { meta[file] = m })
	if err != nil {
		r.log.Warn("lesson settings not saved", "stream", stream, "file", file, "err", err)
	}
}

// forget drops what was set for a deleted recording.
func (r *Recorder) forget(stream, file string) error {
	return r.changeMeta(stream, func(meta map[string]lessonMeta) { delete(meta, file) })
}

// changeMeta changes stream's lesson settings and saves them.
func (r *Recorder) changeMeta(stream string, change func(map[string]lessonMeta)) error {
	r.lmu.Lock()
	defer r.lmu.Unlock()
	old, err := r.readMeta(stream)
	if err != nil {
		return err
	}
	meta := maps.Clone(old)
	change(meta)
	b, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Join(r.cfg.Dir, stream)
	tmp, err := os.CreateTemp(dir, ".lessons-*.json")
	if err != nil {
		return fmt.Errorf("record: save lessons of %s: %w", stream, err)
	}
	_, err = tmp.Write(b)
	if serr := tmp.Sync(); err == nil {
		err = serr
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, lessonsFile))
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("record: save lessons of %s: %w", stream, explain(err))
	}
	r.meta[stream] = meta
	return nil
}

// readMeta is stream's lesson settings (none yet is empty), read once
// and then kept: the recorder is what changes them. r.lmu is held, and
// the map is not to be changed. A file that does not read is reported,
// never overwritten.
func (r *Recorder) readMeta(stream string) (map[string]lessonMeta, error) {
	if meta, ok := r.meta[stream]; ok {
		return meta, nil
	}
	if r.meta == nil {
		r.meta = map[string]map[string]lessonMeta{}
	}
	meta := map[string]lessonMeta{}
	f, err := os.Open(filepath.Join(r.cfg.Dir, stream, lessonsFile))
	if errors.Is(err, os.ErrNotExist) {
		r.meta[stream] = meta
		return meta, nil
	}
	if err != nil {
		return nil, fmt.Errorf("record: lessons of %s: %w", stream, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxLessonsFile+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("record: lessons of %s: %w", stream, err)
	case len(b) > maxLessonsFile:
		return nil, fmt.Errorf("record: lessons of %s: %s is larger than %d bytes", stream, lessonsFile, maxLessonsFile)
	}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &meta); err != nil {
			return nil, fmt.Errorf("record: lessons of %s: %s: %w", stream, lessonsFile, err)
		}
	}
	r.meta[stream] = meta
	return meta, nil
}
