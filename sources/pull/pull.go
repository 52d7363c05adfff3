// Package pull takes a stream produced elsewhere (another Chalkcast, SRS,
// livego, nginx-rtmp, a CDN) as a stream's source, playing it over RTMP(S)
// or HTTP(S)-FLV and calling again when it drops.
// Like every source it only publishes into the engine: it must not import an
// output or the GUI.
package pull

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"chalkcast/engine"
	"chalkcast/media/flv"
)

// Type is the source type of pulled streams in the API.
const Type = "pull"

// stallAfter: a stream that sends nothing this long is called again.
const stallAfter = 10 * time.Second

// Kind runs pulled sources.
type Kind struct {
	client *http.Client
	log    *slog.Logger
}

// New returns the pull source kind.
func New(log *slog.Logger) *Kind {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Kind{
		client: &http.Client{Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			TLSHandshakeTimeout:   5 * time.Second,
			ResponseHeaderTimeout: 10 * time.Second,
		}},
		log: log.With("component", "pull"),
	}
}

// MaxRetryWait calls a dropped stream again within two seconds.
func (k *Kind) MaxRetryWait() time.Duration { return 2 * time.Second }

func parse(src engine.Source) (*url.URL, error) {
	shown := engine.RedactURL(src.URL)
	u, err := url.Parse(strings.TrimSpace(src.URL))
	switch {
	case err != nil || u.Host == "":
		return nil, fmt.Errorf("%w: %q is not an address: use http(s)://host/path.flv", engine.ErrInvalid, shown)
	case u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "rtmp" && u.Scheme != "rtmps":
		return nil, fmt.Errorf("%w: %q: use an rtmp:// address or the http(s):// address of an FLV stream", engine.ErrInvalid, shown)
	}
	if len(src.Options) > 0 {
		return nil, fmt.Errorf("%w: a pulled stream takes no options", engine.ErrInvalid)
	}
	return u, nil
}

// Check validates the address without connecting.
func (k *Kind) Check(src engine.Source) error {
	_, err := parse(src)
	return err
}

// Run reads the stream into s until ctx ends or the stream fails.
func (k *Kind) Run(ctx context.Context, s *engine.Stream) error {
	u, err := parse(s.Config().Source)
	if err != nil {
		return err
	}
	if u.Scheme == "rtmp" || u.Scheme == "rtmps" {
		return k.runRTMP(ctx, s, u)
	}
	shown := engine.RedactURL(u.String())
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("%s: %w", shown, err)
	}
	req.Header.Set("User-Agent", "Chalkcast")
	resp, err := k.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return explain(shown, u.Host, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s: check the address (is the stream live there?)", shown, resp.Status)
	}
	// a stream that stops sending is called again
	stall := time.AfterFunc(stallAfter, cancel)
	defer stall.Stop()
	r := flv.NewReader(resp.Body)
	if _, err := r.ReadHeader(); err != nil {
		if ctx.Err() != nil && stall.Stop() {
			return nil
		}
		return fmt.Errorf("%s does not send an FLV stream (%v)", shown, err)
	}
	err = k.pump(ctx, r, k.newFeed(s, u), stall)
	if err == nil && ctx.Err() != nil && !stall.Stop() {
		err = fmt.Errorf("%s stopped sending for %v", shown, stallAfter)
	}
	return err
}

// pump publishes the tags through f until the stream ends (it then says
// so) or ctx ends (nil).
func (k *Kind) pump(ctx context.Context, r *flv.Reader, f *feed, stall *time.Timer) (err error) {
	defer func() { f.close(err) }()
	for {
		tag, rerr := r.ReadTag()
		if rerr != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(rerr, io.EOF) {
				return errors.New("the stream ended at its server")
			}
			return fmt.Errorf("reading the stream: %w", rerr)
		}
		if tag.Type != flv.TagVideo && tag.Type != flv.TagAudio {
			continue
		}
		stall.Reset(stallAfter) // media keeps the stream alive, metadata does not
		if err := f.tag(tag.Type == flv.TagVideo, tag.Timestamp, tag.Body); err != nil {
			return err
		}
	}
}

// feed publishes FLV tag bodies (from an FLV stream or RTMP messages)
// into a stream, which goes live with the first media.
type feed struct {
	dep     flv.Depacketizer
	pub     *engine.Publisher
	publish func() (*engine.Publisher, error)
}

// newFeed is the feed of s pulled from u.
func (k *Kind) newFeed(s *engine.Stream, u *url.URL) *feed {
	return &feed{
		dep: flv.Depacketizer{Log: k.log.With("stream", s.Name())},
		publish: func() (*engine.Publisher, error) {
			return s.Publish(engine.SourceInfo{Protocol: "pull", Remote: u.Host})
		},
	}
}

func (f *feed) tag(video bool, ts uint32, body []byte) (err error) {
	if f.pub == nil {
		if f.pub, err = f.publish(); err != nil {
			return err
		}
	}
	if _, err := f.dep.Tag(f.pub, video, ts, body); err != nil {
		return fmt.Errorf("the stream is broken: %w", err)
	}
	return nil
}

// close ends the publishing session, if one started.
func (f *feed) close(err error) {
	if f.pub != nil {
		f.pub.Close(err)
	}
}

// explain says why the server could not be reached.
func explain(shown, host string, err error) error {
	var dns *net.DNSError
	var ue *url.Error
	switch {
	case errors.As(err, &dns):
		return fmt.Errorf("server %q is unknown: check the address", dns.Name)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("nothing answers at %s (connection refused)", host)
	case errors.As(err, &ue):
		err = ue.Err // its text repeats the URL, tokens and all
	}
	return fmt.Errorf("%s: %v", shown, err)
}
