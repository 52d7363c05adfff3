// Package rtctest is a WHEP player for tests and load commands: a pion
// peer connection that receives a stream's video and sound from
// Chalkcast's WHEP endpoint and counts what arrives.
package rtctest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Player is one WHEP session.
type Player struct {
	pc       *webrtc.PeerConnection
	location string
	opened   time.Time

	VideoPackets, AudioPackets, Bytes atomic.Int64
	Keyframes                         atomic.Int64
	// Lost counts gaps in the video's sequence numbers.
	Lost atomic.Int64

	mu         sync.Mutex
	firstKey   time.Duration // from Dial to the first keyframe's first packet
	audioCodec string
	audio      [][]byte // the first audio payloads, kept for decoding
	onVideo    func(p *rtp.Packet, at Arrival)
	arr        arrivals
}

// Arrival is when a packet arrived.
type Arrival struct {
	// Read is when the player read it.
	Read time.Time
	// Socket is when it reached the player's socket (the kernel's
	// receive timestamp), zero where the system does not tell.
	Socket time.Time
}

// Options tune a player.
type Options struct {
	// OnVideo, if set, is called with every video packet as it arrives.
	OnVideo func(p *rtp.Packet, at Arrival)
	// KeepAudio keeps this many audio payloads (for decoding).
	KeepAudio int
}

// Dial opens a WHEP session with url (…/live/<name>/whep).
func Dial(ctx context.Context, url string, o Options) (*Player, error) {
	p := &Player{opened: time.Now(), onVideo: o.OnVideo}
	var s webrtc.SettingEngine
	n, err := arrivalNet(&p.arr)
	if err != nil {
		return nil, err
	}
	s.SetNet(n)
	s.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled) // host candidates on loopback need none
	s.SetIncludeLoopbackCandidate(true)
	s.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeTCP4})
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(s)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	p.pc = pc
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			pc.Close()
			return nil, err
		}
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { go p.read(tr, o.KeepAudio) })
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		pc.Close()
		return nil, err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		pc.Close()
		return nil, err
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		pc.Close()
		return nil, ctx.Err()
	}
	req, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewBufferString(pc.LocalDescription().SDP))
	if err != nil {
		pc.Close()
		return nil, err
	}
	req.Header.Set("Content-Type", "application/sdp")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		pc.Close()
		return nil, err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		pc.Close()
		return nil, fmt.Errorf("WHEP: status %d: %s", resp.StatusCode, body)
	}
	loc, err := resp.Location()
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("WHEP: no Location: %w", err)
	}
	p.location = loc.String()
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(body)}); err != nil {
		pc.Close()
		return nil, err
	}
	return p, nil
}

func (p *Player) read(tr *webrtc.TrackRemote, keep int) {
	video := tr.Kind() == webrtc.RTPCodecTypeVideo
	if !video {
		p.mu.Lock()
		p.audioCodec = tr.Codec().MimeType
		p.mu.Unlock()
	}
	var last uint16
	started := false
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		now := time.Now()
		p.Bytes.Add(int64(len(pkt.Payload)))
		if !video {
			p.AudioPackets.Add(1)
			p.mu.Lock()
			if len(p.audio) < keep {
				p.audio = append(p.audio, append([]byte(nil), pkt.Payload...))
			}
			p.mu.Unlock()
			continue
		}
		p.VideoPackets.Add(1)
		if started && pkt.SequenceNumber != last+1 {
			p.Lost.Add(int64(pkt.SequenceNumber - last - 1))
		}
		last, started = pkt.SequenceNumber, true
		if startsKeyframe(pkt.Payload) {
			if p.Keyframes.Add(1) == 1 {
				p.mu.Lock()
				p.firstKey = now.Sub(p.opened)
				p.mu.Unlock()
			}
		}
		if p.onVideo != nil {
			at := Arrival{Read: now}
			at.Socket, _ = p.arr.get(pkt.SSRC, pkt.SequenceNumber)
			p.onVideo(pkt, at)
		}
	}
}

// startsKeyframe reports whether an H.264 RTP payload starts an IDR
// picture or carries a sequence parameter set.
func startsKeyframe(b []byte) bool {
	if len(b) < 2 {
		return false
	}
	switch t := b[0] & 0x1f; t {
	case 5, 7:
		return true
	case 24: // STAP-A: the first NAL unit
		return len(b) > 3 && (b[3]&0x1f == 7 || b[3]&0x1f == 5)
	case 28: // FU-A: the start of an IDR slice
		return b[1]&0x80 != 0 && b[1]&0x1f == 5
	}
	return false
}

// FirstKeyframe is how long after Dial the first keyframe began to
// arrive, 0 before it has.
func (p *Player) FirstKeyframe() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.firstKey
}

// Audio returns the audio codec's MIME type and the payloads kept.
func (p *Player) Audio() (string, [][]byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.audioCodec, p.audio
}

// State is the peer connection's state.
func (p *Player) State() webrtc.PeerConnectionState { return p.pc.ConnectionState() }

// Location is the session's URL.
func (p *Player) Location() string { return p.location }

// Close ends the session: a DELETE on its Location, then the peer
// connection.
func (p *Player) Close() error {
	req, err := http.NewRequest("DELETE", p.location, nil)
	if err == nil {
		var resp *http.Response
		if resp, err = http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("WHEP DELETE: status %d", resp.StatusCode)
			}
		}
	}
	if cerr := p.pc.Close(); err == nil {
		err = cerr
	}
	return err
}
