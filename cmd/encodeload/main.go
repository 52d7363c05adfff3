//go:build linux

// Command encodeload measures what encoding costs: it starts a chalkcast
// binary, runs test-pattern streams (drawn, then encoded to H.264 + AAC
// exactly as a camera would be) at each preset, and reports the server's
// CPU per stream, the capture-to-packet latency and the frames dropped.
//
//	go build -o /tmp/chalkcast . && go run ./cmd/encodeload -bin /tmp/chalkcast
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"chalkcast/internal/loadkit"
)

func main() {
	bin := flag.String("bin", "", "chalkcast binary to measure (required)")
	presets := flag.String("presets", "480p,720p,1080p", "presets to measure, in order")
	streams := flag.Int("streams", 1, "streams encoding at once")
	warmup := flag.Duration("warmup", 5*time.Second, "run this long before measuring")
	hold := flag.Duration("hold", 20*time.Second, "measuring window per preset")
	httpAddr := flag.String("http", "127.0.0.1:18090", "server HTTP address")
	rtmpAddr := flag.String("rtmp", "127.0.0.1:11945", "server RTMP address")
	flag.Parse()
	if *bin == "" {
		fmt.Fprintln(os.Stderr, "encodeload: -bin is required")
		os.Exit(2)
	}
	if err := run(*bin, strings.Split(*presets, ","), *streams, *warmup, *hold, *httpAddr, *rtmpAddr); err != nil {
		fmt.Fprintln(os.Stderr, "encodeload:", err)
		os.Exit(1)
	}
}

type streamStats struct {
	State       string  `json:"state"`
	LastError   string  `json:"last_error"`
	BitrateKbps float64 `json:"bitrate_kbps"`
	Video       *struct {
		FPS float64 `json:"fps"`
	} `json:"video"`
	Encoder *struct {
		Dropped   int64   `json:"dropped_frames"`
		Latency   float64 `json:"latency_ms"`
		LatencyMx float64 `json:"latency_max_ms"`
	} `json:"encoder"`
}

func run(bin string, presets []string, n int, warmup, hold time.Duration, httpAddr, rtmpAddr string) error {
	srv, err := loadkit.Start(bin, httpAddr, rtmpAddr)
	if err != nil {
		return err
	}
	defer srv.Stop()
	fmt.Printf("%d stream(s) per preset, %v warm-up, %v measured; CPU is %% of one core per stream\n\n", n, warmup, hold)
	fmt.Printf("%-7s %8s %8s %7s %12s %12s %8s\n", "preset", "CPU", "fps", "kbit/s", "latency avg", "latency max", "dropped")
	for _, preset := range presets {
		names := make([]string, n)
		for i := range names {
			names[i] = fmt.Sprintf("enc-%s-%d", preset, i)
			req := map[string]any{"name": names[i], "source": map[string]any{"type": "testpattern", "options": map[string]string{"preset": preset}}}
			if err := loadkit.Call("POST", srv.API+"/streams", req, nil); err != nil {
				return err
			}
		}
		time.Sleep(warmup)
		cpu0, _, _, _ := loadkit.Stat(srv.Pid)
		var latSum, latMax, fps, kbps float64
		var samples int
		var dropped0, dropped int64
		end := time.Now().Add(hold)
		for first := true; time.Now().Before(end); first = false {
			time.Sleep(time.Second)
			dropped = 0
			for _, name := range names {
				var st streamStats
				if err := loadkit.Call("GET", srv.API+"/streams/"+name, nil, &st); err != nil {
					return err
				}
				if st.State != "live" || st.Encoder == nil || st.Video == nil {
					return fmt.Errorf("%s: state %s %s", name, st.State, st.LastError)
				}
				latSum += st.Encoder.Latency
				latMax = max(latMax, st.Encoder.LatencyMx)
				fps += st.Video.FPS
				kbps += st.BitrateKbps
				dropped += st.Encoder.Dropped
				samples++
			}
			if first {
				dropped0 = dropped
			}
		}
		cpu1, _, _, _ := loadkit.Stat(srv.Pid)
		cpu := (cpu1 - cpu0).Seconds() / hold.Seconds() * 100 / float64(n)
		fmt.Printf("%-7s %7.1f%% %8.2f %7.0f %10.1fms %10.1fms %8d\n", preset, cpu,
			fps/float64(samples), kbps/float64(samples), latSum/float64(samples), latMax, dropped-dropped0)
		for _, name := range names {
			if err := loadkit.Call("DELETE", srv.API+"/streams/"+name, nil, nil); err != nil {
				return err
			}
		}
		time.Sleep(time.Second)
	}
	return nil
}
