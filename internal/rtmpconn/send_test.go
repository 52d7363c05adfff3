package rtmpconn

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	gortmp "github.com/yutopp/go-rtmp"
	rtmpmsg "github.com/yutopp/go-rtmp/message"

	"chalkcast/engine"
	"chalkcast/media/flv"
)

var (
	testAVC = &engine.CodecConfig{Codec: engine.CodecH264, Record: []byte{1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 4, 0x67, 0x64, 0, 0x1f, 1, 0, 4, 0x68, 0xee, 0x3c, 0x80}}
	testAAC = &engine.CodecConfig{Codec: engine.CodecAAC, Record: []byte{0x12, 0x10}, SampleRate: 44100, Channels: 2}
)

func video(dts time.Duration, key bool, n int, cfg *engine.CodecConfig) *engine.Packet {
	return &engine.Packet{Track: engine.TrackVideo, Codec: engine.CodecH264, DTS: dts, PTS: dts + 40*time.Millisecond, Keyframe: key, Payload: bytes.Repeat([]byte{byte(n)}, n), Config: cfg}
}

func audio(dts time.Duration, cfg *engine.CodecConfig) *engine.Packet {
	return &engine.Packet{Track: engine.TrackAudio, Codec: engine.CodecAAC, DTS: dts, PTS: dts, Keyframe: true, Payload: []byte{1, 2, 3, 4}, Config: cfg}
}

// tagBody is what a packet's message must carry: its FLV tag body.
func tagBody(p *engine.Packet) []byte { return append(flv.BodyPrefix(p), p.Payload...) }

type sent struct {
	video bool
	ts    uint32
	body  []byte
}

// What a Sender writes is read back, by go-rtmp's chunk reader (an
// implementation of its own) and by the Reader: sequence headers before
// the first frame of each track and after a change, frames split into
// chunks, extended timestamps, with and without a time base. go-rtmp
// reads no extended timestamp on a message's further chunks, which
// ffmpeg, OBS and the Reader send and expect: it reads only the batches
// without one.
func TestSenderIsReadBack(t *testing.T) {
	five := 5 * time.Hour // past the 24-bit timestamp
	avc2 := &engine.CodecConfig{Codec: engine.CodecH264, Record: append(bytes.Clone(testAVC.Record), 0)}
	batches := [][]*engine.Packet{
		{video(0, true, 9000, testAVC), audio(10*time.Millisecond, testAAC)},
		{video(40*time.Millisecond, false, 300, testAVC), {Track: engine.TrackAudio, Codec: engine.CodecOpus, Payload: []byte{9}}},
		{video(five, true, 70000, avc2), audio(five, testAAC)},
	}
	want := []sent{
		{true, 0, flv.VideoHeaderBody(testAVC)},
		{true, 0, tagBody(batches[0][0])},
		{false, 10, flv.AudioHeaderBody(testAAC)},
		{false, 10, tagBody(batches[0][1])},
		{true, 40, tagBody(batches[1][0])}, // Opus: FLV cannot carry it
		{true, uint32(five / time.Millisecond), flv.VideoHeaderBody(avc2)},
		{true, uint32(five / time.Millisecond), tagBody(batches[2][0])},
		{false, uint32(five / time.Millisecond), tagBody(batches[2][1])},
	}
	for _, tc := range []struct {
		reader  string
		base    time.Duration
		batches int
	}{{"go-rtmp", -1, 2}, {"go-rtmp", time.Second, 2}, {"Reader", -1, 3}, {"Reader", 0, 3}, {"Reader", time.Second, 3}} {
		base := tc.base
		want := want
		if tc.batches < len(batches) {
			want = want[:5]
		}
		a, b := net.Pipe()
		c := newConn(a, Player, 5*time.Second)
		got := make(chan []sent, 1)
		go func() {
			if tc.reader == "go-rtmp" {
				got <- readBack(t, b)
			} else {
				got <- readOwn(b)
			}
		}()
		if err := c.SetChunkSize(4096); err != nil {
			t.Fatal(err)
		}
		s := c.NewSender(1)
		if base >= 0 {
			s.Rebase(base)
		}
		total := 0
		for _, batch := range batches[:tc.batches] {
			n, err := s.Send(batch)
			if err != nil {
				t.Fatal(err)
			}
			total += n
		}
		a.Close()
		msgs := <-got
		if len(msgs) != len(want) {
			t.Fatalf("%s, base %v: read %d messages, want %d", tc.reader, base, len(msgs), len(want))
		}
		bytesWanted := 0
		for i, w := range want {
			if base > 0 {
				w.ts -= min(w.ts, uint32(base/time.Millisecond))
			}
			bytesWanted += len(w.body)
			if g := msgs[i]; g.video != w.video || g.ts != w.ts || !bytes.Equal(g.body, w.body) {
				t.Errorf("%s, base %v, message %d: video %v at %d, %d bytes; want %v at %d, %d bytes", tc.reader, base, i, g.video, g.ts, len(g.body), w.video, w.ts, len(w.body))
			}
		}
		if total != bytesWanted {
			t.Errorf("%s, base %v: Send counted %d bytes, %d went out", tc.reader, base, total, bytesWanted)
		}
	}
}

