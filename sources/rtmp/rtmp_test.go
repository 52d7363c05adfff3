package rtmp_test

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"

	rtmpmsg "github.com/yutopp/go-rtmp/message"

	"chalkcast/engine"
	"chalkcast/media/flv"
	"chalkcast/sources/rtmp"
)

const (
	statusPublishStart  = "NetStream.Publish.Start"
	statusPublishFailed = "NetStream.Publish.Failed"
	statusPlayStart     = "NetStream.Play.Start"
	statusPlayFailed    = "NetStream.Play.Failed"
)

func TestPublishDeliversPackets(t *testing.T) {
	e := startServer(t, engine.Config{}, rtmp.Config{})
	s, key := e.create("math")
	p, rd := publishLive(t, e, s, key)

	v360 := avcConfig(t, sps360Main, pps360Main)
	v720 := avcConfig(t, sps720High, pps720High)
	aac := aacConfig(t)

	// Frames before their sequence header cannot be decoded: dropped.
	p.mustVideo(50, videoBody(true, 0, nal(0x65, 0xd0)))
	p.mustAudio(60, audioBody([]byte{0x21, 0xd1}))
	// Sequence headers, then frames. The first frame sets the time base:
	// DTS 100 ms on the wire is 0 in the stream.
	p.mustVideo(0, flv.VideoHeaderBody(v360))
	p.mustAudio(0, flv.AudioHeaderBody(aac))
	p.mustVideo(100, videoBody(true, 40*time.Millisecond, nal(0x65, 1)))
	p.mustAudio(110, audioBody([]byte{0x21, 2}))
	p.mustVideo(133, videoBody(false, 0, nal(0x41, 3)))
	p.mustVideo(166, videoBody(false, 67*time.Millisecond, nal(0x41, 4)))
	// The same header again changes nothing; a new one applies to what
	// follows.
	p.mustVideo(166, flv.VideoHeaderBody(v360))
	p.mustVideo(200, videoBody(false, 0, nal(0x41, 5)))
	p.mustVideo(200, flv.VideoHeaderBody(v720))
	p.mustVideo(233, videoBody(true, 0, nal(0x65, 6)))

	type want struct {
		track    engine.Track
		codec    engine.Codec
		dts, pts time.Duration
		key      bool
		payload  []byte
	}
	ms := time.Millisecond
	wants := []want{
		{engine.TrackVideo, engine.CodecH264, 0, 40 * ms, true, nal(0x65, 1)},
		{engine.TrackAudio, engine.CodecAAC, 10 * ms, 10 * ms, true, []byte{0x21, 2}},
		{engine.TrackVideo, engine.CodecH264, 33 * ms, 33 * ms, false, nal(0x41, 3)},
		{engine.TrackVideo, engine.CodecH264, 66 * ms, 133 * ms, false, nal(0x41, 4)},
		{engine.TrackVideo, engine.CodecH264, 100 * ms, 100 * ms, false, nal(0x41, 5)},
		{engine.TrackVideo, engine.CodecH264, 133 * ms, 133 * ms, true, nal(0x65, 6)},
	}
	got := readPackets(t, rd, len(wants))
	for i, w := range wants {
		g := got[i]
		if g.Track != w.track || g.Codec != w.codec || g.DTS != w.dts || g.PTS != w.pts || g.Keyframe != w.key || !bytes.Equal(g.Payload, w.payload) {
			t.Errorf("packet %d = %v %v dts %v pts %v key %v %x; want %v %v dts %v pts %v key %v %x", i,
				g.Track, g.Codec, g.DTS, g.PTS, g.Keyframe, g.Payload, w.track, w.codec, w.dts, w.pts, w.key, w.payload)
		}
		if g.Config == nil {
			t.Fatalf("packet %d has no codec configuration", i)
		}
	}
	for i, g := range got[:5] {
		if g.Track == engine.TrackVideo && (!bytes.Equal(g.Config.Record, v360.Record) || g.Config.Width != 640 || g.Config.Height != 360 || g.Config.Profile != "Main") {
			t.Errorf("packet %d video config %dx%d %q", i, g.Config.Width, g.Config.Height, g.Config.Profile)
		}
	}
	if got[0].Config != got[4].Config {
		t.Error("a repeated, identical sequence header made a new configuration")
	}
	if c := got[5].Config; c.Width != 1280 || c.Height != 720 || c.Profile != "High" || !bytes.Equal(c.Record, v720.Record) {
		t.Errorf("after a new sequence header: config %dx%d %q", c.Width, c.Height, c.Profile)
	}
	if c := got[1].Config; c.Codec != engine.CodecAAC || c.SampleRate != 44100 || c.Channels != 2 || !bytes.Equal(c.Record, aacLC) {
		t.Errorf("audio config %+v", c)
	}
	vc, ac := s.Configs()
	if vc == nil || vc.Width != 1280 || ac == nil || ac.SampleRate != 44100 {
		t.Errorf("stream configs %+v %+v", vc, ac)
	}
	var in int
	for _, w := range wants {
		in += len(w.payload)
	}
	if st := s.Stats(engine.StatsOptions{}); st.BytesIn != uint64(in) || st.State != engine.StateLive {
		t.Errorf("stats: bytes in %d (want %d), state %s", st.BytesIn, in, st.State)
	}
	if strings.Contains(e.logs.String(), key) {
		t.Error("the server logged the publish key")
	}

	// The publisher leaves: the stream waits for it (grace period).
	_ = p.cc.Close()
	waitState(t, s, engine.StateReconnecting)
	if st := s.Stats(engine.StatsOptions{}); st.LastError != "" {
		t.Errorf("a clean leave set last_error %q", st.LastError)
	}
}

