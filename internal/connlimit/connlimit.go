// Package connlimit bounds the connections a listener hands out, in total
// and per client address, so that neither one client nor many can take
// every slot or every byte of memory of a server. A refused connection is
// closed at once, before any protocol code has allocated for it.
//
// It knows no protocol: the RTMP server counts connections until they are
// admitted as a publisher or player, the HTTP server for their whole life.
package connlimit

import (
	"container/list"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Config bounds a listener. Zero fields mean no limit.
type Config struct {
	// Max is how many connections may be held at once.
	Max int
	// PerAddr is how many of them may come from one IP address.
	PerAddr int
}

// Listener hands out connections within its Config and closes the rest.
type Listener struct {
	net.Listener
	cfg  Config
	log  *slog.Logger
	what string // "RTMP connections", for the log

	mu         sync.Mutex
	total      int
	byAddr     map[string]int
	refused    int // since the last log line
	lastLogged time.Time
}

// NewListener limits ln. Refusals are logged on log at most once every
// 10 s, with their count, naming the connections as what.
func NewListener(ln net.Listener, cfg Config, what string, log *slog.Logger) *Listener {
	return &Listener{Listener: ln, cfg: cfg, log: log, what: what, byAddr: map[string]int{}}
}

// Accept returns the next connection within the limits.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := addrIP(c.RemoteAddr())
		if l.acquire(ip) {
			return &Conn{Conn: c, l: l, ip: ip}, nil
		}
		c.Close()
	}
}

// Held is how many connections hold a slot now.
func (l *Listener) Held() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

func (l *Listener) acquire(ip string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	why := ""
	switch {
	case l.cfg.Max > 0 && l.total >= l.cfg.Max:
		why = "the server holds its maximum"
	case l.cfg.PerAddr > 0 && l.byAddr[ip] >= l.cfg.PerAddr:
		why = "the address holds its maximum"
	default:
		l.total++
		l.byAddr[ip]++
		return true
	}
	l.refused++
	if now := time.Now(); now.Sub(l.lastLogged) >= 10*time.Second {
		l.log.Warn("connections refused: "+why, "what", l.what, "refused", l.refused, "last_from", ip, "max", l.cfg.Max, "per_address", l.cfg.PerAddr)
		l.refused, l.lastLogged = 0, now
	}
	return false
}

func (l *Listener) release(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.byAddr[ip]--; l.byAddr[ip] <= 0 {
		delete(l.byAddr, ip)
	}
}

func addrIP(a net.Addr) string {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// Conn is a connection that holds a slot until Release or Close.
type Conn struct {
	net.Conn
	l    *Listener
	ip   string
	once sync.Once
}

// Release gives the slot back while the connection stays open (an RTMP
// client admitted as a publisher or player, which other limits count).
// Release and Close may both be called, in any order.
func (c *Conn) Release() { c.once.Do(func() { c.l.release(c.ip) }) }

// Socket is what to write batches to for nc: the connection under a
// Conn, since a net.Buffers write is one writev only on the socket itself
// (through a wrapper it is one write per buffer). Close still goes
// through nc, which gives the slot back.
func Socket(nc net.Conn) net.Conn {
	if c, ok := nc.(*Conn); ok {
		return c.Conn
	}
	return nc
}

// Close closes the connection and gives its slot back.
func (c *Conn) Close() error {
	c.Release()
	return c.Conn.Close()
}

// Quiet keeps at most a number of HTTP connections that are quiet: opened
// but with no request yet, or kept alive between requests. When one more
// goes quiet, the one quiet longest is closed. Idle keep-alives are worth
// little, and they are what a flood of connections that never ask for
// anything looks like; connections serving a request (a viewer) are never
// touched. Use ConnState as the http.Server's ConnState hook.
type Quiet struct {
	max   int
	mu    sync.Mutex
	order *list.List // of net.Conn, longest quiet first
	at    map[net.Conn]*list.Element
}

// NewQuiet keeps at most max quiet connections.
func NewQuiet(max int) *Quiet {
	return &Quiet{max: max, order: list.New(), at: map[net.Conn]*list.Element{}}
}

// ConnState follows a connection's state.
func (q *Quiet) ConnState(c net.Conn, s http.ConnState) {
	var shed net.Conn
	q.mu.Lock()
	if e, ok := q.at[c]; ok {
		q.order.Remove(e)
		delete(q.at, c)
	}
	if s == http.StateNew || s == http.StateIdle {
		q.at[c] = q.order.PushBack(c)
		if q.order.Len() > q.max {
			e := q.order.Front()
			shed = q.order.Remove(e).(net.Conn)
			delete(q.at, shed)
		}
	}
	q.mu.Unlock()
	if shed != nil {
		shed.Close()
	}
}

// Len is how many connections are quiet now.
func (q *Quiet) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.order.Len()
}
