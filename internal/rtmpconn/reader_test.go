package rtmpconn

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
)

// chunks writes RTMP chunks the way a peer does, in every header form.
type chunks struct {
	bytes.Buffer
	size int // the chunk size the peer writes with
}

// msg writes one message: its first chunk with header format f (field is
// the timestamp for format 0, the delta for 1 and 2), the rest as type 3
// chunks, which repeat an extended timestamp.
func (c *chunks) msg(id uint32, f byte, field uint32, typ byte, streamID uint32, body []byte) {
	size := c.size
	if size == 0 {
		size = 128
	}
	basic := func(f byte) {
		switch {
		case id < 64:
			c.WriteByte(f<<6 | byte(id))
		case id < 320:
			c.Write([]byte{f << 6, byte(id - 64)})
		default:
			c.Write([]byte{f<<6 | 1, byte((id - 64) % 256), byte((id - 64) / 256)})
		}
	}
	short := min(field, 0xffffff)
	basic(f)
	n := len(body)
	switch f {
	case 0:
		c.Write([]byte{byte(short >> 16), byte(short >> 8), byte(short), byte(n >> 16), byte(n >> 8), byte(n), typ})
		c.Write(binary.LittleEndian.AppendUint32(nil, streamID))
	case 1:
		c.Write([]byte{byte(short >> 16), byte(short >> 8), byte(short), byte(n >> 16), byte(n >> 8), byte(n), typ})
	case 2:
		c.Write([]byte{byte(short >> 16), byte(short >> 8), byte(short)})
	}
	ext := short == 0xffffff
	if ext {
		c.Write(binary.BigEndian.AppendUint32(nil, field))
	}
	for first := true; first || len(body) > 0; first = false {
		if !first {
			basic(3)
			if ext {
				c.Write(binary.BigEndian.AppendUint32(nil, field))
			}
		}
		k := min(size, len(body))
		c.Write(body[:k])
		body = body[k:]
	}
}

func (c *chunks) setChunkSize(size uint32) {
	c.msg(2, 0, 0, typeSetChunkSize, 0, binary.BigEndian.AppendUint32(nil, size))
	c.size = int(size)
}

// command is an AMF0 command message body.
func command(name string, tid float64, rest ...byte) []byte {
	b := []byte{amfString, 0, byte(len(name))}
	b = append(b, name...)
	b = append(b, amfNumber)
	b = binary.BigEndian.AppendUint64(b, math.Float64bits(tid))
	return append(b, rest...)
}

// got is one message as the Reader yields it.
type got struct {
	ts   uint32
	typ  string
	body []byte
}

// readAll reads messages from r until it fails.
func readAll(t *testing.T, r *Reader) ([]got, error) {
	t.Helper()
	var out []got
	for {
		m, err := r.ReadMessage()
		if err != nil {
			return out, err
		}
		g := got{ts: m.Timestamp, body: m.Body}
		switch m.Type {
		case TypeVideo:
			g.typ = "video"
		case TypeAudio:
			g.typ = "audio"
		case TypeCommand:
			cmd, err := ParseCommand(m.Body)
			if err != nil {
				t.Fatalf("a checked command does not parse: %v", err)
			}
			g.typ, g.body = "command:"+cmd.Name, nil
		default:
			g.typ = "other"
		}
		out = append(out, g)
	}
}

