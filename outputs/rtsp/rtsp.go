// Package rtsp serves every live stream over RTSP at
// rtsp://HOST:8554/live/<name> (gortsplib's server), for VLC, NVRs and
// other servers. Each live stream gets one RTP packetiser fed from the
// engine's ring; gortsplib fans its packets out to the stream's RTSP
// readers, each of whom counts as a viewer. It never waits for a reader.
package rtsp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/pion/rtp"

	"chalkcast/engine"
	"chalkcast/engine/codec"
	"chalkcast/internal/connlimit"
)

// Config configures the RTSP output.
type Config struct {
	// Address is where RTSP clients connect; RTP can go interleaved on the
	// same TCP connection. Default ":8554".
	Address string
	// UDPPort, if set, also offers RTP over UDP on this even port and
	// RTCP on the next one, for clients that only try UDP. 0: TCP only.
	UDPPort int
}

// Output is the RTSP server.
type Output struct {
	hub *engine.Hub
	log *slog.Logger
	srv *gortsplib.Server
	ln  net.Listener

	mu    sync.Mutex
	feeds map[string]*feed // by stream name, while live

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// feed is one live stream's RTSP side.
type feed struct {
	mu     sync.Mutex
	stream *gortsplib.ServerStream // nil until the first keyframe
}

func (f *feed) get() *gortsplib.ServerStream {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stream
}

func (f *feed) set(st *gortsplib.ServerStream) {
	f.mu.Lock()
	old := f.stream
	f.stream = st
	f.mu.Unlock()
	if old != nil {
		old.Close() // its readers are disconnected
	}
}

// New starts the RTSP server.
func New(hub *engine.Hub, cfg Config, log *slog.Logger) (*Output, error) {
	if cfg.Address == "" {
		cfg.Address = ":8554"
	}
	o := &Output{hub: hub, log: log.With("component", "rtsp"), feeds: map[string]*feed{}}
	o.srv = &gortsplib.Server{
		Handler:     o,
		RTSPAddress: cfg.Address,
		Listen: func(network, address string) (net.Listener, error) {
			ln, err := net.Listen(network, address)
			if err != nil {
				return nil, err
			}
			// Readers are bounded as viewers; connections that are not yet
			// reading (or never will be) are bounded here, beside them.
			ec := hub.Config()
			o.ln = connlimit.NewListener(ln, connlimit.Config{Max: ec.MaxViewers + 256, PerAddr: ec.MaxViewersPerAddr + 16}, "RTSP connections", o.log)
			return o.ln, nil
		},
	}
	if cfg.UDPPort > 0 {
		host, _, err := net.SplitHostPort(cfg.Address)
		if err != nil {
			return nil, fmt.Errorf("rtsp: address %q: %w", cfg.Address, err)
		}
		o.srv.UDPRTPAddress = net.JoinHostPort(host, strconv.Itoa(cfg.UDPPort))
		o.srv.UDPRTCPAddress = net.JoinHostPort(host, strconv.Itoa(cfg.UDPPort+1))
	}
	if err := o.srv.Start(); err != nil {
		return nil, fmt.Errorf("rtsp: listen on %s: %w", cfg.Address, err)
	}
	o.ctx, o.cancel = context.WithCancel(context.Background())
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		hub.WatchLive(o.ctx, o.ensure)
	}()
	return o, nil
}

// Addr is the address the server listens on.
func (o *Output) Addr() net.Addr { return o.ln.Addr() }

// Close stops the server: readers are disconnected.
func (o *Output) Close() {
	o.cancel()
	o.wg.Wait()
	o.srv.Close()
}

// ensure starts feeding a live stream, once.
func (o *Output) ensure(s *engine.Stream) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.feeds[s.Name()]; ok || o.ctx.Err() != nil {
		return
	}
	rd, err := s.NewReader(nil)
	if err != nil {
		return // ended again already
	}
	f := &feed{}
	o.feeds[s.Name()] = f
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		defer rd.Close()
		err := o.run(s, rd, f)
		f.set(nil)
		o.mu.Lock()
		delete(o.feeds, s.Name())
		o.mu.Unlock()
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, context.Canceled) {
			o.log.Warn("feed stopped", "stream", s.Name(), "err", err)
		}
	}()
}

