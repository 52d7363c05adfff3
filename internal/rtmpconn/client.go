package rtmpconn

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/yutopp/go-rtmp/handshake"
)

// Timeout bounds connecting, the handshake and each answer the server owes.
const Timeout = 10 * time.Second

// clientChunkSize is the chunk size a client sends with, as OBS does.
const clientChunkSize = 4096

// Client is the client side of one RTMP connection with one stream: a
// push publishing to a server, or a pull playing from one. Every step has
// a deadline; pings are answered and acknowledgements sent, so servers
// such as nginx-rtmp keep the connection.
type Client struct {
	*Conn
	host     string
	streamID uint32
}

// Target splits an rtmp:// or rtmps:// URL into the address to dial, the
// app, and the stream name (the last path element, with the query:
// services sign names there).
func Target(raw string) (host, app, name string, err error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "rtmp" && u.Scheme != "rtmps") || u.Hostname() == "" {
		return "", "", "", fmt.Errorf("not an rtmp:// or rtmps:// address")
	}
	path := strings.Trim(u.Path, "/")
	i := strings.LastIndex(path, "/")
	if i <= 0 || i == len(path)-1 {
		return "", "", "", fmt.Errorf("the address needs an app and a stream name (rtmp://host/app/name)")
	}
	app, name = path[:i], path[i+1:]
	if u.RawQuery != "" {
		name += "?" + u.RawQuery
	}
	host = u.Host
	if u.Port() == "" {
		port := "1935"
		if u.Scheme == "rtmps" {
			port = "443"
		}
		host = net.JoinHostPort(u.Hostname(), port)
	}
	return host, app, name, nil
}

// Dial connects to the server of raw, shakes hands, connects to its app
// and creates a stream, each step within Timeout. It returns the stream
// name to publish or play. The connection closes when ctx ends.
func Dial(ctx context.Context, raw string) (*Client, string, error) {
	host, app, name, err := Target(raw)
	if err != nil {
		return nil, "", err
	}
	u, _ := url.Parse(raw)
	d := net.Dialer{Timeout: Timeout}
	var nc net.Conn
	if u.Scheme == "rtmps" {
		nc, err = (&tls.Dialer{NetDialer: &d, Config: &tls.Config{ServerName: u.Hostname()}}).DialContext(ctx, "tcp", host)
	} else {
		nc, err = d.DialContext(ctx, "tcp", host)
	}
	if err != nil {
		return nil, "", fmt.Errorf("cannot reach %s: %w", host, err)
	}
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	fail := func(err error) (*Client, string, error) {
		stop()
		nc.Close()
		return nil, "", err
	}
	_ = nc.SetDeadline(time.Now().Add(Timeout))
	if err := handshake.HandshakeWithServer(nc, nc, &handshake.Config{}); err != nil {
		return fail(fmt.Errorf("%s does not answer like an RTMP server (%v)", host, err))
	}
	// A hostile server can make the client hold no more than a
	// publisher could make Chalkcast's own server hold.
	c := &Client{Conn: newConn(nc, Publisher, Timeout), host: host}
	c.SetReadTimeout(Timeout)
	tcURL := u.Scheme + "://" + u.Host + "/" + app
	if err := c.Command(csCommand, 0, "connect", 1, Object{
		{"app", app}, {"type", "nonprivate"}, {"flashVer", "FMLE/3.0 (compatible; Chalkcast)"}, {"tcUrl", tcURL},
	}); err != nil {
		return fail(fmt.Errorf("%s: %w", host, err))
	}
	if _, err := c.await("connect", 1); err != nil {
		return fail(fmt.Errorf("%s refused the connection to app %q: %v", host, app, err))
	}
	if err := c.SetChunkSize(clientChunkSize); err != nil {
		return fail(fmt.Errorf("%s: %w", host, err))
	}
	if err := c.Command(csCommand, 0, "createStream", 2, nil); err != nil {
		return fail(fmt.Errorf("%s: %w", host, err))
	}
	res, err := c.await("createStream", 2)
	if err != nil {
		return fail(fmt.Errorf("%s: create stream: %v", host, err))
	}
	for _, v := range res.Values {
		if f, ok := v.(float64); ok {
			c.streamID = uint32(f)
		}
	}
	return c, name, nil
}

// Publish starts publishing name and waits for the server to accept it.
// From then on the server owes nothing: reading has no timeout.
func (c *Client) Publish(name string) error {
	if err := c.Command(csStream, c.streamID, "publish", 0, nil, name, "live"); err != nil {
		return fmt.Errorf("%s: %w", c.host, err)
	}
	for {
		m, err := c.ReadMessage()
		if err != nil {
			return fmt.Errorf("%s did not accept the stream: %v", c.host, err)
		}
		cmd, err := ParseCommand(m.Body)
		if m.Type != TypeCommand || err != nil || cmd.Name != "onStatus" {
			continue
		}
		switch code := cmd.Status(); {
		case code == "NetStream.Publish.Start":
			c.SetReadTimeout(0)
			return nil
		case strings.Contains(code, "Publish."):
			return fmt.Errorf("%s refused the stream: %s", c.host, cmd.Reason())
		}
	}
}

// Play asks to play name (start -2: live, or recorded if nothing is
// live); media and the play status follow through ReadMessage, which
// then waits as long as the caller lets it.
func (c *Client) Play(name string) error {
	if err := c.Command(csStream, c.streamID, "play", 0, nil, name, -2); err != nil {
		return fmt.Errorf("%s: %w", c.host, err)
	}
	c.SetReadTimeout(0)
	return nil
}

// NewSender returns a Sender of media to the client's stream.
func (c *Client) NewSender() *Sender { return c.Conn.NewSender(c.streamID) }

// await reads until the result of the command with transaction id tid.
func (c *Client) await(command string, tid float64) (Command, error) {
	for {
		m, err := c.ReadMessage()
		if err != nil {
			return Command{}, err
		}
		if m.Type != TypeCommand {
			continue
		}
		cmd, err := ParseCommand(m.Body)
		if err != nil || cmd.TID != tid || (cmd.Name != "_result" && cmd.Name != "_error") {
			continue
		}
		if cmd.Name == "_error" {
			return cmd, fmt.Errorf("%s", cmd.Reason())
		}
		return cmd, nil
	}
}
