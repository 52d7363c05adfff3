package record

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"chalkcast/engine"
	"chalkcast/internal/testkit"
)

// TestReplayPlaylist: a finished MP4 recording plays as HLS VOD over its
// own fragments by byte range: ffprobe finds its duration, H.264 and AAC,
// and every segment decodes on its own (it starts with a keyframe); an
// FLV recording has no replay, only its download.
func TestReplayPlaylist(t *testing.T) {
	testkit.NeedTools(t, "ffmpeg", "ffprobe")
	_, _, rec := live(t, Settings{Format: "mp4"})
	if _, err := rec.Start("maths", nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(7 * time.Second)
	f, err := rec.Stop("maths")
	if err != nil {
		t.Fatal(err)
	}
	srv := testkit.ServeRoutes(t, rec.Routes)
	id := strings.TrimSuffix(f.Name, ".mp4")
	url := srv.URL + "/replay/" + id + "/index.m3u8"
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	pl := string(body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/vnd.apple.mpegurl" ||
		!strings.Contains(pl, "#EXT-X-PLAYLIST-TYPE:VOD") || !strings.HasSuffix(pl, "#EXT-X-ENDLIST\n") ||
		!strings.Contains(pl, `#EXT-X-MAP:URI="media.mp4?s=`) {
		t.Fatalf("playlist %d %s:\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), pl)
	}
	// keyframes every 2 s: fragments of 2 s, each one a segment
	if n := strings.Count(pl, "#EXT-X-BYTERANGE:"); n < 2 || n > 5 {
		t.Errorf("%d segments in %.1f s:\n%s", n, f.Duration.Seconds(), pl)
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_name:format=duration", "-of", "default=nw=1", url).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %s: %v: %s", url, err, out)
	}
	got := string(out)
	if !strings.Contains(got, "codec_name=h264") || !strings.Contains(got, "codec_name=aac") {
		t.Errorf("ffprobe of the replay: %s", got)
	}
	var dur float64
	for _, l := range strings.Split(got, "\n") {
		if v, ok := strings.CutPrefix(l, "duration="); ok {
			if dur, err = strconv.ParseFloat(v, 64); err != nil {
				t.Fatalf("duration %q", v)
			}
		}
	}
	if d := dur - f.Duration.Seconds(); d < -0.5 || d > 0.5 {
		t.Errorf("the replay lasts %.2f s, the recording %.2f s", dur, f.Duration.Seconds())
	}
	// every segment, fetched by its byte range after the init section's,
	// decodes on its own: each starts with a keyframe
	var ranges []string
	for _, l := range strings.Split(pl, "\n") {
		if r, ok := strings.CutPrefix(l, "#EXT-X-BYTERANGE:"); ok {
			ranges = append(ranges, r)
		}
	}
	uri, _, _ := strings.Cut(strings.SplitAfter(pl, `#EXT-X-MAP:URI="`)[1], `"`)
	file := srv.URL + "/replay/" + id + "/" + uri
	init, _, _ := strings.Cut(strings.SplitAfter(pl, `BYTERANGE="`)[1], `"`)
	head := fetchRange(t, file, init)
	for i, r := range ranges {
		seg := filepath.Join(t.TempDir(), "segment.mp4")
		if err := os.WriteFile(seg, append(append([]byte(nil), head...), fetchRange(t, file, r)...), 0o644); err != nil {
			t.Fatal(err)
		}
		if b, err := exec.Command("ffmpeg", "-v", "error", "-i", seg, "-f", "null", "-").CombinedOutput(); err != nil || len(b) > 0 {
			t.Errorf("segment %d (%s) does not decode on its own: %v %s\n%s", i, r, err, b, pl)
		}
	}
	flv := "maths_2020-01-01_09-00-00.flv"
	if err := os.WriteFile(filepath.Join(filepath.Dir(f.Path), flv), []byte("FLV"), 0o644); err != nil {
		t.Fatal(err)
	}
	flvID := strings.TrimSuffix(flv, ".flv")
	if status, msg := testkit.Call(t, srv, "GET", "/replay/"+flvID+"/index.m3u8", ""); status != http.StatusNotFound {
		t.Errorf("FLV replay: %d %v", status, msg)
	}
	status, l := testkit.Call(t, srv, "GET", "/api/v1/lessons/"+flvID, "")
	if status != http.StatusOK || l["download_url"] != testkit.Base+"/api/v1/recordings/maths/"+flv || l["replay_url"] != nil || l["hls_url"] != nil {
		t.Errorf("the FLV lesson as an admin sees it: %d %v", status, l)
	}
	if status, out := testkit.Visit(t, srv, "GET", "/api/v1/lessons/"+flvID, ""); status != http.StatusNotFound {
		t.Errorf("the FLV lesson as a student sees it: %d %v", status, out)
	}
}

// BenchmarkReplayPlaylist is a replay's playlist of an hour-long lesson
// (720p30 at 2 Mbit/s with AAC, keyframes every 2 s), read from the
// file's boxes as a first request does.
func BenchmarkReplayPlaylist(b *testing.B) {
	path := filepath.Join(b.TempDir(), "hour.mp4")
	writeHour(b, path)
	fh, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer fh.Close()
	st, _ := fh.Stat()
	b.ResetTimer()
	for range b.N {
		ix, err := readIndex(fh, st.Size())
		if err != nil {
			b.Fatal(err)
		}
		if pl := ix.playlist("/x.mp4"); len(pl) == 0 || len(ix.frags) < 1700 {
			b.Fatalf("%d fragments", len(ix.frags))
		}
	}
}

// writeHour writes an hour of synthetic 720p30 H.264 and AAC packets as
// the recorder would.
func writeHour(b *testing.B, path string) {
	video, audio := benchConfigs(b)
	f, err := newFMP4(video, audio, 0, time.Second)
	if err != nil {
		b.Fatal(err)
	}
	out, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer out.Close()
	write := func(p []byte, err error) {
		if err != nil {
			b.Fatal(err)
		}
		if _, err := out.Write(p); err != nil {
			b.Fatal(err)
		}
	}
	write(f.header())
	vpay, apay := make([]byte, 2_000_000/8/30), make([]byte, 64000/8/47)
	for i := range 3600 * 30 {
		at := time.Duration(i) * time.Second / 30
		write(f.add(&engine.Packet{Track: engine.TrackVideo, Codec: engine.CodecH264, PTS: at, DTS: at, Keyframe: i%60 == 0, Payload: vpay, Config: video}))
		for k := i * 47 / 30; k < (i+1)*47/30; k++ {
			at := time.Duration(k) * 1024 * time.Second / 48000
			write(f.add(&engine.Packet{Track: engine.TrackAudio, Codec: engine.CodecAAC, PTS: at, DTS: at, Keyframe: true, Payload: apay, Config: audio}))
		}
	}
	write(f.finish())
}

// fetchRange gets the bytes an HLS byte range ("length@offset") names.
func fetchRange(t *testing.T, url, r string) []byte {
	t.Helper()
	n, off, ok := strings.Cut(r, "@")
	length, err1 := strconv.Atoi(n)
	start, err2 := strconv.Atoi(off)
	if !ok || err1 != nil || err2 != nil || length <= 0 {
		t.Fatalf("byte range %q", r)
	}
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", start, start+length-1))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusPartialContent || len(b) != length {
		t.Fatalf("range %s: %d with %d bytes", r, resp.StatusCode, len(b))
	}
	return b
}

// BenchmarkReplayServed is a student's request for the playlist of an
// hour-long lesson over HTTP, once its index is kept (the first request
// reads it: BenchmarkReplayPlaylist).
func BenchmarkReplayServed(b *testing.B) {
	hub, err := engine.New(engine.Config{}, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer hub.Close()
	rec, err := New(hub, Config{Dir: b.TempDir()}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer rec.Close()
	if err := os.MkdirAll(filepath.Join(rec.Dir(), "maths"), 0o755); err != nil {
		b.Fatal(err)
	}
	writeHour(b, filepath.Join(rec.Dir(), "maths", "maths_2026-12-04_09-00-00.mp4"))
	srv := testkit.ServeRoutes(b, rec.Routes)
	url := srv.URL + "/replay/maths_2026-12-04_09-00-00/index.m3u8"
	get := func() int {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set(testkit.Visitor, "1")
		resp, err := srv.Client().Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		n, _ := io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%d", resp.StatusCode)
		}
		return int(n)
	}
	b.SetBytes(int64(get()))
	b.ResetTimer()
	for range b.N {
		get()
	}
}