func TestWrongKeyIsRefused(t *testing.T) {
	e := startServer(t, engine.Config{}, rtmp.Config{})
	s, key := e.create("math")

	for _, name := range []string{"not-the-key", "", key[:16], "math", key + "x", " " + key} {
		p := dialPeer(t, e.addr)
		p.connect()
		level, code := p.publish(name)
		if code != statusPublishFailed || level != "error" {
			t.Errorf("publish %q: onStatus %s %s, want error %s", name, level, code, statusPublishFailed)
		}
		p.waitClosed("publish with a wrong key")
		if s.State() != engine.StateIdle {
			t.Fatalf("state after a refused publish = %s", s.State())
		}
	}

	// go-rtmp's own client sees the connection closed.
	c := dialPublisher(t, e.addr, "still-wrong")
	c.waitClosed(t, "go-rtmp client with a wrong key")
	if s.State() != engine.StateIdle {
		t.Errorf("state = %s", s.State())
	}
	if strings.Contains(e.logs.String(), key) {
		t.Error("the server logged the publish key")
	}
	if !strings.Contains(e.logs.String(), "wrong or missing stream key") {
		t.Error("refused publishes were not logged")
	}
	noErrors(t, e.logs)
}

func TestKeyWithQueryIsAccepted(t *testing.T) {
	e := startServer(t, engine.Config{}, rtmp.Config{})
	s, key := e.create("math")
	p := dialPeer(t, e.addr)
	p.connect()
	if level, code := p.publish(key + "?foo=bar&vhost=x"); code != statusPublishStart || level != "status" {
		t.Fatalf("publish key?query: onStatus %s %s", level, code)
	}
	waitState(t, s, engine.StateLive)
	// The wrong key with the same query is still wrong.
	q := dialPeer(t, e.addr)
	q.connect()
	if _, code := q.publish("nope?" + key); code != statusPublishFailed {
		t.Errorf("publish wrong-key?query: %s", code)
	}
}

