package record

// Recordings in the API: start, stop, settings, the list, downloads and
// deletion, all for admins only (recordings are the class), and a
// stream's recording state in its view.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"chalkcast/engine"
	"chalkcast/internal/httpapi"
)

// Routes adds the recording endpoints.
func (r *Recorder) Routes(rt httpapi.Routes) {
	a := api{r, rt}
	rt.Admin("POST /api/v1/streams/{name}/recording", a.start)
	rt.Admin("DELETE /api/v1/streams/{name}/recording", a.stop)
	rt.Admin("PUT /api/v1/streams/{name}/recording/settings", a.settings)
	rt.Admin("GET /api/v1/recordings", a.list)
	rt.Admin("GET /api/v1/recordings/{stream}/{file}", a.download)
	rt.Admin("DELETE /api/v1/recordings/{stream}/{file}", a.delete)
	rt.Public("GET /api/v1/streams/{name}/lessons", a.lessons)
	rt.Public("GET /api/v1/lessons/{id}", a.lesson)
	rt.Admin("PATCH /api/v1/lessons/{id}", a.changeLesson)
	rt.Admin("DELETE /api/v1/lessons/{id}", a.deleteLesson)
	rt.Public("GET /replay/{id}/index.m3u8", a.servePlaylist)
	rt.Public("GET /replay/{id}/media.mp4", a.serveMedia)
}

// View adds stream name's recording state as "recording_status" while it
// records or after a recording failed; a client that is not an admin
// learns only that it records, not where to.
func (r *Recorder) View(name string, admin bool, add func(field string, v any)) {
	switch rs := r.Status(name); {
	case admin && (rs.Active || rs.Error != ""):
		add("recording_status", rs)
	case rs.Active:
		add("recording_status", Status{Active: true})
	}
}

// Section is the field of a new stream's description with its recording
// settings, and the section they are saved in.
func (r *Recorder) Section() string { return Section }

// NewSection checks the recording settings of a new stream's description
// and returns what to save: nothing for the defaults.
func (r *Recorder) NewSection(raw json.RawMessage) (json.RawMessage, error) {
	var o Settings
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		return nil, fmt.Errorf("%w: recording settings: %v", engine.ErrInvalid, err)
	}
	if o == (Settings{}) {
		return nil, nil
	}
	return o.Encode()
}

type api struct {
	r  *Recorder
	rt httpapi.Routes
}

// start records a live stream now; the body may set the format
// and split ({"format":"flv","split_minutes":30}), else the stream's
// setting applies.
func (a api) start(w http.ResponseWriter, r *http.Request) {
	var opt *Settings
	if r.ContentLength != 0 {
		var o *Settings
		if !httpapi.Decode(w, r, 4<<10, &o, "a valid recording setting", true) {
			return
		}
		opt = o
	}
	st, err := a.r.Start(r.PathValue("name"), opt)
	switch {
	case errors.Is(err, ErrNotLive), errors.Is(err, ErrRecording):
		httpapi.Error(w, http.StatusConflict, err.Error())
	case err != nil:
		httpapi.Fail(w, a.r.log, err)
	default:
		httpapi.JSON(w, http.StatusCreated, st)
	}
}

// stop stops a recording and answers with its (last) file.
func (a api) stop(w http.ResponseWriter, r *http.Request) {
	f, err := a.r.Stop(r.PathValue("name"))
	switch {
	case errors.Is(err, ErrNotRecording):
		httpapi.Error(w, http.StatusNotFound, err.Error())
	case err != nil:
		httpapi.Error(w, http.StatusInternalServerError, err.Error())
	default:
		httpapi.JSON(w, http.StatusOK, f)
	}
}

// settings saves whether and how a stream is recorded.
func (a api) settings(w http.ResponseWriter, r *http.Request) {
	var rc Settings
	if !httpapi.Decode(w, r, 4<<10, &rc, "a valid recording setting", false) {
		return
	}
	if err := a.r.SetSettings(r.PathValue("name"), rc); err != nil {
		httpapi.Fail(w, a.r.log, err)
		return
	}
	httpapi.JSON(w, http.StatusOK, rc)
}

