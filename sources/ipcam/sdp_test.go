package ipcam

import (
	"testing"

	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/gortsplib/v4/pkg/sdp"

	"chalkcast/engine"
	"chalkcast/internal/testkit"
)

// cameraSDPs are what cameras answer to DESCRIBE.
var cameraSDPs = []string{
	// GStreamer's RTSP server (internal/rtsptest's camera, /h264aac): H.264 and AAC
	"v=0\r\n" +
		"o=- 11423527971797200270 1 IN IP4 127.0.0.1\r\n" +
		"s=Session streamed with GStreamer\r\n" +
		"i=rtsp-server\r\n" +
		"t=0 0\r\n" +
		"a=tool:GStreamer\r\n" +
		"a=type:broadcast\r\n" +
		"a=control:*\r\n" +
		"a=range:npt=now-\r\n" +
		"m=video 0 RTP/AVP 96\r\n" +
		"c=IN IP4 0.0.0.0\r\n" +
		"b=AS:2097\r\n" +
		"a=rtpmap:96 H264/90000\r\n" +
		"a=framerate:25\r\n" +
		"a=fmtp:96 packetization-mode=1;sprop-parameter-sets=Z0LAHtoCgL/lwFqDAwNSgAAAAwCAAAAZR4sXUA==,aM48gA==;profile-level-id=42c01e;level-asymmetry-allowed=1\r\n" +
		"a=control:stream=0\r\n" +
		"a=ts-refclk:local\r\n" +
		"a=mediaclk:sender\r\n" +
		"a=ssrc:813393217 cname:user1605785722@host-e47bded9\r\n" +
		"m=audio 0 RTP/AVP 97\r\n" +
		"c=IN IP4 0.0.0.0\r\n" +
		"a=rtpmap:97 MPEG4-GENERIC/48000/1\r\n" +
		"a=fmtp:97 streamtype=5;profile-level-id=2;mode=AAC-hbr;config=118856e500;sizelength=13;indexlength=3;indexdeltalength=3\r\n" +
		"a=control:stream=1\r\n" +
		"a=ts-refclk:local\r\n" +
		"a=mediaclk:sender\r\n" +
		"a=ssrc:3832766402 cname:user1605785722@host-e47bded9\r\n",
	// the same camera's /h265: H.265 without audio
	"v=0\r\n" +
		"o=- 17297018530797534363 1 IN IP4 127.0.0.1\r\n" +
		"s=Session streamed with GStreamer\r\n" +
		"i=rtsp-server\r\n" +
		"t=0 0\r\n" +
		"a=tool:GStreamer\r\n" +
		"a=type:broadcast\r\n" +
		"a=control:*\r\n" +
		"a=range:npt=now-\r\n" +
		"m=video 0 RTP/AVP 96\r\n" +
		"c=IN IP4 0.0.0.0\r\n" +
		"a=rtpmap:96 H265/90000\r\n" +
		"a=framerate:25\r\n" +
		"a=fmtp:96 sprop-vps=QAEMAf//BAgAAAMAmAgAAAMAAD+6AkA=;sprop-sps=QgEBBAgAAAMAmAgAAAMAAD+QAKBALj4kpS3SUmF/+AAIAAtQYGBgQAAAAwBAAAAGQg==;sprop-pps=RAHAcDBgMSA=\r\n" +
		"a=control:stream=0\r\n" +
		"a=ts-refclk:local\r\n" +
		"a=mediaclk:sender\r\n" +
		"a=ssrc:2994364540 cname:user1200417641@host-f6e9f281\r\n",
	// /h264pcmu: H.264 and G.711 mu-law
	"v=0\r\n" +
		"o=- 16096434903141411605 1 IN IP4 127.0.0.1\r\n" +
		"s=Session streamed with GStreamer\r\n" +
		"i=rtsp-server\r\n" +
		"t=0 0\r\n" +
		"a=tool:GStreamer\r\n" +
		"a=type:broadcast\r\n" +
		"a=control:*\r\n" +
		"a=range:npt=now-\r\n" +
		"m=video 0 RTP/AVP 96\r\n" +
		"c=IN IP4 0.0.0.0\r\n" +
		"b=AS:2097\r\n" +
		"a=rtpmap:96 H264/90000\r\n" +
		"a=framerate:25\r\n" +
		"a=fmtp:96 packetization-mode=1;sprop-parameter-sets=Z0LAHtoCgL/lwFqDAwNSgAAAAwCAAAAZR4sXUA==,aM48gA==;profile-level-id=42c01e;level-asymmetry-allowed=1\r\n" +
		"a=control:stream=0\r\n" +
		"a=ts-refclk:local\r\n" +
		"a=mediaclk:sender\r\n" +
		"a=ssrc:2458816338 cname:user2666183382@host-c61cdbc7\r\n" +
		"m=audio 0 RTP/AVP 0\r\n" +
		"c=IN IP4 0.0.0.0\r\n" +
		"b=AS:64\r\n" +
		"a=rtpmap:0 PCMU/8000\r\n" +
		"a=control:stream=1\r\n" +
		"a=ts-refclk:local\r\n" +
		"a=mediaclk:sender\r\n" +
		"a=ssrc:4170422276 cname:user2666183382@host-c61cdbc7\r\n",
	// /h264pcma: H.264 and G.711 A-law
	"v=0\r\n" +
		"o=- 117978103019306549 1 IN IP4 127.0.0.1\r\n" +
		"s=Session streamed with GStreamer\r\n" +
		"i=rtsp-server\r\n" +
		"t=0 0\r\n" +
		"a=tool:GStreamer\r\n" +
		"a=type:broadcast\r\n" +
		"a=control:*\r\n" +
		"a=range:npt=now-\r\n" +
		"m=video 0 RTP/AVP 96\r\n" +
		"c=IN IP4 0.0.0.0\r\n" +
		"b=AS:2097\r\n" +
		"a=rtpmap:96 H264/90000\r\n" +
		"a=framerate:25\r\n" +
		"a=fmtp:96 packetization-mode=1;sprop-parameter-sets=Z0LAHtoCgL/lwFqDAwNSgAAAAwCAAAAZR4sXUA==,aM48gA==;profile-level-id=42c01e;level-asymmetry-allowed=1\r\n" +
		"a=control:stream=0\r\n" +
		"a=ts-refclk:local\r\n" +
		"a=mediaclk:sender\r\n" +
		"a=ssrc:2264877787 cname:user1118997144@host-c7730258\r\n" +
		"m=audio 0 RTP/AVP 8\r\n" +
		"c=IN IP4 0.0.0.0\r\n" +
		"a=rtpmap:8 PCMA/8000\r\n" +
		"a=control:stream=1\r\n" +
		"a=ts-refclk:local\r\n" +
		"a=mediaclk:sender\r\n" +
		"a=ssrc:3980843204 cname:user1118997144@host-c7730258\r\n",
	// a Hikvision camera's main stream: H.264 and G.711 A-law, absolute control URLs
	"v=0\r\n" +
		"o=- 1109162014219182 1109162014219192 IN IP4 192.168.1.64\r\n" +
		"s=Media Presentation\r\n" +
		"e=NONE\r\n" +
		"b=AS:5100\r\n" +
		"t=0 0\r\n" +
		"a=control:rtsp://192.168.1.64:554/Streaming/Channels/101/?transportmode=unicast\r\n" +
		"m=video 0 RTP/AVP 96\r\n" +
		"c=IN IP4 0.0.0.0\r\n" +
		"b=AS:5000\r\n" +
		"a=recvonly\r\n" +
		"a=x-dimensions:1920,1080\r\n" +
		"a=control:rtsp://192.168.1.64:554/Streaming/Channels/101/trackID=1?transportmode=unicast\r\n" +
		"a=rtpmap:96 H264/90000\r\n" +
		"a=fmtp:96 profile-level-id=420029; packetization-mode=1; sprop-parameter-sets=Z00AKpWoHgCJ+WEAAAMAAQAAAwAyEA==,aO48gA==\r\n" +
		"m=audio 0 RTP/AVP 8\r\n" +
		"c=IN IP4 0.0.0.0\r\n" +
		"b=AS:50\r\n" +
		"a=recvonly\r\n" +
		"a=control:rtsp://192.168.1.64:554/Streaming/Channels/101/trackID=2?transportmode=unicast\r\n" +
		"a=rtpmap:8 PCMA/8000\r\n" +
		"a=Media_header:MEDIAINFO=494D4B48010100000400010010710110401F000000FA000000000000000000000000000000000000;\r\n" +
		"a=appversion:1.0\r\n",
	// the same camera set to H.265 and AAC
	"v=0\r\n" +
		"o=- 1109162014219182 1109162014219192 IN IP4 192.168.1.64\r\n" +
		"s=Media Presentation\r\n" +
		"e=NONE\r\n" +
		"b=AS:5100\r\n" +
		"t=0 0\r\n" +
		"a=control:rtsp://192.168.1.64:554/Streaming/Channels/101/?transportmode=unicast\r\n" +
		"m=video 0 RTP/AVP 96\r\n" +
		"c=IN IP4 0.0.0.0\r\n" +
		"b=AS:5000\r\n" +
		"a=recvonly\r\n" +
		"a=x-dimensions:1920,1080\r\n" +
		"a=control:rtsp://192.168.1.64:554/Streaming/Channels/101/trackID=1?transportmode=unicast\r\n" +
		"a=rtpmap:96 H265/90000\r\n" +
		"a=fmtp:96 sprop-vps=QAEMAf//BAgAAAMAmAgAAAMAAD+6AkA=;sprop-sps=QgEBBAgAAAMAmAgAAAMAAD+QAKBALj4kpS3SUmF/+AAIAAtQYGBgQAAAAwBAAAAGQg==;sprop-pps=RAHAcDBgMSA=\r\n" +
		"m=audio 0 RTP/AVP 97\r\n" +
		"c=IN IP4 0.0.0.0\r\n" +
		"b=AS:50\r\n" +
		"a=recvonly\r\n" +
		"a=control:rtsp://192.168.1.64:554/Streaming/Channels/101/trackID=2?transportmode=unicast\r\n" +
		"a=rtpmap:97 MPEG4-GENERIC/16000/1\r\n" +
		"a=fmtp:97 streamtype=5;profile-level-id=15;mode=AAC-hbr;config=1408;sizelength=13;indexlength=3;indexdeltalength=3\r\n" +
		"a=Media_header:MEDIAINFO=494D4B48010100000400010010710110401F000000FA000000000000000000000000000000000000;\r\n" +
		"a=appversion:1.0\r\n",
}

