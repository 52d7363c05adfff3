package rtmpconn

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/yutopp/go-amf0"

	"chalkcast/internal/testkit"
)

// drain reads every message of r as the server does, decoding the values
// of every command and data message.
func drain(r *Reader) {
	for {
		m, err := r.ReadMessage()
		if err != nil {
			return
		}
		if m.Type == TypeCommand || m.Type == TypeData {
			dec := amf0.NewDecoder(bytes.NewReader(m.Body))
			for {
				var v any
				if dec.Decode(&v) != nil {
					break
				}
			}
		}
	}
}

// FuzzReader feeds a peer's bytes through the front and go-rtmp's reading
// of what it passes on: nothing may panic, the front may hold no more than
// its limit, and the whole may allocate only in proportion to the input
// (plus go-rtmp's fixed buffers), whatever lengths and counts it declares.
func FuzzReader(f *testing.F) {
	var ok chunks
	ok.msg(3, 0, 0, TypeCommand, 0, command("connect", 1, amfObject, 0, 3, 'a', 'p', 'p', amfString, 0, 4, 'l', 'i', 'v', 'e', 0, 0, amfObjectEnd))
	ok.setChunkSize(4096)
	ok.msg(5, 0, 0, TypeCommand, 1, command("publish", 0, amfNull, amfString, 0, 1, 'k'))
	ok.msg(4, 0, 0, TypeData, 1, []byte{amfString, 0, 13, '@', 's', 'e', 't', 'D', 'a', 't', 'a', 'F', 'r', 'a', 'm', 'e', amfECMAArray, 0, 0, 0, 1, 0, 1, 'w', amfNumber, 0x40, 0x94, 0, 0, 0, 0, 0, 0, 0, 0, amfObjectEnd})
	ok.msg(6, 0, 40, TypeVideo, 1, bytes.Repeat([]byte{0x17}, 5000))
	ok.msg(6, 3, 0, TypeVideo, 1, bytes.Repeat([]byte{0x27}, 5000))
	ok.msg(2, 0, 0, typeAbort, 0, []byte{0, 0, 0, 6})
	f.Add(ok.Bytes())
	// the two inputs that ended the process through go-rtmp (issue 13)
	f.Add(strictArrayBomb())
	f.Add(nestedBomb(2_000_000))
	var streams chunks
	streams.setChunkSize(8 << 20)
	for i := range 40 {
		streams.msg(uint32(10+i), 0, 0, TypeVideo, 1, []byte{1})
	}
	f.Add(streams.Bytes())
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, lim := range []Limits{Pending, Publisher} {
			testkit.MaxAlloc(t, testkit.InputBound(len(in))+256<<10, func() {
				r := NewReader(bytes.NewReader(in), lim)
				drain(r)
				if max := lim.withDefaults().MaxBuffered; r.Peak() > max {
					t.Fatalf("held %d bytes, above the limit of %d", r.Peak(), max)
				}
			})
		}
	})
}

// FuzzCheckAMF0: what the check accepts, go-amf0 decodes to the end (or
// refuses only for a string that is not UTF-8), within memory bounded by
// the input.
func FuzzCheckAMF0(f *testing.F) {
	f.Add(command("connect", 1, amfObject, 0, 3, 'a', 'p', 'p', amfString, 0, 4, 'l', 'i', 'v', 'e', 0, 0, amfObjectEnd))
	f.Add([]byte{amfStrictArray, 0x7f, 0xff, 0xff, 0xff})
	f.Add(bytes.Repeat([]byte{amfObject, 0, 1, 'a'}, 100_000))
	f.Add([]byte{amfECMAArray, 0, 0, 0, 9, 0, 1, 'x', amfDate, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 0, amfObjectEnd, amfBoolean, 1, 0x06, amfNull})
	f.Fuzz(func(t *testing.T, b []byte) {
		testkit.MaxAlloc(t, testkit.InputBound(len(b)), func() {
			if CheckAMF0(b, 16, 4096) != nil {
				return
			}
			dec := amf0.NewDecoder(bytes.NewReader(b))
			for {
				var v any
				err := dec.Decode(&v)
				if errors.Is(err, io.EOF) {
					return
				}
				if err != nil {
					var de *amf0.DecodeError
					if errors.As(err, &de) && strings.Contains(de.Message, "utf8") {
						return
					}
					t.Fatalf("accepted, but go-amf0 fails: %v", err)
				}
			}
		})
	})
}
