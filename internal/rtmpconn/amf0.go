package rtmpconn

import (
	"encoding/binary"
	"fmt"
)

// AMF0 markers (AMF0 specification, 2.1).
const (
	amfNumber      = 0x00
	amfBoolean     = 0x01
	amfString      = 0x02
	amfObject      = 0x03
	amfNull        = 0x05
	amfECMAArray   = 0x08
	amfObjectEnd   = 0x09
	amfStrictArray = 0x0a
	amfDate        = 0x0b
)

// CheckAMF0 reports whether b is a sequence of whole AMF0 values, nested
// at most maxDepth deep and at most maxValues in all, using only the types
// that go-amf0 decodes. It walks the bytes without allocating, so a
// declared length or count is checked against the bytes that are really
// there before anything is sized from it.
func CheckAMF0(b []byte, maxDepth, maxValues int) error {
	w := amfWalker{b: b, maxDepth: maxDepth, values: maxValues}
	for w.pos < len(w.b) {
		if err := w.value(0); err != nil {
			return err
		}
	}
	return nil
}

type amfWalker struct {
	b        []byte
	pos      int
	maxDepth int
	values   int // still allowed
}

func (w *amfWalker) need(n uint64, what string) error {
	if uint64(len(w.b)-w.pos) < n {
		return fmt.Errorf("AMF0 %s needs %d bytes, %d are left", what, n, len(w.b)-w.pos)
	}
	return nil
}

func (w *amfWalker) skip(n uint64, what string) error {
	if err := w.need(n, what); err != nil {
		return err
	}
	w.pos += int(n)
	return nil
}

func (w *amfWalker) u16(what string) (uint64, error) {
	if err := w.need(2, what); err != nil {
		return 0, err
	}
	v := binary.BigEndian.Uint16(w.b[w.pos:])
	w.pos += 2
	return uint64(v), nil
}

func (w *amfWalker) u32(what string) (uint64, error) {
	if err := w.need(4, what); err != nil {
		return 0, err
	}
	v := binary.BigEndian.Uint32(w.b[w.pos:])
	w.pos += 4
	return uint64(v), nil
}

func (w *amfWalker) value(depth int) error {
	if w.values--; w.values < 0 {
		return fmt.Errorf("AMF0 message has too many values")
	}
	if err := w.need(1, "marker"); err != nil {
		return err
	}
	marker := w.b[w.pos]
	w.pos++
	switch marker {
	case amfNumber:
		return w.skip(8, "number")
	case amfBoolean:
		return w.skip(1, "boolean")
	case amfString:
		n, err := w.u16("string length")
		if err != nil {
			return err
		}
		return w.skip(n, "string")
	case amfNull:
		return nil
	case amfDate:
		return w.skip(10, "date")
	case amfObject:
		return w.properties(depth + 1)
	case amfECMAArray:
		if _, err := w.u32("ECMA array count"); err != nil { // a hint only: the end marker ends it
			return err
		}
		return w.properties(depth + 1)
	case amfStrictArray:
		n, err := w.u32("strict array count")
		if err != nil {
			return err
		}
		// Every element takes at least its marker byte.
		if left := uint64(len(w.b) - w.pos); n > left {
			return fmt.Errorf("AMF0 strict array declares %d elements in %d bytes", n, left)
		}
		if depth+1 > w.maxDepth {
			return fmt.Errorf("AMF0 values nested deeper than %d", w.maxDepth)
		}
		for i := uint64(0); i < n; i++ {
			if err := w.value(depth + 1); err != nil {
				return err
			}
		}
		return nil
	case amfObjectEnd:
		return fmt.Errorf("AMF0 object end outside an object")
	default:
		return fmt.Errorf("AMF0 type 0x%02x is not supported", marker)
	}
}

// properties walks an object's or ECMA array's key/value pairs up to the
// empty key and end marker.
func (w *amfWalker) properties(depth int) error {
	if depth > w.maxDepth {
		return fmt.Errorf("AMF0 values nested deeper than %d", w.maxDepth)
	}
	for {
		n, err := w.u16("property name length")
		if err != nil {
			return err
		}
		if n == 0 {
			if err := w.need(1, "object end"); err != nil {
				return err
			}
			if w.b[w.pos] != amfObjectEnd {
				return fmt.Errorf("AMF0 object has an empty property name")
			}
			w.pos++
			return nil
		}
		if err := w.skip(n, "property name"); err != nil {
			return err
		}
		if err := w.value(depth); err != nil {
			return err
		}
	}
}