// rtpEncoder is what gortsplib's H.264, H.265 and MPEG-4 audio
// encoders have in common.
type rtpEncoder interface {
	Encode([][]byte) ([]*rtp.Packet, error)
}

// packetiser turns one stream's packets into RTP for its ServerStream.
type packetiser struct {
	stream       *gortsplib.ServerStream
	video, audio *description.Media
	venc, aenc   rtpEncoder
	vcfg, acfg   *engine.CodecConfig
	params       [][]byte // parameter sets sent before every keyframe
	arate        int
}

// run feeds one stream until it ends. A change of video configuration
// makes a new RTSP stream (its readers reconnect), since an SDP is fixed.
func (o *Output) run(s *engine.Stream, rd *engine.Reader, f *feed) error {
	var pk *packetiser
	var batch []*engine.Packet
	for {
		var err error
		batch, err = rd.Next(o.ctx, batch[:0])
		if err != nil {
			return err
		}
		for _, p := range batch {
			if p.Track == engine.TrackVideo && (pk == nil || !p.Config.Equal(pk.vcfg)) {
				if !p.Keyframe {
					continue
				}
				_, audio := s.Configs()
				next, err := o.newPacketiser(p.Config, audio)
				if err != nil {
					return err
				}
				pk = next
				f.set(pk.stream)
			}
			if pk != nil {
				if err := pk.write(p); err != nil {
					o.log.Debug("packetise", "stream", s.Name(), "err", err)
				}
			}
		}
	}
}

func (o *Output) newPacketiser(video, audio *engine.CodecConfig) (*packetiser, error) {
	pk := &packetiser{vcfg: video}
	var vf format.Format
	switch video.Codec {
	case engine.CodecH264:
		rec, err := codec.ParseAVCRecord(video.Record)
		if err != nil || len(rec.SPS) == 0 || len(rec.PPS) == 0 {
			return nil, fmt.Errorf("rtsp: H.264 configuration: %v", err)
		}
		h := &format.H264{PayloadTyp: 96, SPS: rec.SPS[0], PPS: rec.PPS[0], PacketizationMode: 1}
		enc, err := h.CreateEncoder()
		if err != nil {
			return nil, err
		}
		vf, pk.venc = h, enc
		pk.params = append(append(pk.params, rec.SPS...), rec.PPS...)
	case engine.CodecH265:
		vps, sps, pps, err := codec.HEVCParams(video.Record)
		if err != nil || len(vps) == 0 || len(sps) == 0 || len(pps) == 0 {
			return nil, fmt.Errorf("rtsp: H.265 configuration: %v", err)
		}
		h := &format.H265{PayloadTyp: 96, VPS: vps[0], SPS: sps[0], PPS: pps[0]}
		enc, err := h.CreateEncoder()
		if err != nil {
			return nil, err
		}
		vf, pk.venc = h, enc
		pk.params = append(append(append(pk.params, vps...), sps...), pps...)
	default:
		return nil, fmt.Errorf("rtsp: video codec %s is not supported", video.Codec)
	}
	pk.video = &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{vf}}
	desc := &description.Session{Medias: []*description.Media{pk.video}}
	if audio != nil && audio.Codec == engine.CodecAAC {
		var asc mpeg4audio.AudioSpecificConfig
		if err := asc.Unmarshal(audio.Record); err == nil {
			af := &format.MPEG4Audio{PayloadTyp: 97, Config: &asc, SizeLength: 13, IndexLength: 3, IndexDeltaLength: 3}
			enc, err := af.CreateEncoder()
			if err != nil {
				return nil, err
			}
			pk.audio = &description.Media{Type: description.MediaTypeAudio, Formats: []format.Format{af}}
			pk.aenc, pk.acfg, pk.arate = enc, audio, asc.SampleRate
			desc.Medias = append(desc.Medias, pk.audio)
		}
	}
	pk.stream = &gortsplib.ServerStream{Server: o.srv, Desc: desc}
	if err := pk.stream.Initialize(); err != nil {
		return nil, fmt.Errorf("rtsp: stream: %w", err)
	}
	return pk, nil
}

