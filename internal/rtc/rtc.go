// Package rtc is the WebRTC transport that Chalkcast's WHEP output and
// WHIP source share: every peer on one UDP port (one socket per local
// address, its writes batched on Linux) and, for networks that block UDP, ICE over one TCP port; host
// candidates only (a classroom network has no internet and needs no
// STUN), with public addresses added for servers; H.264, Opus and G.711;
// and the offer/answer exchange of the WHIP and WHEP drafts, bounded in
// size and time.
// It must not import a source, an output or the GUI.
package rtc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"
)

// Config configures the transport. Zero ports pick free ones (tests).
type Config struct {
	// UDPPort is the one UDP port of every peer (default 8189 on the
	// command line).
	UDPPort int
	// TCPPort is the port of ICE over TCP; negative turns it off.
	TCPPort int
	// PublicIPs are addresses peers may also reach this machine at (a
	// server behind a 1:1 NAT), offered beside the local ones.
	PublicIPs []string
}

// Transport makes peer connections that share the ports.
type Transport struct {
	api     *webrtc.API
	udp     *ice.MultiUDPMuxDefault
	tcp     ice.TCPMux
	tcpLn   net.Listener
	udpPort int
}

// New opens the ports.
func New(cfg Config, log *slog.Logger) (*Transport, error) {
	log = log.With("component", "webrtc")
	lf := loggers{log}
	for _, ip := range cfg.PublicIPs {
		if net.ParseIP(ip) == nil {
			return nil, fmt.Errorf("webrtc: public address %q is not an IP address", ip)
		}
	}
	n, err := udpNet()
	if err != nil {
		return nil, err
	}
	udp, err := ice.NewMultiUDPMuxFromPort(cfg.UDPPort, ice.UDPMuxFromPortWithLoopback(), ice.UDPMuxFromPortWithNet(n),
		ice.UDPMuxFromPortWithLogger(lf.NewLogger("udp")), ice.UDPMuxFromPortWithReadBufferSize(4<<20),
		ice.UDPMuxFromPortWithWriteBufferSize(4<<20))
	if err != nil {
		return nil, fmt.Errorf("webrtc: UDP port %d: %w", cfg.UDPPort, err)
	}
	t := &Transport{udp: udp}
	for _, a := range udp.GetListenAddresses() {
		if u, ok := a.(*net.UDPAddr); ok {
			t.udpPort = u.Port
		}
	}
	var s webrtc.SettingEngine
	s.LoggerFactory = lf
	s.SetICEUDPMux(udp)
	networks := []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6}
	if cfg.TCPPort >= 0 {
		t.tcpLn, err = net.Listen("tcp", ":"+strconv.Itoa(cfg.TCPPort))
		if err != nil {
			_ = udp.Close()
			return nil, fmt.Errorf("webrtc: TCP port %d: %w", cfg.TCPPort, err)
		}
		t.tcp = webrtc.NewICETCPMux(lf.NewLogger("tcp"), t.tcpLn, 64)
		s.SetICETCPMux(t.tcp)
		networks = append(networks, webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6)
	}
	s.SetNetworkTypes(networks)
	s.SetIncludeLoopbackCandidate(true) // players on this computer
	s.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	s.SetICETimeouts(5*time.Second, 10*time.Second, 2*time.Second)
	if len(cfg.PublicIPs) > 0 {
		if err := s.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External: cfg.PublicIPs, AsCandidateType: webrtc.ICECandidateTypeHost, Mode: webrtc.ICEAddressRewriteAppend,
		}); err != nil {
			t.Close()
			return nil, fmt.Errorf("webrtc: public addresses: %w", err)
		}
	}
	m, reg, err := media(lf)
	if err != nil {
		t.Close()
		return nil, err
	}
	t.api = webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(s), webrtc.WithInterceptorRegistry(reg))
	return t, nil
}

// H264Fmtp is the format of the H.264 that peers are sent: Constrained
// Baseline up to level 3.1 is what every browser offers, and
// level-asymmetry lets a decoder take any level.
const H264Fmtp = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"