// maxSDP is the longest DESCRIBE answer gortsplib reads
// (rtspMaxContentLength in its base package).
const maxSDP = 128 << 10

// FuzzSDP feeds arbitrary session descriptions through what a camera's
// DESCRIBE answer goes through: gortsplib's parsing (as its client does
// it), the choice of tracks, and the making of each track with its
// configuration and decoder. Nothing may panic, what is made is
// consistent, and memory grows only with the SDP.
func FuzzSDP(f *testing.F) {
	for _, s := range cameraSDPs {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > maxSDP {
			return
		}
		testkit.MaxAlloc(t, testkit.InputBound(len(b)), func() { mapSDP(t, b) })
	})
}

func mapSDP(t *testing.T, b []byte) {
	var sd sdp.SessionDescription
	if err := sd.Unmarshal(b); err != nil {
		return
	}
	var desc description.Session
	if err := desc.Unmarshal(&sd); err != nil {
		return
	}
	s := &session{c: config{shown: "rtsp://camera"}}
	if err := s.choose(&desc); err != nil {
		if s.video != nil {
			t.Fatalf("choose failed with a video track: %v", err)
		}
		return
	}
	v, decode, err := videoOf(s.vform)
	if err != nil {
		return
	}
	if v.Codec() != codecOfFormat(s.vform) || decode == nil {
		t.Fatalf("%s format made a %v track", s.vform.Codec(), v.Codec())
	}
	if c := v.Config(); c != nil && (c.Codec != v.Codec() || c.Width < 0 || c.Height < 0 || len(c.Record) == 0) {
		t.Fatalf("video configuration %+v", c)
	}
	switch f := s.aform.(type) {
	case *format.MPEG4Audio:
		a, d, err := aacOf(f)
		if err != nil {
			return
		}
		if d == nil || a.cfg.Codec != engine.CodecAAC || a.rate <= 0 || (a.frame != 1024 && a.frame != 960) {
			t.Fatalf("AAC track %+v, configuration %+v", a, a.cfg)
		}
		if p := a.units([][]byte{{1}}, 1<<40); len(p) != 1 || p[0].PTS < 0 {
			t.Fatalf("AAC packets %+v", p)
		}
	case *format.G711:
		g, d, err := g711Of(f)
		if err != nil {
			return
		}
		defer g.close()
		if c := g.aac.Config(); d == nil || c.Codec != engine.CodecAAC || c.SampleRate <= 0 || (c.Channels != 1 && c.Channels != 2) {
			t.Fatalf("G.711 track %+v", g)
		}
	case nil:
	default:
		t.Fatalf("audio format %T chosen", f)
	}
}
