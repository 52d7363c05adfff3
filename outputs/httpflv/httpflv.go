// Package httpflv serves live streams as HTTP-FLV (GET /live/<name>.flv),
// the low-latency path for mpegts.js, ffplay and VLC.
//
// Each packet's FLV tag is built once (engine.Packet.Wire) and shared by
// every viewer; a viewer's goroutine only copies packet pointers from its
// cursor and writes them to its own socket with one writev per batch, so a
// slow viewer slows nobody else.
// Like every output it only reads streams from the engine: it must not
// import a source or the GUI.
package httpflv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"chalkcast/engine"
	"chalkcast/internal/connlimit"
	"chalkcast/internal/httpapi"
	"chalkcast/media/flv"
)

// Config configures the output. Zero fields take the stated defaults.
type Config struct {
	// WriteTimeout disconnects a viewer whose socket accepts nothing for
	// this long. Default 15 s.
	WriteTimeout time.Duration
}

// Output serves HTTP-FLV viewers of a hub.
type Output struct {
	hub *engine.Hub
	cfg Config
	log *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // the ticker and one per viewer
	// idle is closed and replaced once a second: viewers that have not
	// written for a while then check that their client is still there.
	idle atomic.Pointer[chan struct{}]
}

// New returns an output for hub; Close it to end every viewer.
func New(hub *engine.Hub, cfg Config, log *slog.Logger) *Output {
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 15 * time.Second
	}
	o := &Output{hub: hub, cfg: cfg, log: log.With("component", "httpflv")}
	o.ctx, o.cancel = context.WithCancel(context.Background())
	ch := make(chan struct{})
	o.idle.Store(&ch)
	o.wg.Add(1)
	go o.tick()
	return o
}

func (o *Output) tick() {
	defer o.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-o.ctx.Done():
			return
		case <-t.C:
			next := make(chan struct{})
			close(*o.idle.Swap(&next))
		}
	}
}

// Close ends every viewer with a clean end of stream and waits for them.
func (o *Output) Close() {
	o.cancel()
	o.wg.Wait()
}

// flvTag is the key of FLV tag frames in engine.Packet.Wire.
type flvTag struct{}

// Serve streams name to the viewer of r. Refusals are JSON errors:
// 404 for an unknown or idle stream, 503 when a limit is reached.
func (o *Output) Serve(w http.ResponseWriter, r *http.Request, name string) {
	s, ok := o.hub.Get(name)
	if !ok {
		httpapi.Error(w, http.StatusNotFound, fmt.Sprintf("no stream named %q", name))
		return
	}
	v, err := s.Join(engine.ViewerInfo{Protocol: "flv", Remote: r.RemoteAddr, Agent: r.UserAgent()})
	if err != nil {
		httpapi.Error(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	s.AwaitLive(r.Context(), engine.AwaitStart) // an on-demand camera connects now
	rd, err := s.NewReader(v)
	if err != nil {
		v.Leave()
		httpapi.Error(w, http.StatusNotFound, err.Error())
		return
	}
	// Answer only once there is something to send: the FLV header must
	// say which tracks follow, and a stream that ends first gets a 404.
	first, err := rd.Next(r.Context(), nil)
	if err != nil {
		rd.Close()
		v.Leave()
		if errors.Is(err, io.EOF) {
			httpapi.Error(w, http.StatusNotFound, fmt.Sprintf("stream %s ended", name))
		}
		return
	}
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		rd.Close()
		v.Leave()
		httpapi.Error(w, http.StatusInternalServerError, "cannot stream on this connection")
		return
	}
	// The viewer lives in a fresh goroutine so that net/http's connection
	// goroutine, its stack and its buffers are released now: a viewer
	// costs a cursor, two small goroutines and its socket.
	vw := &viewer{o: o, conn: conn, out: connlimit.Socket(conn), v: v, rd: rd, chunked: r.ProtoAtLeast(1, 1)}
	v.OnEvict(func() { conn.Close() }) // a client that stopped reading gives its place to a new one
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		vw.run(first)
	}()
}

type viewer struct {
	o       *Output
	conn    net.Conn
	out     net.Conn // the socket under conn: one writev per batch
	v       *engine.Viewer
	rd      *engine.Reader
	chunked bool
	bufs    net.Buffers // the next write: [prefix] [chunk size] tags... [CRLF]
	sending net.Buffers
	size    []byte // chunk size line
	// deadline is the write deadline set on conn; it is moved forward only
	// when less than half of WriteTimeout is left, which bounds a stalled
	// write between WriteTimeout/2 and WriteTimeout without a timer update
	// on every write.
	deadline  time.Time
	lastWrite time.Time
}

