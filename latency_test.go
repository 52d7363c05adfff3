package main

import (
	"bytes"
	"fmt"
	"os/exec"
	"sort"
	"testing"
	"time"

	"chalkcast/internal/testkit"
	"chalkcast/outputs/hls"
)

// Publish-to-display latency, measured in the picture itself: a Go
// "camera" draws the wall clock as a barcode into every frame, ffmpeg
// encodes (libx264 zerolatency) and publishes it over RTMP, and the share
// page in Chromium decodes the barcode of the frame on screen and compares
// it with its own clock. Same machine, same clock: what is left is encoder,
// RTMP, Chalkcast, transport, player buffer and decoder. The figures are
// logged, not asserted (timings are for benchmarks, not unit tests).

const (
	bcBits  = 26 // milliseconds modulo 2^26 (18.6 hours)
	bcWidth = 16 // pixels per bit
	bcW     = bcBits * bcWidth
	bcH     = 96
)

// barcodeFrame draws t (ms) as bcBits black/white stripes, most
// significant bit first, in a gray frame.
func barcodeFrame(ms int64, frame []byte) {
	for x := range bcW {
		bit := ms >> (bcBits - 1 - x/bcWidth) & 1
		v := byte(16)
		if bit == 1 {
			v = 235
		}
		for y := range bcH {
			frame[y*bcW+x] = v
		}
	}
}

// publishClock starts ffmpeg publishing the clock barcode at 30 fps, with a
// tone, until the test ends.
func publishClock(t *testing.T, url string) {
	t.Helper()
	testkit.NeedTools(t, "ffmpeg", "ffprobe")
	cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
		"-f", "rawvideo", "-pix_fmt", "gray", "-s", fmt.Sprintf("%dx%d", bcW, bcH), "-framerate", "30",
		"-use_wallclock_as_timestamps", "1", "-i", "pipe:0",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "30", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-b:a", "64k", "-f", "flv", "-flvflags", "no_duration_filesize", url)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer stdin.Close()
		frame := make([]byte, bcW*bcH)
		tick := time.NewTicker(time.Second / 30)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-tick.C:
				barcodeFrame(now.UnixMilli()%(1<<bcBits), frame)
				if _, err := stdin.Write(frame); err != nil {
					return
				}
			}
		}
	}()
	t.Cleanup(func() {
		close(done)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
}

// displayLatencies samples the frame on screen n times and returns how
// old each was, in milliseconds.
func displayLatencies(t *testing.T, b *browser, n int) []float64 {
	t.Helper()
	var lat []float64
	for range n {
		var r struct {
			OK  bool    `json:"ok"`
			Lag float64 `json:"lag"`
		}
		b.eval(fmt.Sprintf(`var v = document.getElementById("v");
			if (!v.videoWidth) return {ok: false};
			var c = document.createElement("canvas"); c.width = v.videoWidth; c.height = v.videoHeight;
			var g = c.getContext("2d"); g.drawImage(v, 0, 0);
			var now = Date.now();
			var d = g.getImageData(0, 0, c.width, c.height).data, bits = %d, w = c.width / bits, y = Math.floor(c.height / 2), ms = 0;
			for (var i = 0; i < bits; i++) {
				var x = Math.floor(i * w + w / 2);
				ms = ms * 2 + (d[(y * c.width + x) * 4] > 128 ? 1 : 0);
			}
			var lag = ((now %% %d) - ms + %d) %% %d;
			return {ok: true, lag: lag};`, bcBits, 1<<bcBits, 1<<bcBits, 1<<bcBits), &r)
		if r.OK && r.Lag < 60000 {
			lat = append(lat, r.Lag)
		}
		time.Sleep(150 * time.Millisecond)
	}
	sort.Float64s(lat)
	return lat
}

func TestPublishToDisplayLatency(t *testing.T) {
	if testing.Short() {
		t.Skip("measures for several seconds")
	}
	for _, c := range []struct{ name, query, variant string }{
		{"WebRTC (WHEP)", "?player=webrtc", ""},
		{"HTTP-FLV (mpegts.js)", "?player=flv", ""},
		{"low-latency HLS (hls.js)", "?player=hls", "lowlatency"},
		{"MPEG-TS HLS (hls.js)", "?player=hls", "mpegts"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := startServer(t, options{HLS: hls.Config{Variant: c.variant}})
			key := s.create(t, "clock")
			publishClock(t, "rtmp://"+s.RTMP+"/live/"+key)
			testkit.WaitFor(t, 10*time.Second, "stream live", func() bool { return s.stream(t, "clock")["state"] == "live" })
			b := startBrowser(t, "", "")
			b.watchPlays("http://" + s.HTTP + "/watch/clock" + c.query)
			time.Sleep(3 * time.Second) // let latency chasing settle
			lat := displayLatencies(t, b, 30)
			if len(lat) < 20 {
				t.Fatalf("only %d readable frames", len(lat))
			}
			t.Logf("%s publish-to-display: median %.0f ms, min %.0f ms, max %.0f ms over %d samples",
				c.name, lat[len(lat)/2], lat[0], lat[len(lat)-1], len(lat))
		})
	}
}