// malformed input on one connection ends that connection only.
func TestMalformedInputEndsOnlyThatConnection(t *testing.T) {
	e := startServer(t, engine.Config{}, rtmp.Config{})
	steady, good, rd, f := steadyStream(t, e)

	t.Run("garbage instead of a handshake", func(t *testing.T) {
		nc := dialTCP(t, e.addr)
		junk := bytes.Repeat([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 200) // more than C0+C1+C2
		_ = nc.SetWriteDeadline(time.Now().Add(waitTimeout))
		_, _ = nc.Write(junk)
		waitConnClosed(t, nc, "garbage handshake", readRaw(nc))
		expectFlowing(t, rd, "after a garbage handshake")
	})

	t.Run("garbage after the handshake", func(t *testing.T) {
		p := dialPeer(t, e.addr)
		// A complete chunk (fmt 0, chunk stream 3, one byte) of message
		// type 0x63, which RTMP does not define, then noise.
		junk := []byte{0x03, 0, 0, 0, 0, 0, 1, 0x63, 0, 0, 0, 0, 0xaa}
		junk = append(junk, bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef}, 64)...)
		_ = p.nc.SetWriteDeadline(time.Now().Add(waitTimeout))
		_, _ = p.nc.Write(junk)
		waitConnClosed(t, p.nc, "garbage after the handshake", readRaw(p.nc))
		expectFlowing(t, rd, "after garbage chunks")
	})

	t.Run("media on a stream that was never created", func(t *testing.T) {
		p := dialPeer(t, e.addr)
		p.connect()
		p.sid = 7
		p.video(0, videoBody(true, 0, nal(0x65, 1)))
		p.waitClosed("media on stream 7")
		expectFlowing(t, rd, "after media on an unknown message stream")
	})

	t.Run("media before publish", func(t *testing.T) {
		// go-rtmp passes media on a stream that is not publishing to
		// OnUnknownMessage, which ignores it: harmless, and the
		// connection may still publish.
		s, key := e.create("early")
		p := dialPeer(t, e.addr)
		p.connect()
		p.video(0, flv.VideoHeaderBody(avcConfig(t, sps360Main, pps360Main)))
		p.video(0, videoBody(true, 0, nal(0x65, 1)))
		if _, code := p.publish(key); code != statusPublishStart {
			t.Fatalf("publish after early media: %s", code)
		}
		waitState(t, s, engine.StateLive)
		if vc, _ := s.Configs(); vc != nil || s.Stats(engine.StatsOptions{}).BytesIn != 0 {
			t.Error("media sent before publish reached the stream")
		}
		expectFlowing(t, rd, "after media before publish")
	})

	hdr := flv.VideoHeaderBody(avcConfig(t, sps360Main, pps360Main))
	twoByteNALs := append([]byte(nil), hdr...)
	twoByteNALs[5+4] = 0xfd // lengthSizeMinusOne = 1
	for _, c := range []struct {
		name  string
		audio bool
		body  []byte
	}{
		{"unknown video codec id", false, append([]byte{0x13, 1, 0, 0, 0}, nal(0x65, 1)...)},
		{"unknown enhanced fourcc", false, []byte{0x90, 'v', 'p', '0', '9', 1, 2, 3}},
		{"truncated AVC sequence header", false, hdr[:12]},
		{"AVC sequence header without a record", false, []byte{0x17, 0, 0, 0, 0}},
		{"AVC sequence header with 2-byte NAL lengths", false, twoByteNALs},
		{"one-byte video body", false, []byte{0x17}},
		{"bad AVC packet type", false, []byte{0x17, 9, 0, 0, 0, 1}},
		{"unknown sound format", true, []byte{0x2f, 0xff, 0xfb}},
		{"one-byte AAC body", true, []byte{0xaf}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, key := e.create(strings.NewReplacer(" ", "-", "/", "-").Replace(c.name))
			p := dialPublisher(t, e.addr, key)
			waitState(t, s, engine.StateLive)
			if c.audio {
				_ = p.audio(0, c.body)
			} else {
				_ = p.video(0, c.body)
			}
			p.waitClosed(t, c.name)
			waitState(t, s, engine.StateReconnecting)
			if good.closedByServer() || steady.State() != engine.StateLive {
				t.Fatalf("the steady publisher was disturbed (state %s)", steady.State())
			}
			expectFlowing(t, rd, "after "+c.name)
		})
	}

	t.Run("empty message", func(t *testing.T) {
		// Nothing to decode: ignored, and the publisher carries on.
		s, key := e.create("empty")
		p := dialPublisher(t, e.addr, key)
		waitState(t, s, engine.StateLive)
		p.mustVideo(0, []byte{})
		p.mustVideo(0, flv.VideoHeaderBody(avcConfig(t, sps360Main, pps360Main)))
		waitFor(t, "the configuration after an empty message", func() bool { vc, _ := s.Configs(); return vc != nil })
		if p.closedByServer() {
			t.Fatal("an empty message ended the publisher")
		}
	})

	// The server still accepts new connections and publishers.
	s, key := e.create("fresh")
	p := dialPeer(t, e.addr)
	p.connect()
	if _, code := p.publish(key); code != statusPublishStart {
		t.Fatalf("a new publisher after the malformed ones: %s", code)
	}
	waitState(t, s, engine.StateLive)
	expectFlowing(t, rd, "at the end")
	f.stop()
	if err := <-f.err; err != nil {
		t.Errorf("steady publisher: %v", err)
	}
	noErrors(t, e.logs)
}

