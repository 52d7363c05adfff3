// Package logbuf is a log sink for tests: it collects a server's log
// lines safely from many goroutines so that a failing test can show them.
package logbuf

import (
	"bytes"
	"sync"
)

// Buffer collects written log text.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String is everything written so far.
func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
