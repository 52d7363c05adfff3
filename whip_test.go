package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"chalkcast/internal/rtctest"
	"chalkcast/internal/testkit"
)

// publishPage publishes the browser's camera and microphone with WHIP:
// H.264 only, every candidate in the offer, the key as a bearer token.
const publishPage = `<!doctype html><meta charset="utf-8"><title>publish</title><script>
window.publish = async function (url, key) {
  const media = await navigator.mediaDevices.getUserMedia({video: {width: 640, height: 360, frameRate: 30}, audio: true});
  const pc = new RTCPeerConnection();
  for (const t of media.getTracks()) pc.addTransceiver(t, {direction: "sendonly", streams: [media]});
  const video = pc.getTransceivers().find(t => t.sender.track.kind === "video");
  video.setCodecPreferences(RTCRtpSender.getCapabilities("video").codecs.filter(c => /h264/i.test(c.mimeType)));
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise(done => {
    setTimeout(done, 1000);
    pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === "complete") done(); };
  });
  const headers = {"Content-Type": "application/sdp"};
  if (key) headers.Authorization = "Bearer " + key;
  const res = await fetch(url, {method: "POST", headers, body: pc.localDescription.sdp});
  const body = await res.text();
  if (res.status !== 201) return res.status + " " + body;
  window.session = new URL(res.headers.get("Location"), url).href;
  await pc.setRemoteDescription({type: "answer", sdp: body});
  window.pc = pc;
  return "ok";
};
</script>`

// whipPublish runs publishPage's publish in b and returns its result.
func whipPublish(t *testing.T, b *browser, url, key string) string {
	t.Helper()
	b.eval(fmt.Sprintf(`window.result = ""; publish(%q, %q).then(r => { window.result = r; }, e => { window.result = "error " + e; }); return true;`, url, key), nil)
	var res string
	testkit.WaitFor(t, 15*time.Second, "the WHIP answer", func() bool {
		b.eval(`return window.result;`, &res)
		return res != ""
	})
	return res
}

// TestWHIPFromChromium: Chromium publishes a fake camera and microphone
// over WHIP from a page on another origin. The stream goes live with a
// WHIP publisher, its HTTP-FLV carries H.264 and AAC, and a WebRTC player
// gets it back; a second publisher is refused, a wrong key gets 401, and
// the DELETE of the session ends the publishing.
func TestWHIPFromChromium(t *testing.T) {
	s := startServer(t, options{})
	key := s.create(t, "math")
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(publishPage))
	}))
	defer page.Close()

	resp, err := http.Post("http://"+s.HTTP+"/live/not-the-key/whip", "application/sdp", strings.NewReader("v=0\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a wrong key: HTTP %d, want 401", resp.StatusCode)
	}

	b := startBrowser(t, "", "")
	b.open(page.URL)
	if res := whipPublish(t, b, "http://"+s.HTTP+"/whip", key); res != "ok" {
		t.Fatalf("publishing: %s", res)
	}
	testkit.WaitFor(t, 10*time.Second, "the stream live from WHIP", func() bool {
		st := s.stream(t, "math")
		pub, _ := st["publisher"].(map[string]any)
		return st["state"] == "live" && pub["protocol"] == "whip" && st["video"] != nil && st["audio"] != nil
	})
	got := ffprobe(t, "http://"+s.HTTP+"/live/math.flv")
	if !slices.Contains(got, "h264,640,360") || !slices.Contains(got, "aac") {
		t.Errorf("the FLV of a WHIP publisher has %v, want H.264 640×360 and AAC", got)
	}

	// back out over WebRTC: the AAC made from the Opus goes out as Opus
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	p, err := rtctest.Dial(ctx, "http://"+s.HTTP+"/live/math/whep", rtctest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 5*time.Second, "a keyframe and sound over WHEP", func() bool {
		return p.Keyframes.Load() > 0 && p.AudioPackets.Load() > 50
	})
	t.Logf("WHIP in, WHEP out: first keyframe %v after the offer", p.FirstKeyframe())
	p.Close()

	// one publisher at a time (the key in the path, OBS's way)
	b2 := startBrowser(t, "", "")
	b2.open(page.URL)
	if res := whipPublish(t, b2, "http://"+s.HTTP+"/live/"+key+"/whip", ""); !strings.HasPrefix(res, "409 ") {
		t.Errorf("a second publisher: %s, want 409", res)
	}

	var session string
	b.eval(`return window.session;`, &session)
	req, _ := http.NewRequest(http.MethodDelete, session, nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE %s: %v %v", session, resp, err)
	}
	testkit.WaitFor(t, 5*time.Second, "the publisher gone", func() bool { return s.stream(t, "math")["publisher"] == nil })
}