// When the server drops a publisher for sending something it cannot use,
// the reason must reach the teacher: the stream's last_error (and the
// log), not a silent "reconnecting" as if the publisher had left cleanly.
func TestMalformedMediaIsReported(t *testing.T) {
	e := startServer(t, engine.Config{}, rtmp.Config{})
	s, key := e.create("math")
	p := dialPublisher(t, e.addr, key)
	waitState(t, s, engine.StateLive)
	_ = p.video(0, append([]byte{0x13, 1, 0, 0, 0}, nal(0x65, 1)...)) // codec id 3
	p.waitClosed(t, "unknown codec")
	waitState(t, s, engine.StateReconnecting)
	if le := s.Stats(engine.StatsOptions{}).LastError; !strings.Contains(le, "codec") {
		t.Errorf("last_error = %q after the server dropped a publisher for an unsupported codec", le)
	}
	if logs := e.logs.String(); !strings.Contains(logs, "codec") {
		t.Errorf("the reason was not logged:\n%s", logs)
	}
}

func TestSecondPublisherIsRefused(t *testing.T) {
	e := startServer(t, engine.Config{}, rtmp.Config{})
	s, key := e.create("math")
	first, rd := publishLive(t, e, s, key)
	first.mustVideo(0, flv.VideoHeaderBody(avcConfig(t, sps360Main, pps360Main)))
	feed(t, first, 0)
	expectFlowing(t, rd, "first publisher")

	second := dialPeer(t, e.addr)
	second.connect()
	if level, code := second.publish(key); code != statusPublishFailed || level != "error" {
		t.Errorf("second publisher: onStatus %s %s", level, code)
	}
	second.waitClosed("second publisher")
	if s.State() != engine.StateLive || first.closedByServer() {
		t.Fatalf("the first publisher was disturbed: state %s", s.State())
	}
	expectFlowing(t, rd, "after the second publisher was refused")

	// One connection may not publish twice.
	s2, key2 := e.create("other")
	third := dialPeer(t, e.addr)
	third.connect()
	if _, code := third.publish(key2); code != statusPublishStart {
		t.Fatalf("publish: %s", code)
	}
	waitState(t, s2, engine.StateLive)
	// A second message stream on the same connection publishing the busy
	// key: refused by the handler, which ends the connection.
	third.command(0, "createStream", 3, &rtmpmsg.NetConnectionCreateStream{})
	name, args := third.waitCommand("_result", "_error")
	if name != "_result" || len(args) < 2 {
		t.Fatalf("second createStream: %s %v", name, args)
	}
	third.sid = uint32(args[1].(float64))
	if _, code := third.publish(key); code != statusPublishFailed {
		t.Errorf("second publish on one connection: %s", code)
	}
	third.waitClosed("second publish on one connection")
	waitState(t, s2, engine.StateReconnecting)
	if s.State() != engine.StateLive || first.closedByServer() {
		t.Fatalf("a second publish on another connection disturbed the first publisher")
	}
	expectFlowing(t, rd, "after a repeated publish")
}

