package rtmpconn

import (
	"bytes"
	"encoding/binary"
	"math"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"chalkcast/internal/testkit"
)

// server plays a server that answers with fixed bytes and hears nothing.
type server struct {
	net.Conn // nil: only what Conn uses is implemented
	r        *bytes.Reader
}

func (s *server) Read(b []byte) (int, error)       { return s.r.Read(b) }
func (s *server) Write(b []byte) (int, error)      { return len(b), nil }
func (s *server) Close() error                     { return nil }
func (s *server) SetDeadline(time.Time) error      { return nil }
func (s *server) SetReadDeadline(time.Time) error  { return nil }
func (s *server) SetWriteDeadline(time.Time) error { return nil }

func amfStr(b []byte, s string) []byte {
	b = append(b, 2, byte(len(s)>>8), byte(len(s)))
	return append(b, s...)
}

func amfNum(b []byte, f float64) []byte {
	return binary.BigEndian.AppendUint64(append(b, 0), math.Float64bits(f))
}

// answer is what a server sends a player: window and bandwidth, a
// chunk size, the results of connect and createStream, the play status
// and media.
func answer() []byte {
	var b []byte
	b = AppendChunks(b, 2, 0, 5, 0, 128, []byte{0, 0x26, 0x25, 0xa0})
	b = AppendChunks(b, 2, 0, 6, 0, 128, []byte{0, 0x26, 0x25, 0xa0, 2})
	b = AppendChunks(b, 2, 0, 1, 0, 128, []byte{0, 0, 0x10, 0})
	result := amfNum(amfStr(nil, "_result"), 1)
	result = append(result, 3, 0, 4, 'c', 'o', 'd', 'e')
	result = amfStr(result, "NetConnection.Connect.Success")
	result = append(result, 0, 0, 9)
	b = AppendChunks(b, 3, 0, 20, 0, 4096, result)
	b = AppendChunks(b, 3, 0, 20, 0, 4096, amfNum(append(amfNum(amfStr(nil, "_result"), 2), 5), 1))
	b = AppendChunks(b, 2, 0, 4, 0, 4096, []byte{0, 6, 0, 0, 0, 9}) // ping
	status := append(amfNum(amfStr(nil, "onStatus"), 0), 5, 3, 0, 4, 'c', 'o', 'd', 'e')
	status = append(amfStr(status, "NetStream.Play.Start"), 0, 0, 9)
	b = AppendChunks(b, 5, 0, 20, 1, 4096, status)
	b = AppendChunks(b, 6, 40, 9, 1, 4096, bytes.Repeat([]byte{0x17}, 9000))
	return AppendChunks(b, 4, 40, 8, 1, 4096, []byte{0xaf, 1, 2, 3})
}

// replay is a client that has sent connect and createStream to a server
// answering with in.
func replay(in []byte) *Client {
	return &Client{Conn: newConn(&server{r: bytes.NewReader(in)}, Publisher, 0), host: "replay"}
}

// FuzzServerAnswers plays a hostile server to a push or pull: whatever it
// sends, reading it through connect, createStream and playing neither
// panics nor allocates more than in proportion to what it sent.
func FuzzServerAnswers(f *testing.F) {
	f.Add(answer())
	var bomb []byte
	bomb = AppendChunks(bomb, 3, 0, 20, 0, 128, append(amfNum(amfStr(nil, "_result"), 1), 0x0a, 0x7f, 0xff, 0xff, 0xff))
	f.Add(bomb)
	f.Add(AppendChunks(nil, 6, 0, 9, 1, 128, make([]byte, 300))[:200])
	f.Fuzz(func(t *testing.T, in []byte) {
		testkit.MaxAlloc(t, testkit.InputBound(len(in))+256<<10, func() {
			c := replay(in)
			defer c.Close()
			if _, err := c.await("connect", 1); err != nil {
				return
			}
			if _, err := c.await("createStream", 2); err != nil {
				return
			}
			for {
				m, err := c.ReadMessage()
				if err != nil {
					return
				}
				if cmd, err := ParseCommand(m.Body); m.Type == TypeCommand && err == nil {
					cmd.Reason()
				}
			}
		})
	})
}

// The seed answer is read the whole way, as a real server's would be.
func TestServerAnswerIsRead(t *testing.T) {
	c := replay(answer())
	defer c.Close()
	if _, err := c.await("connect", 1); err != nil {
		t.Fatalf("connect: %v", err)
	}
	if v, err := c.await("createStream", 2); err != nil || len(v.Values) == 0 || v.Values[len(v.Values)-1] != float64(1) {
		t.Fatalf("createStream: %v, %v", v, err)
	}
	var kinds []string
	for {
		m, err := c.ReadMessage()
		if err != nil {
			break
		}
		switch m.Type {
		case TypeCommand:
			cmd, _ := ParseCommand(m.Body)
			kinds = append(kinds, cmd.Status())
		case TypeVideo:
			kinds = append(kinds, "video "+strconv.Itoa(len(m.Body)))
		case TypeAudio:
			kinds = append(kinds, "audio")
		}
	}
	if got := strings.Join(kinds, ", "); got != "NetStream.Play.Start, video 9000, audio" {
		t.Errorf("read %q", got)
	}
}
