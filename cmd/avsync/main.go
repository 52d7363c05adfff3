// Command avsync measures lip sync of a Chalkcast test-pattern stream: it
// records the stream (or reads a recording) and reports, for each second,
// how far the beep is from the flash, and how that offset moved from the
// start to the end (the drift).
//
//	go run ./cmd/avsync -url http://127.0.0.1:8080/live/test.flv -duration 10m
//	go run ./cmd/avsync -file recording.flv
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"time"

	"chalkcast/internal/mediatest"
)

func main() {
	url := flag.String("url", "", "stream to record (HTTP-FLV, HLS or RTMP URL)")
	file := flag.String("file", "", "recording to analyse instead")
	d := flag.Duration("duration", time.Minute, "how long to record")
	flag.Parse()
	if err := run(*url, *file, *d); err != nil {
		fmt.Fprintln(os.Stderr, "avsync:", err)
		os.Exit(1)
	}
}

func run(url, file string, d time.Duration) error {
	ctx := context.Background()
	if file == "" {
		if url == "" {
			return fmt.Errorf("give -url or -file")
		}
		dir, err := os.MkdirTemp("", "avsync")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if file, err = mediatest.Record(ctx, url, dir, d); err != nil {
			return err
		}
	}
	syncs, err := mediatest.SyncOffsets(ctx, file)
	if err != nil {
		return err
	}
	if len(syncs) < 2 {
		return fmt.Errorf("found %d flash+beep pairs: is this the test pattern?", len(syncs))
	}
	offs := make([]time.Duration, len(syncs))
	for i, s := range syncs {
		offs[i] = s.Offset
	}
	sorted := append([]time.Duration(nil), offs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	avg := func(xs []time.Duration) time.Duration {
		var sum time.Duration
		for _, x := range xs {
			sum += x
		}
		return sum / time.Duration(len(xs))
	}
	n := min(10, len(offs)/2)
	first, last := avg(offs[:n]), avg(offs[len(offs)-n:])
	fmt.Printf("pairs: %d over %.0f s of stream time\n", len(syncs), syncs[len(syncs)-1].Flash-syncs[0].Flash)
	fmt.Printf("beep minus flash: min %v, median %v, max %v\n", sorted[0], sorted[len(sorted)/2], sorted[len(sorted)-1])
	fmt.Printf("first %d s: %v, last %d s: %v, drift %v\n", n, first, n, last, last-first)
	return nil
}