func TestResetKeyDisconnectsPublisher(t *testing.T) {
	e := startServer(t, engine.Config{GracePeriod: time.Minute}, rtmp.Config{})
	s, key := e.create("math")
	p, rd := publishLive(t, e, s, key)
	p.mustVideo(0, flv.VideoHeaderBody(avcConfig(t, sps360Main, pps360Main)))
	f := feed(t, p, 0)
	expectFlowing(t, rd, "before the reset")

	newKey, err := e.hub.ResetKey("math")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	p.waitClosed(t, "publisher with a reset key")
	t.Logf("publisher disconnected %v after the reset", time.Since(start).Round(time.Millisecond))
	f.stop()
	if s.State() != engine.StateReconnecting {
		t.Errorf("state after the reset = %s, want reconnecting", s.State())
	}
	if le := s.Stats(engine.StatsOptions{}).LastError; !strings.Contains(le, "key was reset") {
		t.Errorf("last_error = %q", le)
	}

	// The old key is refused; the new one continues the stream for the
	// viewers that stayed.
	old := dialPeer(t, e.addr)
	old.connect()
	if _, code := old.publish(key); code != statusPublishFailed {
		t.Errorf("old key after reset: %s", code)
	}
	q := dialPublisher(t, e.addr, newKey)
	waitState(t, s, engine.StateLive)
	q.mustVideo(0, flv.VideoHeaderBody(avcConfig(t, sps360Main, pps360Main)))
	feed(t, q, 0)
	expectFlowing(t, rd, "with the new key")

	// Deleting the stream ends its publisher and its readers.
	if err := e.hub.Delete("math"); err != nil {
		t.Fatal(err)
	}
	q.waitClosed(t, "publisher of a deleted stream")
}

func TestIdlePublisherTimesOut(t *testing.T) {
	e := startServer(t, engine.Config{}, rtmp.Config{ReadTimeout: 300 * time.Millisecond})
	s, key := e.create("math")
	p := dialPeer(t, e.addr)
	p.connect()
	if _, code := p.publish(key); code != statusPublishStart {
		t.Fatalf("publish: %s", code)
	}
	waitState(t, s, engine.StateLive)
	start := time.Now()
	p.waitClosed("publisher that sends nothing")
	if el := time.Since(start); el < 200*time.Millisecond {
		t.Errorf("closed after %v, before the read timeout", el)
	}
	waitState(t, s, engine.StateReconnecting)
}

