package rtmp_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	gortmp "github.com/yutopp/go-rtmp"
	"github.com/yutopp/go-rtmp/handshake"
	rtmpmsg "github.com/yutopp/go-rtmp/message"

	"chalkcast/engine"
	"chalkcast/engine/codec"
	"chalkcast/internal/logbuf"
	"chalkcast/media/flv"
	"chalkcast/sources/rtmp"
)

// waitTimeout bounds every wait for something that should happen.
const waitTimeout = 5 * time.Second

// env is a real hub and RTMP server on a loopback port.
type env struct {
	t      *testing.T
	hub    *engine.Hub
	srv    *rtmp.Server
	addr   string
	logs   *logbuf.Buffer
	served chan error
	once   sync.Once
}

func startServer(t *testing.T, ecfg engine.Config, rcfg rtmp.Config) *env {
	t.Helper()
	logs := &logbuf.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	hub, err := engine.New(ecfg, nil, log)
	if err != nil {
		t.Fatalf("engine.New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		hub.Close()
		t.Fatalf("listen: %v", err)
	}
	e := &env{t: t, hub: hub, srv: rtmp.New(hub, rcfg, log), addr: ln.Addr().String(), logs: logs, served: make(chan error, 1)}
	go func() { e.served <- e.srv.Serve(ln) }()
	t.Cleanup(func() {
		e.close()
		hub.Close()
		if t.Failed() {
			t.Logf("server logs:\n%s", logs.String())
		}
	})
	return e
}

// close closes the server once: Close must return within 5 s, and Serve
// must then return nil.
func (e *env) close() {
	e.once.Do(func() {
		t := e.t
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- e.srv.Close() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Server.Close: %v", err)
			}
		case <-time.After(waitTimeout):
			t.Errorf("Server.Close did not return within %v", waitTimeout)
			return
		}
		t.Logf("Server.Close took %v", time.Since(start).Round(time.Millisecond))
		select {
		case err := <-e.served:
			if err != nil {
				t.Errorf("Serve returned %v after Close, want nil", err)
			}
		case <-time.After(waitTimeout):
			t.Errorf("Serve did not return within %v of Close", waitTimeout)
		}
	})
}

// create makes a stream and returns it with its key.
func (e *env) create(name string) (*engine.Stream, string) {
	e.t.Helper()
	s, err := e.hub.Create(engine.StreamConfig{Name: name})
	if err != nil {
		e.t.Fatalf("create %s: %v", name, err)
	}
	return s, s.Config().Key
}

// waitFor polls cond every 10 ms until it holds, failing after waitTimeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", waitTimeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitState(t *testing.T, s *engine.Stream, want engine.State) {
	t.Helper()
	waitFor(t, "stream "+s.Name()+" to be "+string(want), func() bool { return s.State() == want })
}

// ---- media built with the FLV helpers ----

