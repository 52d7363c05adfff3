package flv

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// MaxTagSize bounds the body of one tag a Reader accepts.
const MaxTagSize = 8 << 20

// Tag is one FLV tag as read from a file or stream.
type Tag struct {
	Type      byte
	Timestamp uint32 // milliseconds
	Body      []byte
}

// FileHeader is a parsed FLV header.
type FileHeader struct {
	Version      byte
	Audio, Video bool
}

// Reader reads an FLV byte stream: the header, then tags. It checks every
// length and the PreviousTagSize fields, so a corrupt or hostile stream
// gives an error rather than a huge allocation.
type Reader struct {
	r *bufio.Reader
}

// NewReader returns a reader on r.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 64<<10)}
}

// ReadHeader reads the file header and the first PreviousTagSize.
func (r *Reader) ReadHeader() (FileHeader, error) {
	var h FileHeader
	b := make([]byte, 9)
	if _, err := io.ReadFull(r.r, b); err != nil {
		return h, fmt.Errorf("flv: header: %w", err)
	}
	if b[0] != 'F' || b[1] != 'L' || b[2] != 'V' {
		return h, errors.New("flv: not an FLV stream (no FLV signature)")
	}
	off := binary.BigEndian.Uint32(b[5:])
	if off < 9 || off > 1024 {
		return h, fmt.Errorf("flv: bad header size %d", off)
	}
	if _, err := r.r.Discard(int(off) - 9); err != nil {
		return h, fmt.Errorf("flv: header: %w", err)
	}
	h.Version, h.Audio, h.Video = b[3], b[4]&4 != 0, b[4]&1 != 0
	var pts [4]byte
	if _, err := io.ReadFull(r.r, pts[:]); err != nil {
		return h, fmt.Errorf("flv: header: %w", err)
	}
	if binary.BigEndian.Uint32(pts[:]) != 0 {
		return h, errors.New("flv: first PreviousTagSize is not zero")
	}
	return h, nil
}

// ReadTag reads the next tag. It returns io.EOF at a clean end of stream
// (between tags) and io.ErrUnexpectedEOF inside one.
func (r *Reader) ReadTag() (Tag, error) {
	var t Tag
	var h [11]byte
	if _, err := io.ReadFull(r.r, h[:]); err != nil {
		if err == io.EOF {
			return t, io.EOF
		}
		return t, fmt.Errorf("flv: tag header: %w", err)
	}
	t.Type = h[0] & 0x1f
	if h[0]&0x20 != 0 {
		return t, errors.New("flv: encrypted tags are not supported")
	}
	size := uint32(h[1])<<16 | uint32(h[2])<<8 | uint32(h[3])
	t.Timestamp = uint32(h[7])<<24 | uint32(h[4])<<16 | uint32(h[5])<<8 | uint32(h[6])
	switch t.Type {
	case TagAudio, TagVideo, TagScript:
	default:
		return t, fmt.Errorf("flv: unknown tag type %d", t.Type)
	}
	if size > MaxTagSize {
		return t, fmt.Errorf("flv: tag of %d bytes exceeds the %d byte limit", size, MaxTagSize)
	}
	// Memory grows with the bytes that really arrive, not with the size a
	// (possibly hostile) header announces.
	body := bytes.NewBuffer(make([]byte, 0, min(size+4, 64<<10)))
	if _, err := io.CopyN(body, r.r, int64(size)+4); err != nil {
		return Tag{}, fmt.Errorf("flv: tag body: %w", noEOF(err))
	}
	b := body.Bytes()
	if got := binary.BigEndian.Uint32(b[size:]); got != size+11 {
		return Tag{}, fmt.Errorf("flv: PreviousTagSize %d does not match tag size %d", got, size+11)
	}
	t.Body = b[:size]
	return t, nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