// Codec capabilities the transport negotiates.
var (
	H264 = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: H264Fmtp,
		RTCPFeedback: []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}}}
	Opus = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}
	PCMU = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}
	PCMA = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMA, ClockRate: 8000}
)

// media registers the codecs and the RTCP handling: NACKs answered from
// the payloads already sent (they are never reused, so the responder
// keeps references instead of copies) and asked for on what is received,
// and sender and receiver reports (lip sync, and the publisher's view of
// loss). No bandwidth estimation: a viewer that cannot keep up is dropped
// to the next keyframe by the engine instead.
func media(lf logging.LoggerFactory) (*webrtc.MediaEngine, *interceptor.Registry, error) {
	m := &webrtc.MediaEngine{}
	pt := webrtc.PayloadType(96)
	add := func(c webrtc.RTPCodecCapability, kind webrtc.RTPCodecType) error {
		p := webrtc.RTPCodecParameters{RTPCodecCapability: c, PayloadType: pt}
		pt++
		switch c.MimeType {
		case webrtc.MimeTypePCMU:
			p.PayloadType = 0
		case webrtc.MimeTypePCMA:
			p.PayloadType = 8
		}
		return m.RegisterCodec(p, kind)
	}
	h264 := []string{"42e01f", "42001f", "4d001f", "64001f"}
	for _, profile := range h264 {
		c := H264
		c.SDPFmtpLine = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=" + profile
		if err := add(c, webrtc.RTPCodecTypeVideo); err != nil {
			return nil, nil, fmt.Errorf("webrtc: register H.264 %s: %w", profile, err)
		}
	}
	for _, c := range []webrtc.RTPCodecCapability{Opus, PCMU, PCMA} {
		if err := add(c, webrtc.RTPCodecTypeAudio); err != nil {
			return nil, nil, fmt.Errorf("webrtc: register %s: %w", c.MimeType, err)
		}
	}
	reg := &interceptor.Registry{}
	responder, err := nack.NewResponderInterceptor(nack.ResponderSize(512), nack.DisableCopy(),
		nack.WithResponderLoggerFactory(lf))
	if err != nil {
		return nil, nil, fmt.Errorf("webrtc: NACK responder: %w", err)
	}
	generator, err := nack.NewGeneratorInterceptor(nack.WithGeneratorLoggerFactory(lf))
	if err != nil {
		return nil, nil, fmt.Errorf("webrtc: NACK generator: %w", err)
	}
	sender, err := report.NewSenderInterceptor(report.WithSenderLoggerFactory(lf))
	if err != nil {
		return nil, nil, fmt.Errorf("webrtc: sender reports: %w", err)
	}
	receiver, err := report.NewReceiverInterceptor(report.WithReceiverLoggerFactory(lf))
	if err != nil {
		return nil, nil, fmt.Errorf("webrtc: receiver reports: %w", err)
	}
	reg.Add(responder)
	reg.Add(generator)
	reg.Add(sender)
	reg.Add(receiver)
	return m, reg, nil
}

// UDPPort is the UDP port peers reach.
func (t *Transport) UDPPort() int { return t.udpPort }

// TCPAddr is the address of ICE over TCP, nil when it is off.
func (t *Transport) TCPAddr() net.Addr {
	if t.tcpLn == nil {
		return nil
	}
	return t.tcpLn.Addr()
}

// Close ends every peer's transport and frees the ports.
func (t *Transport) Close() {
	if t.tcp != nil {
		_ = t.tcp.Close()
	}
	if t.tcpLn != nil {
		_ = t.tcpLn.Close()
	}
	_ = t.udp.Close()
}

// Peer is a peer connection with its lifetime: its context ends when the
// connection fails or closes, when Stop is called, or when the context it
// was made in ends. It watches the connection's state itself: do not set
// OnConnectionStateChange.
type Peer struct {
	*webrtc.PeerConnection
	ctx       context.Context
	stop      context.CancelFunc
	connected chan struct{}
}