const responseHead = "Content-Type: video/x-flv\r\n" +
	"Cache-Control: no-cache, no-store\r\n" +
	"Access-Control-Allow-Origin: *\r\n" +
	"Access-Control-Expose-Headers: Content-Type\r\n" +
	"X-Content-Type-Options: nosniff\r\n"

func (vw *viewer) run(first []*engine.Packet) {
	err := vw.stream(first)
	if vw.chunked && !isNetErr(err) {
		_ = vw.conn.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = io.WriteString(vw.conn, "0\r\n\r\n") // clean end of stream
	}
	vw.conn.Close()
	vw.rd.Close()
	vw.v.Leave()
}

// errShutdown ends viewers when the output closes.
var errShutdown = errors.New("httpflv: shutting down")

// gone reports whether the client closed its connection. A client sends
// nothing after its request, so a read that does not time out at once
// means it went away. Writes notice that too, but a quiet stream (a
// publisher within its grace period) writes nothing, and the viewer count
// must drop within seconds when a tab closes.
func (vw *viewer) gone() bool {
	_ = vw.conn.SetReadDeadline(time.Now().Add(time.Millisecond))
	var b [1]byte
	_, err := vw.conn.Read(b[:])
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

func isNetErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, net.ErrClosed)
}

func (vw *viewer) stream(batch []*engine.Packet) error {
	video, audio := vw.v.Stream().Configs()
	head := "HTTP/1.1 200 OK\r\n" + responseHead + "Transfer-Encoding: chunked\r\n\r\n"
	if !vw.chunked {
		head = "HTTP/1.0 200 OK\r\n" + responseHead + "Connection: close\r\n\r\n"
	}
	vw.begin([]byte(head))
	vw.add(flv.Header(video != nil, audio != nil))
	if err := vw.flush(); err != nil {
		return err
	}
	var sent flv.Sent
	for {
		vw.begin(nil)
		for _, p := range batch {
			if !flv.Carries(p.Codec) {
				continue
			}
			if sent.NeedsHeader(p) {
				if t := flv.SequenceTag(p.Config, p.DTS); t != nil {
					vw.add(t)
				}
			}
			// The tag's header is built once for all viewers; the payload
			// is the source's own buffer, never copied.
			f := p.Wire(flvTag{}, flv.PacketFrame)
			vw.add(f[:len(f)-4], p.Payload, f[len(f)-4:])
		}
		if err := vw.flush(); err != nil {
			return err
		}
		var err error
		if batch, err = vw.next(batch[:0]); err != nil {
			return err
		}
	}
}

// next waits for packets, checking once a second of silence that the
// client is still there. One goroutine per viewer does it all.
func (vw *viewer) next(batch []*engine.Packet) ([]*engine.Packet, error) {
	for {
		batch, wait, err := vw.rd.TryNext(batch)
		if err != nil || len(batch) > 0 {
			return batch, err
		}
		select {
		case <-wait:
		case <-vw.o.ctx.Done():
			return batch, errShutdown
		case <-*vw.o.idle.Load():
			if time.Since(vw.lastWrite) > time.Second && vw.gone() {
				return batch, io.ErrClosedPipe
			}
		}
	}
}

// begin starts a write: prefix goes out as it is, what add adds goes out
// as one HTTP chunk (when chunked); flush sends it all with one writev.
func (vw *viewer) begin(prefix []byte) {
	vw.bufs = vw.bufs[:0]
	if prefix != nil {
		vw.bufs = append(vw.bufs, prefix)
	}
	vw.bufs = append(vw.bufs, nil) // the chunk size line, set by flush
}

func (vw *viewer) add(parts ...[]byte) { vw.bufs = append(vw.bufs, parts...) }

func (vw *viewer) flush() error {
	sizeAt := 0
	if vw.bufs[0] != nil {
		sizeAt = 1
	}
	n := 0
	for _, b := range vw.bufs[sizeAt+1:] {
		n += len(b)
	}
	if n == 0 {
		return nil
	}
	if vw.chunked {
		vw.size = strconv.AppendInt(vw.size[:0], int64(n), 16)
		vw.size = append(vw.size, '\r', '\n')
		vw.bufs[sizeAt] = vw.size
		vw.bufs = append(vw.bufs, crlf)
	}
	now := time.Now()
	vw.lastWrite = now
	if vw.deadline.Sub(now) < vw.o.cfg.WriteTimeout/2 {
		vw.deadline = now.Add(vw.o.cfg.WriteTimeout)
		_ = vw.out.SetWriteDeadline(vw.deadline)
	}
	vw.sending = vw.bufs // WriteTo consumes its receiver; a field, so that nothing escapes
	vw.v.Writing()
	if _, err := vw.sending.WriteTo(vw.out); err != nil {
		return err
	}
	vw.v.AddBytes(n)
	return nil
}

var crlf = []byte("\r\n")