// list lists the recordings.
func (a api) list(w http.ResponseWriter, _ *http.Request) {
	files, err := a.r.List()
	if err != nil {
		httpapi.Fail(w, a.r.log, err)
		return
	}
	if files == nil {
		files = []File{}
	}
	httpapi.JSON(w, http.StatusOK, map[string]any{"recordings": files, "folder": a.r.Dir()})
}

// download serves one recording file; nothing outside the
// recordings folder, and nothing but recordings, can be named.
func (a api) download(w http.ResponseWriter, r *http.Request) {
	f, err := a.r.Open(r.PathValue("stream"), r.PathValue("file"))
	if err != nil {
		httpapi.Error(w, http.StatusNotFound, "no such recording")
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		httpapi.Error(w, http.StatusNotFound, "no such recording")
		return
	}
	name := filepath.Base(f.Name())
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	http.ServeContent(w, r, name, st.ModTime(), f)
}

// delete removes one finished recording, with the
// same names as download; a file still being written is a conflict.
func (a api) delete(w http.ResponseWriter, r *http.Request) {
	stream, file := r.PathValue("stream"), r.PathValue("file")
	switch err := a.r.Delete(stream, file); {
	case errors.Is(err, os.ErrNotExist):
		httpapi.Error(w, http.StatusNotFound, "no such recording")
	case errors.Is(err, ErrWriting):
		httpapi.Error(w, http.StatusConflict, err.Error())
	case err != nil:
		httpapi.Fail(w, a.r.log, err)
	default:
		httpapi.JSON(w, http.StatusOK, map[string]string{"deleted": file, "stream": stream})
	}
}

// lessons lists a stream's lessons: the shared ones, or all for an admin.
func (a api) lessons(w http.ResponseWriter, r *http.Request, c httpapi.Client) {
	name := r.PathValue("name")
	if !c.MayWatch(name) {
		httpapi.Error(w, http.StatusNotFound, fmt.Sprintf("no stream named %q", name))
		return
	}
	ls, err := a.r.Lessons(name, c.Admin)
	if err != nil {
		httpapi.Fail(w, a.r.log, err)
		return
	}
	base := a.rt.Base()
	for i := range ls {
		ls[i] = ls[i].linked(base)
	}
	httpapi.JSON(w, http.StatusOK, map[string]any{"lessons": ls})
}

// lesson is one lesson, to whoever may see it.
func (a api) lesson(w http.ResponseWriter, r *http.Request, c httpapi.Client) {
	l, err := a.r.Lesson(r.PathValue("id"), c.Admin)
	if err != nil || !c.MayWatch(l.Stream) {
		httpapi.Error(w, http.StatusNotFound, ErrNoLesson.Error())
		return
	}
	httpapi.JSON(w, http.StatusOK, l.linked(a.rt.Base()))
}

// changeLesson renames, shares or unshares a lesson
// ({"title":"…","shared":false}).
func (a api) changeLesson(w http.ResponseWriter, r *http.Request) {
	var c LessonChange
	if !httpapi.Decode(w, r, 4<<10, &c, "a lesson change (title, shared)", false) {
		return
	}
	l, err := a.r.ChangeLesson(r.PathValue("id"), c)
	switch {
	case errors.Is(err, ErrWriting):
		httpapi.Error(w, http.StatusConflict, err.Error())
		return
	case err != nil:
		httpapi.Fail(w, a.r.log, err)
		return
	}
	httpapi.JSON(w, http.StatusOK, l.linked(a.rt.Base()))
}

// deleteLesson removes a lesson's recording from disk.
func (a api) deleteLesson(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	switch err := a.r.DeleteLesson(id); {
	case errors.Is(err, os.ErrNotExist), errors.Is(err, ErrNoLesson):
		httpapi.Error(w, http.StatusNotFound, ErrNoLesson.Error())
	case errors.Is(err, ErrWriting):
		httpapi.Error(w, http.StatusConflict, err.Error())
	case err != nil:
		httpapi.Fail(w, a.r.log, err)
	default:
		httpapi.JSON(w, http.StatusOK, map[string]string{"deleted": id})
	}
}