// write packetises one packet; RTP timestamps are its PTS at the codec's
// clock rate (90 kHz for video, the sample rate for AAC).
func (pk *packetiser) write(p *engine.Packet) error {
	var (
		medi *description.Media
		pkts []*rtp.Packet
		ts   uint32
		err  error
	)
	switch {
	case p.Track == engine.TrackVideo:
		au, err := codec.NALUnits(p, pk.params)
		if err != nil {
			return err
		}
		medi, ts = pk.video, uint32(int64(p.PTS)*9/100000)
		pkts, err = pk.venc.Encode(au)
	case pk.audio != nil && p.Codec == engine.CodecAAC && p.Config.Equal(pk.acfg):
		medi, ts = pk.audio, uint32(int64(p.PTS)/1000*int64(pk.arate)/1000000)
		pkts, err = pk.aenc.Encode([][]byte{p.Payload})
	default:
		return nil
	}
	if err != nil {
		return err
	}
	for _, rp := range pkts {
		rp.Timestamp = ts
		if err := pk.stream.WritePacketRTPWithNTP(medi, rp, p.Published); err != nil {
			return err
		}
	}
	return nil
}

// lookup finds the stream of a path /live/<name>.
func (o *Output) lookup(path string) (*engine.Stream, bool) {
	name, ok := strings.CutPrefix(strings.TrimPrefix(path, "/"), "live/")
	name = strings.TrimSuffix(name, "/")
	if !ok || engine.ValidateName(name) != nil {
		return nil, false
	}
	return o.hub.Get(name)
}

// streamFor finds the RTSP stream of a request path: live/<name>.
func (o *Output) streamFor(path string) (*engine.Stream, *gortsplib.ServerStream, *base.Response) {
	s, ok := o.lookup(path)
	if !ok {
		return nil, nil, &base.Response{StatusCode: base.StatusNotFound}
	}
	if s.State().Active() {
		o.ensure(s)
	}
	o.mu.Lock()
	f := o.feeds[s.Name()]
	o.mu.Unlock()
	if f == nil || f.get() == nil {
		return nil, nil, &base.Response{StatusCode: base.StatusNotFound} // not live, or no keyframe yet
	}
	return s, f.get(), &base.Response{StatusCode: base.StatusOK}
}

// OnDescribe answers with the stream's SDP. A stream whose camera
// connects on demand is called first, and the answer waits (up to
// engine.AwaitStart) for its first keyframe.
func (o *Output) OnDescribe(ctx *gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	_, st, res := o.streamFor(ctx.Path)
	if st != nil {
		return res, st, nil
	}
	if s, ok := o.lookup(ctx.Path); ok && s.Standby() {
		wait, cancel := context.WithTimeout(o.ctx, engine.AwaitStart)
		defer cancel()
		s.AwaitLive(wait, engine.AwaitStart)
		for st == nil && wait.Err() == nil {
			time.Sleep(50 * time.Millisecond)
			_, st, res = o.streamFor(ctx.Path)
		}
	}
	return res, st, nil
}

// OnSetup attaches a session to the stream.
func (o *Output) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	_, st, res := o.streamFor(ctx.Path)
	return res, st, nil
}

// OnPlay counts the session as a viewer, within the engine's limits.
func (o *Output) OnPlay(ctx *gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	s, _, res := o.streamFor(ctx.Path)
	if s == nil {
		return res, nil
	}
	v, err := s.Join(engine.ViewerInfo{Protocol: "rtsp", Remote: ctx.Conn.NetConn().RemoteAddr().String()})
	if err != nil {
		return &base.Response{StatusCode: base.StatusServiceUnavailable}, nil
	}
	ctx.Session.SetUserData(v)
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// OnSessionClose ends the viewer.
func (o *Output) OnSessionClose(ctx *gortsplib.ServerHandlerOnSessionCloseCtx) {
	if v, ok := ctx.Session.UserData().(*engine.Viewer); ok {
		v.AddBytes(int(ctx.Session.BytesSent()))
		v.Leave()
	}
}