func TestReaderPassesWhatPeersSend(t *testing.T) {
	big := bytes.Repeat([]byte{0x17, 1, 2, 3, 4, 5, 6, 7, 8}, 1000) // 9000 bytes: many chunks
	var c chunks
	c.msg(3, 0, 0, TypeCommand, 0, command("connect", 1, amfNull))
	c.setChunkSize(4096)
	c.msg(6, 0, 1000, TypeVideo, 1, big)
	c.msg(4, 0, 1000, TypeAudio, 1, []byte{0xaf, 1, 9})
	c.msg(6, 2, 33, TypeVideo, 1, big)               // delta only: the same length
	c.msg(6, 1, 34, TypeVideo, 1, big[:5000])        // delta, new length
	c.msg(6, 3, 0, TypeVideo, 1, big[:5000])         // everything as before: the delta again
	c.msg(4, 0, 0x1000000, TypeAudio, 1, big[:6000]) // extended timestamp, repeated on type 3 chunks
	c.msg(330, 0, 7, TypeVideo, 1, []byte{0x27, 1})  // a three-byte chunk stream id
	c.msg(4, 0, 1, TypeAudio, 1, nil)                // empty: says nothing, nothing is passed on
	want := []got{
		{0, "command:connect", nil},
		{1000, "video", big},
		{1000, "audio", []byte{0xaf, 1, 9}},
		{1033, "video", big},
		{1067, "video", big[:5000]},
		{1101, "video", big[:5000]},
		{0x1000000, "audio", big[:6000]},
		{7, "video", []byte{0x27, 1}},
	}
	r := NewReader(&c, Publisher)
	msgs, err := readAll(t, r)
	if !errors.Is(err, io.EOF) {
		t.Fatalf("ended with %v, want EOF", err)
	}
	if len(msgs) != len(want) {
		for _, g := range msgs {
			t.Logf("ts %d, %s, %d bytes", g.ts, g.typ, len(g.body))
		}
		t.Fatalf("got %d messages, want %d", len(msgs), len(want))
	}
	for i, w := range want {
		g := msgs[i]
		if g.ts != w.ts || g.typ != w.typ || (w.body != nil && !bytes.Equal(g.body, w.body)) {
			t.Errorf("message %d: ts %d, %s, %d bytes; want %d, %s, %d bytes", i, g.ts, g.typ, len(g.body), w.ts, w.typ, len(w.body))
		}
	}
	if p := r.Peak(); p > 9000+128 {
		t.Errorf("held %d bytes at most, want about one message", p)
	}
}

// The inputs that ended the whole process through go-rtmp's AMF0 decoder
// (issue 13): a strict array declaring 0x7fffffff elements, and about two
// million nested objects behind a raised chunk size.
func strictArrayBomb() []byte {
	var c chunks
	c.msg(3, 0, 0, TypeCommand, 0, command("connect", 1, amfStrictArray, 0x7f, 0xff, 0xff, 0xff))
	return c.Bytes()
}

func nestedBomb(depth int) []byte {
	var c chunks
	c.setChunkSize(0xffffff)
	body := command("connect", 1)
	for range depth {
		body = append(body, amfObject, 0, 1, 'a')
	}
	c.msg(3, 0, 0, TypeCommand, 0, body)
	return c.Bytes()
}