// An x264 640x360 Main and a 1280x720 High SPS, with their PPS.
var (
	sps360Main = mustHex("674d401eeca05017fcb808800000030080000019078b16cb")
	pps360Main = mustHex("68ebe3cb20")
	sps720High = mustHex("6764001facd9405005bb0110000003001000000303c0f1831960")
	pps720High = mustHex("68ebe3cb22c0")
	aacLC      = []byte{0x12, 0x10} // AAC-LC, 44.1 kHz, stereo
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func avcConfig(t *testing.T, sps, pps []byte) *engine.CodecConfig {
	t.Helper()
	rec, err := codec.BuildAVCRecord([][]byte{sps}, [][]byte{pps})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := codec.H264Config(rec)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func aacConfig(t *testing.T) *engine.CodecConfig {
	t.Helper()
	cfg, err := codec.AACConfig(aacLC)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// nal is one length-prefixed NAL unit of type typ whose bytes are tagged
// with id, so that a test can tell frames apart.
func nal(typ, id byte) []byte { return []byte{0, 0, 0, 4, typ, 0x88, id, 0x80} }

// videoBody is the RTMP video message body of an H.264 access unit.
func videoBody(key bool, cts time.Duration, payload []byte) []byte {
	p := &engine.Packet{Track: engine.TrackVideo, Codec: engine.CodecH264, Keyframe: key, PTS: cts, Payload: payload}
	return append(flv.BodyPrefix(p), payload...)
}

func audioBody(payload []byte) []byte {
	p := &engine.Packet{Track: engine.TrackAudio, Codec: engine.CodecAAC, Keyframe: true, Payload: payload}
	return append(flv.BodyPrefix(p), payload...)
}

// ---- a publisher: go-rtmp's client ----

// publisher is go-rtmp's client publishing to the server. Its message
// loop ignores onStatus, so a refusal shows as the server closing the
// connection (LastError becomes non-nil).
type publisher struct {
	t  *testing.T
	cc *gortmp.ClientConn
	st *gortmp.Stream
}

// dialPublisher connects, creates a stream and sends publish for name.
// It does not wait for the server's answer.
func dialPublisher(t *testing.T, addr, name string) *publisher {
	t.Helper()
	type result struct {
		p   *publisher
		err error
	}
	res := make(chan result, 1)
	dialed := make(chan *gortmp.ClientConn, 1)
	go func() {
		cc, err := gortmp.Dial("rtmp", addr, &gortmp.ConnConfig{})
		if err != nil {
			res <- result{err: err}
			return
		}
		dialed <- cc
		if err := cc.Connect(&rtmpmsg.NetConnectionConnect{Command: rtmpmsg.NetConnectionConnectCommand{
			App: "live", Type: "nonprivate", FlashVer: "FMLE/3.0", TCURL: "rtmp://" + addr + "/live"}}); err != nil {
			res <- result{err: err}
			return
		}
		st, err := cc.CreateStream(nil, gortmp.DefaultChunkSize)
		if err != nil {
			res <- result{err: err}
			return
		}
		if err := st.Publish(&rtmpmsg.NetStreamPublish{PublishingName: name, PublishingType: "live"}); err != nil {
			res <- result{err: err}
			return
		}
		res <- result{p: &publisher{t: t, cc: cc, st: st}}
	}()
	select {
	case r := <-res:
		if r.err != nil {
			t.Fatalf("publisher: %v", r.err)
		}
		t.Cleanup(func() { _ = r.p.cc.Close() })
		return r.p
	case <-time.After(waitTimeout):
		select {
		case cc := <-dialed:
			_ = cc.Close()
		default:
		}
		t.Fatalf("publisher: no answer to connect/createStream within %v", waitTimeout)
		return nil
	}
}

// Media bodies stay below the 128-byte chunk size, so that messages on the
// audio and video chunk streams reach the server in the order written.
func (p *publisher) video(ts uint32, body []byte) error {
	return p.st.Write(6, ts, &rtmpmsg.VideoMessage{Payload: bytes.NewReader(body)})
}

func (p *publisher) audio(ts uint32, body []byte) error {
	return p.st.Write(4, ts, &rtmpmsg.AudioMessage{Payload: bytes.NewReader(body)})
}

func (p *publisher) mustVideo(ts uint32, body []byte) {
	p.t.Helper()
	if err := p.video(ts, body); err != nil {
		p.t.Fatalf("write video at %d: %v", ts, err)
	}
}

func (p *publisher) mustAudio(ts uint32, body []byte) {
	p.t.Helper()
	if err := p.audio(ts, body); err != nil {
		p.t.Fatalf("write audio at %d: %v", ts, err)
	}
}

// closedByServer reports whether the connection's read loop has ended.
func (p *publisher) closedByServer() bool { return p.cc.LastError() != nil }

func (p *publisher) waitClosed(t *testing.T, what string) {
	t.Helper()
	waitFor(t, what+": connection closed by the server", p.closedByServer)
}

// feeder keeps a publisher sending a small keyframe every 40 ms until
// the test ends or stop is called.
type feeder struct {
	stop func()
	err  chan error
}

func feed(t *testing.T, p *publisher, startTS uint32) *feeder {
	t.Helper()
	quit := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		tick := time.NewTicker(40 * time.Millisecond)
		defer tick.Stop()
		ts := startTS
		for i := byte(0); ; i++ {
			select {
			case <-quit:
				errc <- nil
				return
			case <-tick.C:
			}
			ts += 40
			if err := p.video(ts, videoBody(true, 0, nal(0x65, i))); err != nil {
				errc <- err
				return
			}
		}
	}()
	var once sync.Once
	f := &feeder{err: errc}
	f.stop = func() { once.Do(func() { close(quit) }) }
	t.Cleanup(f.stop)
	return f
}

// expectFlowing fails unless rd gets a packet published after the call
// within waitTimeout.
func expectFlowing(t *testing.T, rd *engine.Reader, what string) {
	t.Helper()
	since := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	for {
		pkts, err := rd.Next(ctx, nil)
		if err != nil {
			t.Fatalf("%s: the other stream stopped: %v", what, err)
		}
		for _, p := range pkts {
			if p.Published.After(since) {
				return
			}
		}
	}
}

// readPackets reads exactly n packets from rd.
func readPackets(t *testing.T, rd *engine.Reader, n int) []*engine.Packet {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	var out []*engine.Packet
	for len(out) < n {
		pkts, err := rd.Next(ctx, nil)
		out = append(out, pkts...)
		if err != nil {
			t.Fatalf("after %d of %d packets: %v", len(out), n, err)
		}
	}
	if len(out) != n {
		t.Fatalf("got %d packets, want %d", len(out), n)
	}
	return out
}

// ---- a raw peer: go-rtmp's handshake and chunk streamer ----

// peer speaks RTMP with go-rtmp's handshake and chunk streamer directly,
// so that a test sees every answer (onStatus codes, media for players) and
// notices when the server closes the connection.
type peer struct {
	t    *testing.T
	nc   net.Conn
	cs   *gortmp.ChunkStreamer
	sid  uint32
	once sync.Once
}

func dialTCP(t *testing.T, addr string) net.Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, waitTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}

func dialPeer(t *testing.T, addr string) *peer {
	t.Helper()
	nc := dialTCP(t, addr)
	_ = nc.SetDeadline(time.Now().Add(waitTimeout))
	if err := handshake.HandshakeWithServer(nc, nc, &handshake.Config{}); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	_ = nc.SetDeadline(time.Time{})
	p := &peer{t: t, nc: nc, cs: gortmp.NewChunkStreamer(bufio.NewReader(nc), bufio.NewWriter(nc), nil)}
	t.Cleanup(p.close)
	return p
}

func (p *peer) close() {
	p.once.Do(func() {
		p.nc.Close()
		_ = p.cs.Close()
	})
}

func (p *peer) write(sid uint32, csid int, ts uint32, m rtmpmsg.Message) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := p.cs.Write(ctx, csid, ts, &gortmp.ChunkMessage{StreamID: sid, Message: m}); err != nil {
		p.t.Fatalf("write %T: %v", m, err)
	}
}