// readBack reads media messages with go-rtmp until the connection ends.
func readBack(t *testing.T, nc net.Conn) []sent {
	cs := gortmp.NewChunkStreamer(bufio.NewReader(nc), bufio.NewWriter(io.Discard), nil)
	var out []sent
	for {
		var cm gortmp.ChunkMessage
		_, ts, err := cs.Read(&cm)
		if err != nil {
			return out
		}
		switch m := cm.Message.(type) {
		case *rtmpmsg.SetChunkSize:
			if err := cs.PeerState().SetChunkSize(m.ChunkSize); err != nil {
				t.Errorf("chunk size: %v", err)
			}
		case *rtmpmsg.VideoMessage:
			b, _ := io.ReadAll(m.Payload)
			out = append(out, sent{true, ts, b})
		case *rtmpmsg.AudioMessage:
			b, _ := io.ReadAll(m.Payload)
			out = append(out, sent{false, ts, b})
		}
	}
}

// readOwn reads media messages with the Reader until the connection ends.
func readOwn(nc net.Conn) []sent {
	r := NewReader(nc, Publisher)
	var out []sent
	for {
		m, err := r.ReadMessage()
		if err != nil {
			return out
		}
		if m.Type == TypeVideo || m.Type == TypeAudio {
			out = append(out, sent{m.Type == TypeVideo, m.Timestamp, m.Body})
		}
	}
}

// discard is a connection that takes everything at once.
type discard struct{ net.Conn }

func (discard) Write(b []byte) (int, error)      { return len(b), nil }
func (discard) SetWriteDeadline(time.Time) error { return nil }
func (discard) SetReadDeadline(time.Time) error  { return nil }
func (discard) Read([]byte) (int, error)         { return 0, io.EOF }
func (discard) Close() error                     { return nil }
func (discard) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (discard) SetDeadline(time.Time) error      { return nil }
func (discard) LocalAddr() net.Addr              { return &net.TCPAddr{} }

// One viewer's share of sending a frame: every iteration is one player
// sent one 20 KB frame (four chunks) that all players share.
func BenchmarkSenderPlay(b *testing.B) {
	benchmarkSender(b, false)
}

// A push's: the frame's header is the Sender's own (rebased time).
func BenchmarkSenderPush(b *testing.B) {
	benchmarkSender(b, true)
}

func benchmarkSender(b *testing.B, rebased bool) {
	c := newConn(discard{}, Player, time.Minute)
	c.chunkSize = serverChunkSize / 8
	batch := []*engine.Packet{video(0, true, 20000, testAVC), audio(0, testAAC)}
	senders := make([]*Sender, 64)
	for i := range senders {
		senders[i] = c.NewSender(1)
		if rebased {
			senders[i].Rebase(time.Millisecond)
		}
		if _, err := senders[i].Send(batch); err != nil { // sequence headers, once
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(batch[0].Payload) + len(batch[1].Payload)))
	b.ResetTimer()
	for i := range b.N {
		if _, err := senders[i%len(senders)].Send(batch); err != nil {
			b.Fatal(err)
		}
	}
}
