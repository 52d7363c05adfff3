package hls

import (
	"image"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"chalkcast/engine"
	"chalkcast/media/encode"
)

// BenchmarkRewindPlaylist is one request for the media playlist of a
// stream whose window keeps ten minutes to rewind (600 segments of 1 s),
// or the 7 segments kept without rewinding: whole, as a player starting
// or one without LL-HLS asks, and as the delta update (_HLS_skip=YES)
// with which hls.js and Safari reload it.
func BenchmarkRewindPlaylist(b *testing.B) {
	for _, rewind := range []time.Duration{0, 10 * time.Minute} {
		b.Run("rewind="+rewind.String(), func(b *testing.B) { benchPlaylist(b, rewind) })
	}
}

func benchPlaylist(b *testing.B, rewind time.Duration) {
	hub, err := engine.New(engine.Config{}, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer hub.Close()
	out, err := New(hub, Config{Rewind: rewind, Dir: b.TempDir()}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer out.Close()
	s, err := hub.Create(engine.StreamConfig{Name: "class"})
	if err != nil {
		b.Fatal(err)
	}
	pub, err := s.Publish(engine.SourceInfo{Protocol: "test"})
	if err != nil {
		b.Fatal(err)
	}
	enc, err := encode.NewH264(encode.VideoSettings{Width: 640, Height: 360, FPS: 30, Bitrate: 500_000, KeyInterval: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	frame, _, cfg, err := enc.Encode(image.NewYCbCr(image.Rect(0, 0, 640, 360), image.YCbCrSubsampleRatio420))
	enc.Close()
	if err != nil {
		b.Fatal(err)
	}
	// eleven minutes of keyframes a second, as fast as the muxer takes them
	for i := range 11 * 60 * 30 {
		at := time.Duration(i) * time.Second / 30
		pub.WritePacket(&engine.Packet{Track: engine.TrackVideo, Codec: engine.CodecH264, PTS: at, DTS: at, Keyframe: i%30 == 0, Payload: frame, Config: cfg})
		if i%30 == 0 {
			time.Sleep(2 * time.Millisecond)
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, file, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/live/"), "/")
		out.Serve(w, r, name, file)
	}))
	defer srv.Close()
	get := func(url string) string {
		resp, err := srv.Client().Get(url)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%s: %d %s", url, resp.StatusCode, body)
		}
		return string(body)
	}
	index := get(srv.URL + "/live/class/index.m3u8?s=00112233445566778899aabbccddeeff")
	var media string
	for _, l := range strings.Split(index, "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			media = srv.URL + "/live/class/" + l
			break
		}
	}
	if n, want := strings.Count(get(media), "#EXTINF"), out.cfg.SegmentCount; n < want-10 {
		b.Fatalf("the window holds %d segments, want %d", n, want)
	}
	for _, c := range []struct{ name, query string }{{"whole", ""}, {"delta", "&_HLS_skip=YES"}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(get(media + c.query))))
			for range b.N {
				get(media + c.query)
			}
		})
	}
}
