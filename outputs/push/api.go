package push

// Pushes in the API, for admins only (the addresses hold stream keys):
// adding and removing a server a stream is sent on to, and the pushes'
// states in a stream's view.

import (
	"net/http"

	"chalkcast/internal/httpapi"
)

// Routes adds the push endpoints.
func (p *Pusher) Routes(rt httpapi.Routes) {
	rt.Admin("POST /api/v1/streams/{name}/pushes", p.apiAdd)
	rt.Admin("DELETE /api/v1/streams/{name}/pushes/{id}", p.apiRemove)
}

// View adds the states of stream name's pushes as "pushes", for admins.
func (p *Pusher) View(name string, admin bool, add func(field string, v any)) {
	if !admin {
		return
	}
	if sts := p.Status(name); len(sts) > 0 {
		add("pushes", sts)
	}
}

// apiAdd adds a server the stream is sent on to:
// {"url":"rtmp://host/app/key","play_url":"https://..."}.
func (p *Pusher) apiAdd(w http.ResponseWriter, r *http.Request) {
	var t Target
	if !httpapi.Decode(w, r, 8<<10, &t, "a valid push target", false) {
		return
	}
	name := r.PathValue("name")
	t, err := p.Add(name, t)
	if err != nil {
		httpapi.Fail(w, p.log, err)
		return
	}
	p.log.Info("push added", "stream", name, "id", t.ID)
	for _, st := range p.Status(name) {
		if st.ID == t.ID {
			httpapi.JSON(w, http.StatusCreated, st)
			return
		}
	}
	httpapi.JSON(w, http.StatusCreated, Status{ID: t.ID, State: StateWaiting})
}

// apiRemove stops sending the stream to one server.
func (p *Pusher) apiRemove(w http.ResponseWriter, r *http.Request) {
	if err := p.Remove(r.PathValue("name"), r.PathValue("id")); err != nil {
		httpapi.Fail(w, p.log, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