// command sends an AMF0 command with the arguments of body, or args.
func (p *peer) command(sid uint32, name string, tx int64, body rtmpmsg.AMFConvertible, args ...any) {
	p.t.Helper()
	buf := new(bytes.Buffer)
	enc := rtmpmsg.NewAMFEncoder(buf, rtmpmsg.EncodingTypeAMF0)
	if body != nil {
		if err := rtmpmsg.EncodeBodyAnyValues(enc, body); err != nil {
			p.t.Fatal(err)
		}
	}
	for _, a := range args {
		if err := enc.Encode(a); err != nil {
			p.t.Fatal(err)
		}
	}
	p.write(sid, 3, 0, &rtmpmsg.CommandMessage{CommandName: name, TransactionID: tx, Encoding: rtmpmsg.EncodingTypeAMF0, Body: buf})
}

// message is one message the server sent.
type message struct {
	ts   uint32
	sid  uint32
	m    rtmpmsg.Message
	body []byte // payload of media and command messages
}

// next reads the next message, waiting at most d.
func (p *peer) next(d time.Duration) (message, error) {
	_ = p.nc.SetReadDeadline(time.Now().Add(d))
	var cm gortmp.ChunkMessage
	_, ts, err := p.cs.Read(&cm)
	if err != nil {
		return message{}, err
	}
	msg := message{ts: ts, sid: cm.StreamID, m: cm.Message}
	switch m := cm.Message.(type) {
	case *rtmpmsg.SetChunkSize:
		if err := p.cs.PeerState().SetChunkSize(m.ChunkSize); err != nil {
			return msg, err
		}
	case *rtmpmsg.VideoMessage:
		msg.body, err = io.ReadAll(m.Payload)
	case *rtmpmsg.AudioMessage:
		msg.body, err = io.ReadAll(m.Payload)
	case *rtmpmsg.CommandMessage:
		msg.body, err = io.ReadAll(m.Body)
	}
	return msg, err
}

