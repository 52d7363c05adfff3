package rtc

import (
	"strings"
	"testing"

	"chalkcast/internal/testkit"
)

const browserOffer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n" +
	"m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n" +
	"a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n" +
	"a=setup:actpass\r\na=recvonly\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1;profile-level-id=42e01f\r\n"

func TestCheckOffer(t *testing.T) {
	if err := CheckOffer([]byte(browserOffer)); err != nil {
		t.Fatalf("a browser's offer: %v", err)
	}
	for name, offer := range map[string]string{
		"not SDP":           "hello",
		"no media":          "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n",
		"data channel":      strings.Replace(browserOffer, "m=video 9 UDP/TLS/RTP/SAVPF 96", "m=application 9 UDP/DTLS/SCTP webrtc-datachannel", 1),
		"no fingerprint":    strings.Replace(browserOffer, "a=fingerprint:", "a=x-fingerprint:", 1),
		"too many sections": browserOffer + strings.Repeat(browserOffer[strings.Index(browserOffer, "m=video"):], maxSections),
	} {
		if err := CheckOffer([]byte(offer)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzCheckOffer: any bytes give an answer, never a panic, and checking
// an offer of the largest size allowed takes bounded memory.
func FuzzCheckOffer(f *testing.F) {
	f.Add([]byte(browserOffer))
	f.Add([]byte("v=0\r\nm=audio 9 RTP 0\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > MaxOffer {
			b = b[:MaxOffer]
		}
		testkit.MaxAlloc(t, testkit.InputBound(len(b)), func() { _ = CheckOffer(b) })
	})
}