func TestPlay(t *testing.T) {
	e := startServer(t, engine.Config{}, rtmp.Config{})
	s, key := e.create("math")

	t.Run("unknown stream", func(t *testing.T) {
		p := dialPeer(t, e.addr)
		p.connect()
		if level, code := p.play("nobody"); code != statusPlayFailed || level != "error" {
			t.Errorf("play nobody: onStatus %s %s", level, code)
		}
		p.waitClosed("play of an unknown stream")
		if !strings.Contains(e.logs.String(), "no such stream") {
			t.Error("the refusal was not logged")
		}
	})
	t.Run("idle stream", func(t *testing.T) {
		p := dialPeer(t, e.addr)
		p.connect()
		if _, code := p.play("math"); code != statusPlayFailed {
			t.Errorf("play of an idle stream: %s", code)
		}
		p.waitClosed("play of an idle stream")
		if n := s.Stats(engine.StatsOptions{}).Viewers.Total; n != 0 {
			t.Errorf("%d viewers after a refused play", n)
		}
	})
	t.Run("by key", func(t *testing.T) {
		p := dialPeer(t, e.addr)
		p.connect()
		if _, code := p.play(key); code != statusPlayFailed {
			t.Errorf("play by publish key: %s", code)
		}
	})

	t.Run("live stream", func(t *testing.T) {
		pub := dialPublisher(t, e.addr, key)
		waitState(t, s, engine.StateLive)
		v := avcConfig(t, sps360Main, pps360Main)
		a := aacConfig(t)
		pub.mustVideo(0, flv.VideoHeaderBody(v))
		pub.mustAudio(0, flv.AudioHeaderBody(a))
		pub.mustVideo(1000, videoBody(true, 40*time.Millisecond, nal(0x65, 1)))
		pub.mustAudio(1010, audioBody([]byte{0x21, 2}))
		waitFor(t, "the keyframe in the stream", func() bool { return s.Stats(engine.StatsOptions{}).BytesIn > 0 })

		p := dialPeer(t, e.addr)
		p.connect()
		if _, code := p.play("math?token=x"); code != statusPlayStart {
			t.Fatalf("play: %s", code)
		}
		waitFor(t, "an rtmp viewer", func() bool {
			return s.Stats(engine.StatsOptions{}).Viewers.ByProtocol["rtmp"] == 1
		})
		var got []string
		var bodies [][]byte
		deadline := time.Now().Add(waitTimeout)
		for len(got) < 4 {
			msg, err := p.next(time.Until(deadline))
			if err != nil {
				t.Fatalf("after %v: %v", got, err)
			}
			switch msg.m.(type) {
			case *rtmpmsg.VideoMessage:
				got = append(got, "video")
			case *rtmpmsg.AudioMessage:
				got = append(got, "audio")
			default:
				continue
			}
			if msg.sid != p.sid {
				t.Errorf("media on message stream %d, want %d", msg.sid, p.sid)
			}
			bodies = append(bodies, msg.body)
		}
		want := [][]byte{
			flv.VideoHeaderBody(v),
			videoBody(true, 40*time.Millisecond, nal(0x65, 1)),
			flv.AudioHeaderBody(a),
			audioBody([]byte{0x21, 2}),
		}
		for i := range want {
			if !bytes.Equal(bodies[i], want[i]) {
				t.Errorf("message %d (%s) = %x, want %x", i, got[i], bodies[i], want[i])
			}
		}
		// More media keeps coming.
		pub.mustVideo(1040, videoBody(false, 0, nal(0x41, 3)))
		for {
			msg, err := p.next(time.Until(deadline))
			if err != nil {
				t.Fatalf("waiting for the next frame: %v", err)
			}
			if _, ok := msg.m.(*rtmpmsg.VideoMessage); ok {
				if want := videoBody(false, 0, nal(0x41, 3)); !bytes.Equal(msg.body, want) {
					t.Errorf("next frame %x, want %x", msg.body, want)
				}
				break
			}
		}
		// The player leaves: its viewer slot is freed.
		p.close()
		waitFor(t, "the rtmp viewer to leave", func() bool { return s.Stats(engine.StatsOptions{}).Viewers.Total == 0 })
	})
	noErrors(t, e.logs)
}