// NewPeer makes a peer connection on the transport's ports, living in ctx.
func (t *Transport) NewPeer(ctx context.Context) (*Peer, error) {
	pc, err := t.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, fmt.Errorf("webrtc: new peer connection: %w", err)
	}
	p := &Peer{PeerConnection: pc, connected: make(chan struct{})}
	p.ctx, p.stop = context.WithCancel(ctx)
	var once sync.Once
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		switch st {
		case webrtc.PeerConnectionStateConnected:
			once.Do(func() { close(p.connected) })
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			p.stop()
		}
	})
	return p, nil
}

// Context is the peer's lifetime.
func (p *Peer) Context() context.Context { return p.ctx }

// Stop ends the peer's lifetime (its user then closes it).
func (p *Peer) Stop() { p.stop() }

// Close ends the peer's lifetime and closes the connection.
func (p *Peer) Close() error {
	p.stop()
	return p.PeerConnection.Close()
}

// ConnectTimeout bounds how long a peer that got its answer may take to
// connect: a player that never does gives its place back, a publisher
// frees the stream for another.
const ConnectTimeout = 15 * time.Second

// AwaitConnected waits for the peer to connect, at most timeout: false
// when it did not, or its lifetime ended first.
func (p *Peer) AwaitConnected(timeout time.Duration) bool {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-p.connected:
		return p.ctx.Err() == nil
	case <-timer.C:
	case <-p.ctx.Done():
	}
	return false
}

// GatherTimeout bounds how long an answer waits for the local candidates:
// host candidates take milliseconds, but an interface that hangs must not
// hold the HTTP request.
const GatherTimeout = 3 * time.Second

// ErrOffer is an offer that cannot be answered: the client's fault.
var ErrOffer = errors.New("the SDP offer cannot be answered")

// Answer takes the remote offer (checked with CheckOffer), answers it with
// every local candidate (no trickle ICE is needed on a LAN) and returns the
// answer's SDP. pc's tracks and transceivers are set up by then.
func Answer(ctx context.Context, pc *Peer, offer string) (string, error) {
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", fmt.Errorf("%w: %v", ErrOffer, err)
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrOffer, err)
	}
	gathered := webrtc.GatheringCompletePromise(pc.PeerConnection)
	if err := pc.SetLocalDescription(answer); err != nil {
		return "", fmt.Errorf("webrtc: set the answer: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, GatherTimeout)
	defer cancel()
	select {
	case <-gathered:
	case <-ctx.Done():
		// what is gathered so far is in the local description
	}
	return pc.LocalDescription().SDP, nil
}

// loggers send what pion logs to debug: its errors and warnings are a
// peer's trouble (every browser's mDNS candidate, every closing peer, every
// packet written to a peer that just left), not the server's; what a
// session comes to is logged by the output or source that ran it.
type loggers struct{ log *slog.Logger }

func (l loggers) NewLogger(scope string) logging.LeveledLogger {
	return leveled{l.log.With("scope", scope)}
}

type leveled struct{ log *slog.Logger }

func (l leveled) debugf(f string, args []any) {
	if l.log.Enabled(context.Background(), slog.LevelDebug) {
		l.log.Debug(fmt.Sprintf(f, args...))
	}
}

func (l leveled) Trace(string)                 {}
func (l leveled) Tracef(string, ...any)        {}
func (l leveled) Debug(msg string)             { l.log.Debug(msg) }
func (l leveled) Debugf(f string, args ...any) { l.debugf(f, args) }
func (l leveled) Info(msg string)              { l.log.Debug(msg) }
func (l leveled) Infof(f string, args ...any)  { l.debugf(f, args) }
func (l leveled) Warn(msg string)              { l.log.Debug(msg) }
func (l leveled) Warnf(f string, args ...any)  { l.debugf(f, args) }
func (l leveled) Error(msg string)             { l.log.Debug(msg) }
func (l leveled) Errorf(f string, args ...any) { l.debugf(f, args) }