func TestReaderRefuses(t *testing.T) {
	var manyStreams chunks
	manyStreams.setChunkSize(8 << 20)
	for i := range 48 {
		manyStreams.msg(uint32(10+i), 0, 0, TypeVideo, 1, make([]byte, 1<<20))
	}
	// the first chunk of a 1 MiB message on each of 48 chunk streams
	var partial chunks
	partial.setChunkSize(65536)
	for i := range 48 {
		var one chunks
		one.size = 65536
		one.msg(uint32(10+i), 0, 0, TypeVideo, 1, make([]byte, 1<<20))
		partial.Write(one.Bytes()[:12+65536])
	}
	var bigMessages chunks
	bigMessages.setChunkSize(65536)
	bigMessages.msg(10, 0, 0, TypeVideo, 1, make([]byte, 16<<20-1))
	var interleaved chunks
	interleaved.msg(6, 0, 0, TypeVideo, 1, make([]byte, 200))
	interleaved.Truncate(interleaved.Len() - 73) // the second chunk
	interleaved.msg(6, 0, 0, TypeVideo, 1, make([]byte, 10))
	var amf3 chunks
	amf3.msg(3, 0, 0, typeCommandAMF3, 0, append([]byte{0}, command("connect", 1)...))
	var deep chunks
	deep.msg(3, 0, 0, TypeCommand, 0, append(command("connect", 1), bytes.Repeat([]byte{amfStrictArray, 0, 0, 0, 1}, 40)...))
	var tooMany chunks
	tooMany.setChunkSize(65536)
	tooMany.msg(3, 0, 0, TypeCommand, 0, append(command("connect", 1), bytes.Repeat([]byte{amfNull}, 5000)...))
	var chunk0 chunks
	chunk0.msg(2, 0, 0, typeSetChunkSize, 0, []byte{0, 0, 0, 0})
	var noHeader chunks
	noHeader.WriteByte(3<<6 | 5)
	noHeader.Write([]byte{1, 2, 3})
	cases := []struct {
		name   string
		in     []byte
		lim    Limits
		reason string
	}{
		{"strict array of 0x7fffffff", strictArrayBomb(), Pending, "declares 2147483647 elements"},
		{"two million nested objects", nestedBomb(2_000_000), Pending, "chunk size of 16777215"},
		{"nested objects within the chunk size", nestedBomb(1000), Limits{MaxChunkSize: 0xffffff}, "nested deeper than 16"},
		{"chunk size 8 MiB", manyStreams.Bytes(), Publisher, "chunk size of 8388608"},
		{"48 chunk streams of 1 MiB", manyStreams.Bytes(), Limits{MaxChunkSize: 8 << 20}, "more than 32 chunk streams"},
		{"16 MiB messages", bigMessages.Bytes(), Publisher, "16777215 bytes, more than the 8388608 allowed"},
		{"media before admission", bigMessages.Bytes(), Pending, "more than the 8192 allowed"},
		{"buffered across streams", partial.Bytes(), Limits{MaxChunkStreams: 64, MaxBuffered: 2 << 20}, "more than 2097152 bytes"},
		{"a new header mid-message", interleaved.Bytes(), Publisher, "before the last one ended"},
		{"AMF3", amf3.Bytes(), Pending, "AMF3"},
		{"nested 40 deep", deep.Bytes(), Pending, "nested deeper than 16"},
		{"5000 values", tooMany.Bytes(), Publisher, "too many values"},
		{"chunk size 0", chunk0.Bytes(), Pending, "chunk size of 0"},
		{"type 3 without a header", noHeader.Bytes(), Pending, "unknown type 0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(bytes.NewReader(tc.in), tc.lim)
			_, err := readAll(t, r)
			var v *Violation
			if !errors.As(err, &v) || !strings.Contains(v.Reason, tc.reason) {
				t.Fatalf("ended with %v, want a violation about %q", err, tc.reason)
			}
			if lim := tc.lim.withDefaults(); r.Peak() > lim.MaxBuffered {
				t.Errorf("held %d bytes, above the limit %d", r.Peak(), lim.MaxBuffered)
			}
		})
	}
}

func TestReaderAbort(t *testing.T) {
	var c chunks
	c.msg(6, 0, 0, TypeVideo, 1, make([]byte, 300))
	c.Truncate(c.Len() - 45) // without its last chunk
	c.msg(2, 0, 0, typeAbort, 0, binary.BigEndian.AppendUint32(nil, 6))
	c.msg(6, 0, 5, TypeVideo, 1, []byte{0x17, 1})
	msgs, err := readAll(t, NewReader(&c, Publisher))
	if !errors.Is(err, io.EOF) || len(msgs) != 1 || msgs[0].ts != 5 {
		t.Fatalf("after an abort: %+v, %v", msgs, err)
	}
}

func TestAppendChunksIsWhatPeersSend(t *testing.T) {
	body := bytes.Repeat([]byte{9}, 300)
	for _, ts := range []uint32{5, 0x1000001} {
		for _, id := range []uint32{3, 100, 400} {
			var c chunks
			c.msg(id, 0, ts, TypeVideo, 1, body)
			if got := AppendChunks(nil, id, ts, TypeVideo, 1, 128, body); !bytes.Equal(got, c.Bytes()) {
				t.Errorf("chunk stream %d, ts %d: %x, want %x", id, ts, got, c.Bytes())
			}
		}
	}
}
