package rtmpconn

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	amf0 "github.com/yutopp/go-amf0"
)

// Object is an AMF0 object whose properties are sent in their order.
type Object []Property

// Property is one key and value of an Object.
type Property struct {
	Key   string
	Value any
}

// appendAMF0 appends v in AMF0: nil, a number (float64, int or uint32),
// a bool, a string or an Object.
func appendAMF0(b []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, amfNull)
	case float64:
		return binary.BigEndian.AppendUint64(append(b, amfNumber), math.Float64bits(v))
	case int:
		return appendAMF0(b, float64(v))
	case uint32:
		return appendAMF0(b, float64(v))
	case bool:
		if v {
			return append(b, amfBoolean, 1)
		}
		return append(b, amfBoolean, 0)
	case string:
		return appendUTF8(append(b, amfString), v)
	case Object:
		b = append(b, amfObject)
		for _, p := range v {
			b = appendAMF0(appendUTF8(b, p.Key), p.Value)
		}
		return append(b, 0, 0, amfObjectEnd)
	}
	panic(fmt.Sprintf("rtmpconn: no AMF0 encoding for %T", v))
}

// appendUTF8 appends a string as AMF0 writes keys and short strings; a
// longer one is cut, which no command of ours comes near.
func appendUTF8(b []byte, s string) []byte {
	s = s[:min(len(s), 0xffff)]
	return append(binary.BigEndian.AppendUint16(b, uint16(len(s))), s...)
}

// Command is an AMF0 command message: its name, its transaction id and
// the values that follow them (the command object first).
type Command struct {
	Name   string
	TID    float64
	Values []any
}

// ParseCommand decodes a command message's body, which the Reader has
// already checked for size, nesting and count.
func ParseCommand(body []byte) (Command, error) {
	dec := amf0.NewDecoder(bytes.NewReader(body))
	var c Command
	if err := dec.Decode(&c.Name); err != nil {
		return c, fmt.Errorf("rtmp: command without a name: %w", err)
	}
	if err := dec.Decode(&c.TID); err != nil {
		return c, fmt.Errorf("rtmp: command %q without a transaction id: %w", c.Name, err)
	}
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return c, nil
		}
		if err != nil {
			return c, fmt.Errorf("rtmp: command %q: %w", c.Name, err)
		}
		c.Values = append(c.Values, v)
	}
}

// String is the i-th value when it is a string, or "".
func (c Command) String(i int) string {
	if i < len(c.Values) {
		s, _ := c.Values[i].(string)
		return s
	}
	return ""
}

// Object is the i-th value when it is an object, or nil.
func (c Command) Object(i int) map[string]any {
	if i < len(c.Values) {
		m, _ := c.Values[i].(map[string]any)
		return m
	}
	return nil
}

// info is the first object among the values: what _result, _error and
// onStatus say.
func (c Command) info() map[string]any {
	for i := range c.Values {
		if m := c.Object(i); m != nil && (m["code"] != nil || m["description"] != nil) {
			return m
		}
	}
	return nil
}

// Status is the code of an onStatus, _result or _error ("" if none).
func (c Command) Status() string {
	code, _ := c.info()["code"].(string)
	return code
}

// Reason is the code and description of an onStatus or _error.
func (c Command) Reason() string {
	info := c.info()
	code, _ := info["code"].(string)
	desc, _ := info["description"].(string)
	if s := strings.TrimSpace(code + " " + desc); s != "" {
		return s
	}
	return "no reason given"
}

func appendCommand(b []byte, name string, tid float64, values ...any) []byte {
	b = appendAMF0(appendAMF0(b, name), tid)
	for _, v := range values {
		b = appendAMF0(b, v)
	}
	return b
}