func TestCloseEndsEveryConnection(t *testing.T) {
	e := startServer(t, engine.Config{}, rtmp.Config{})
	s, key := e.create("math")
	pub := dialPublisher(t, e.addr, key)
	waitState(t, s, engine.StateLive)
	pub.mustVideo(0, flv.VideoHeaderBody(avcConfig(t, sps360Main, pps360Main)))
	feed(t, pub, 0)
	waitFor(t, "media", func() bool { return s.Stats(engine.StatsOptions{}).BytesIn > 0 })

	player := dialPeer(t, e.addr)
	player.connect()
	if _, code := player.play("math"); code != statusPlayStart {
		t.Fatalf("play: %s", code)
	}
	connected := dialPeer(t, e.addr) // handshake and connect, nothing else
	connected.connect()
	handshaken := dialPeer(t, e.addr) // handshake only
	silent := dialTCP(t, e.addr)      // not even a handshake
	waitFor(t, "a viewer", func() bool { return s.Stats(engine.StatsOptions{}).Viewers.Total == 1 })

	e.close() // fails the test if Close takes more than 5 s or Serve errs

	pub.waitClosed(t, "publisher after Close")
	player.waitClosed("player after Close")
	connected.waitClosed("connected client after Close")
	handshaken.waitClosed("handshaken client after Close")
	waitConnClosed(t, silent, "silent client after Close", readRaw(silent))
	if c, err := net.DialTimeout("tcp", e.addr, time.Second); err == nil {
		c.Close()
		t.Error("the server still accepts connections after Close")
	}
	waitState(t, s, engine.StateReconnecting)
	waitFor(t, "the player to leave", func() bool { return s.Stats(engine.StatsOptions{}).Viewers.Total == 0 })
	// Close again is harmless.
	if err := e.srv.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestCloseWithoutServe(t *testing.T) {
	hub, err := engine.New(engine.Config{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Close()
	srv := rtmp.New(hub, rtmp.Config{}, slogDiscard())
	done := make(chan error, 1)
	go func() { done <- srv.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("Close of a server that never served did not return")
	}
}

// A server closed before its Serve goroutine got to run (a stop right at
// start-up) must not serve afterwards: Serve should return at once.
func TestServeAfterCloseReturns(t *testing.T) {
	hub, err := engine.New(engine.Config{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Close()
	srv := rtmp.New(hub, rtmp.Config{}, slogDiscard())
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		ln.Close() // lets Serve end so the test leaves nothing behind
		<-done
		t.Fatal("Serve after Close kept accepting connections until its listener was closed by someone else")
	}
}

// A client that connects and then stalls before publishing or playing (a
// browser pointed at the RTMP port, a port scanner, a half-open handshake)
// must not hold a connection and its goroutine forever.
func TestStalledConnectionIsClosed(t *testing.T) {
	e := startServer(t, engine.Config{}, rtmp.Config{ReadTimeout: 500 * time.Millisecond})
	t.Run("partial handshake", func(t *testing.T) {
		nc := dialTCP(t, e.addr)
		_, _ = nc.Write([]byte("GET / HTTP/1.0\r\n\r\n"))
		waitConnClosed(t, nc, "a client stalled in the handshake", readRaw(nc))
	})
	t.Run("after the handshake", func(t *testing.T) {
		p := dialPeer(t, e.addr)
		p.waitClosed("a client stalled after the handshake")
	})
}

// publishLive connects a publisher with key to s, waits until s is live
// and returns the publisher and a reader on s (closed with the test).
// steadyStream is a stream whose publisher feeds video throughout a
// test, to show that what happens to other connections does not disturb
// it.
func steadyStream(t *testing.T, e *env) (*engine.Stream, *publisher, *engine.Reader, *feeder) {
	t.Helper()
	s, key := e.create("steady")
	p, rd := publishLive(t, e, s, key)
	p.mustVideo(0, flv.VideoHeaderBody(avcConfig(t, sps360Main, pps360Main)))
	f := feed(t, p, 0)
	expectFlowing(t, rd, "before anything")
	return s, p, rd, f
}

func publishLive(t *testing.T, e *env, s *engine.Stream, key string) (*publisher, *engine.Reader) {
	t.Helper()
	p := dialPublisher(t, e.addr, key)
	waitState(t, s, engine.StateLive)
	rd, err := s.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rd.Close)
	return p, rd
}