// waitCommand reads until a command named one of names arrives and
// returns its name and AMF arguments.
func (p *peer) waitCommand(names ...string) (string, []any) {
	p.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		msg, err := p.next(time.Until(deadline))
		if err != nil {
			p.t.Fatalf("waiting for %v: %v", names, err)
		}
		cmd, ok := msg.m.(*rtmpmsg.CommandMessage)
		if !ok {
			continue
		}
		for _, n := range names {
			if cmd.CommandName == n {
				dec := rtmpmsg.NewAMFDecoder(bytes.NewReader(msg.body), cmd.Encoding)
				var args []any
				for {
					var v any
					if err := dec.Decode(&v); err != nil {
						break
					}
					args = append(args, v)
				}
				return n, args
			}
		}
	}
}

// waitClosed reads until the server closes the connection, failing if it
// is still open after waitTimeout.
func (p *peer) waitClosed(what string) {
	p.t.Helper()
	waitConnClosed(p.t, p.nc, what, func(d time.Duration) error { _, err := p.next(d); return err })
}

// waitConnClosed calls read until it fails with something other than a
// timeout.
func waitConnClosed(t *testing.T, nc net.Conn, what string, read func(time.Duration) error) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("%s: the server did not close the connection within %v", what, waitTimeout)
		}
		err := read(left)
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("%s: the server did not close the connection within %v", what, waitTimeout)
		}
		return // EOF, reset or a broken stream: closed
	}
}

func readRaw(nc net.Conn) func(time.Duration) error {
	buf := make([]byte, 4096)
	return func(d time.Duration) error {
		_ = nc.SetReadDeadline(time.Now().Add(d))
		_, err := nc.Read(buf)
		return err
	}
}

// connect sends connect and createStream and keeps the stream id.
func (p *peer) connect() {
	p.t.Helper()
	p.command(0, "connect", 1, &rtmpmsg.NetConnectionConnect{Command: rtmpmsg.NetConnectionConnectCommand{
		App: "live", Type: "nonprivate", FlashVer: "FMLE/3.0", TCURL: "rtmp://" + p.nc.RemoteAddr().String() + "/live"}})
	if name, args := p.waitCommand("_result", "_error"); name != "_result" {
		p.t.Fatalf("connect: %s %v", name, args)
	}
	p.command(0, "createStream", 2, &rtmpmsg.NetConnectionCreateStream{})
	name, args := p.waitCommand("_result", "_error")
	if name != "_result" || len(args) < 2 {
		p.t.Fatalf("createStream: %s %v", name, args)
	}
	id, ok := args[1].(float64)
	if !ok {
		p.t.Fatalf("createStream result %v", args)
	}
	p.sid = uint32(id)
}

// status waits for onStatus and returns its level and code.
func (p *peer) status() (level, code string) {
	p.t.Helper()
	_, args := p.waitCommand("onStatus")
	for _, a := range args {
		if m, ok := a.(map[string]any); ok {
			level, _ = m["level"].(string)
			code, _ = m["code"].(string)
			return level, code
		}
	}
	p.t.Fatalf("onStatus without an info object: %v", args)
	return "", ""
}

// publish sends publish for name and returns the onStatus answer.
func (p *peer) publish(name string) (level, code string) {
	p.t.Helper()
	p.command(p.sid, "publish", 0, &rtmpmsg.NetStreamPublish{PublishingName: name, PublishingType: "live"})
	return p.status()
}

// play sends play for name and returns the onStatus answer.
func (p *peer) play(name string) (level, code string) {
	p.t.Helper()
	p.command(p.sid, "play", 0, nil, nil, name)
	return p.status()
}

func (p *peer) video(ts uint32, body []byte) {
	p.write(p.sid, 6, ts, &rtmpmsg.VideoMessage{Payload: bytes.NewReader(body)})
}

func slogDiscard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// noErrors fails if the server logged at level ERROR.
func noErrors(t *testing.T, logs *logbuf.Buffer) {
	t.Helper()
	if s := logs.String(); strings.Contains(s, "level=ERROR") {
		t.Errorf("the server logged an error:\n%s", s)
	}
}
