package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// spec makes a packet from a label: "K120" is a video keyframe at 120 ms,
// "P40" a video inter frame at 40 ms, "A20" an audio frame at 20 ms. The
// label is kept in the payload.
func spec(label string) *Packet {
	ms, err := strconv.Atoi(label[1:])
	if err != nil {
		panic(label)
	}
	d := time.Duration(ms) * time.Millisecond
	var p *Packet
	switch label[0] {
	case 'K':
		p = video(d, true)
	case 'P':
		p = video(d, false)
	case 'A':
		p = audio(d)
	default:
		panic(label)
	}
	p.Payload = []byte(label)
	return p
}

func labels(ps []*Packet) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p.Payload)
	}
	return out
}

// poll returns what a reader has ready now, without waiting.
func poll(t *testing.T, rd *Reader) []*Packet {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out []*Packet
	for {
		got, err := rd.Next(ctx, nil)
		out = append(out, got...)
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("poll: %v", err)
			}
			return out
		}
	}
}

func TestReaderStart(t *testing.T) {
	tests := []struct {
		name   string
		ring   int
		before []string // published before the reader joins
		after  []string // published after
		want   []string // what the reader gets
	}{
		{
			name:   "newest keyframe of the GOP cache",
			before: []string{"K0", "P40", "A20", "P80", "K120", "A130", "P160"},
			after:  []string{"P200", "A210"},
			want:   []string{"K120", "A130", "P160", "P200", "A210"},
		},
		{
			name:   "single GOP",
			before: []string{"K0", "A10", "P40"},
			want:   []string{"K0", "A10", "P40"},
		},
		{
			name:   "keyframe is the newest packet",
			before: []string{"K0", "P40", "K80"},
			after:  []string{"A90", "P120"},
			want:   []string{"K80", "A90", "P120"},
		},
		{
			name:   "no keyframe yet: waits and drops earlier video and audio",
			before: []string{"P0", "A10", "P40"},
			after:  []string{"A50", "P80", "A90", "K120", "A130", "P160"},
			want:   []string{"K120", "A130", "P160"},
		},
		{
			name:  "nothing published yet",
			after: []string{"A0", "P0", "K40", "P80"},
			want:  []string{"K40", "P80"},
		},
		{
			name:   "newest keyframe already overwritten in the ring",
			ring:   4,
			before: []string{"K0", "P40", "P80", "P120", "P160", "P200"},
			after:  []string{"A210", "P240", "K280", "P320"},
			want:   []string{"K280", "P320"},
		},
		{
			name:   "audio-only stream starts at once with new audio",
			before: []string{"A0", "A20"},
			after:  []string{"A40", "A60"},
			want:   []string{"A40", "A60"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTestHub(t, Config{RingPackets: tt.ring, MaxLag: time.Hour})
			s := mustCreate(t, h, "s")
			pub := mustPublish(t, s)
			for _, l := range tt.before {
				pub.WritePacket(spec(l))
			}
			rd := mustReader(t, s)
			for _, l := range tt.after {
				pub.WritePacket(spec(l))
			}
			got := labels(readN(t, rd, len(tt.want)))
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("reader got %v, want %v", got, tt.want)
			}
			if rest := poll(t, rd); len(rest) != 0 {
				t.Errorf("then %v more", labels(rest))
			}
			if rd.Skips() != 0 {
				t.Errorf("Skips = %d, want 0", rd.Skips())
			}
		})
	}
}

// TestReaderFirstVideoIsKeyframe joins readers at every point of a stream
// and checks that the first video packet each gets is a keyframe.
func TestReaderFirstVideoIsKeyframe(t *testing.T) {
	h := newTestHub(t, Config{RingPackets: 64, MaxLag: time.Hour})
	s := mustCreate(t, h, "s")
	pub := mustPublish(t, s)
	var readers []*Reader
	for i := range 200 {
		d := time.Duration(i) * 20 * time.Millisecond
		if i%2 == 0 {
			pub.WritePacket(video(d, i%30 == 4))
		} else {
			pub.WritePacket(audio(d))
		}
		readers = append(readers, mustReader(t, s))
	}
	pub.WritePacket(video(200*20*time.Millisecond, true)) // everybody gets here
	for i, rd := range readers {
		got := poll(t, rd)
		if len(got) == 0 {
			t.Fatalf("reader %d got nothing", i)
		}
		for _, p := range got {
			if p.Track == TrackVideo {
				if !p.Keyframe {
					t.Errorf("reader %d: first video packet at %v is not a keyframe", i, p.DTS)
				}
				break
			}
		}
	}
}

type fanKey struct{}

// TestFanOut runs several readers concurrently with the publisher: each
// gets the very same packet pointers in order, and the wire form of each
// packet is built once however many readers ask.
func TestFanOut(t *testing.T) {
	const readers, packets = 4, 600
	h := newTestHub(t, Config{MaxLag: time.Hour})
	s := mustCreate(t, h, "s")
	pub := mustPublish(t, s)

	var builds atomic.Int64
	build := func(p *Packet) []byte {
		builds.Add(1)
		return append([]byte("wire:"), p.Payload...)
	}
	got := make([][]*Packet, readers)
	wires := make([][][]byte, readers)
	errs := make([]error, readers)
	var wg sync.WaitGroup
	ctx := testCtx(t)
	for i := range readers {
		rd := mustReader(t, s)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []*Packet
			for len(got[i]) < packets {
				var err error
				buf, err = rd.Next(ctx, buf[:0])
				for _, p := range buf {
					got[i] = append(got[i], p)
					wires[i] = append(wires[i], p.Wire(fanKey{}, build))
				}
				if err != nil {
					errs[i] = err
					return
				}
			}
		}()
	}
	var sent []*Packet
	for i := range packets {
		d := time.Duration(i) * 10 * time.Millisecond
		var p *Packet
		switch {
		case i == packets-1 || i%3 != 1:
			p = video(d, i%30 == 0)
		default:
			p = audio(d)
		}
		p.Payload = []byte(strconv.Itoa(i))
		sent = append(sent, p)
		pub.WritePacket(p)
	}
	wg.Wait()
	for i := range readers {
		if errs[i] != nil {
			t.Fatalf("reader %d: %v after %d packets", i, errs[i], len(got[i]))
		}
		if len(got[i]) != packets {
			t.Fatalf("reader %d got %d packets, want %d", i, len(got[i]), packets)
		}
		for j := range sent {
			if got[i][j] != sent[j] {
				t.Fatalf("reader %d packet %d is %q, want %q", i, j, got[i][j].Payload, sent[j].Payload)
			}
			if &wires[i][j][0] != &wires[0][j][0] {
				t.Fatalf("reader %d packet %d: wire bytes not shared", i, j)
			}
		}
	}
	if n := builds.Load(); n != packets {
		t.Errorf("wire built %d times for %d packets", n, packets)
	}
}

type wireKeyA struct{}
type wireKeyB struct{}

func TestWireBuildsOncePerKey(t *testing.T) {
	p := &Packet{Payload: []byte("payload")}
	var calls atomic.Int64
	mk := func(tag string) func(*Packet) []byte {
		return func(p *Packet) []byte {
			calls.Add(1)
			return append([]byte(tag+":"), p.Payload...)
		}
	}
	const goroutines = 64
	results := make([][]byte, goroutines)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			key := any(wireKeyA{})
			tag := "a"
			if i%2 == 1 {
				key, tag = wireKeyB{}, "b"
			}
			results[i] = p.Wire(key, mk(tag))
		}()
	}
	close(start)
	wg.Wait()
	if n := calls.Load(); n != 2 {
		t.Fatalf("builder called %d times for 2 keys", n)
	}
	for i, b := range results {
		want := "a:payload"
		if i%2 == 1 {
			want = "b:payload"
		}
		if string(b) != want {
			t.Fatalf("goroutine %d got %q, want %q", i, b, want)
		}
		if &b[0] != &results[i%2][0] {
			t.Fatalf("goroutine %d got a different slice", i)
		}
	}
	// Later calls never build again.
	if b := p.Wire(wireKeyA{}, mk("x")); string(b) != "a:payload" || calls.Load() != 2 {
		t.Errorf("Wire after building = %q, calls %d", b, calls.Load())
	}
	// Keys of different types never collide, even with equal values.
	type other struct{}
	if b := p.Wire(other{}, mk("c")); string(b) != "c:payload" || calls.Load() != 3 {
		t.Errorf("Wire with a new key type = %q, calls %d", b, calls.Load())
	}
}

// TestSlowReaderSkips publishes far more than the ring holds (or than
// MaxLag allows) while readers do not read: WritePacket must not wait for
// them, and each reader jumps to the newest keyframe once, counted.
func TestSlowReaderSkips(t *testing.T) {
	tests := []struct {
		name    string
		ring    int
		maxLag  time.Duration
		packets int
		step    time.Duration
		gop     int
	}{
		{name: "behind more than the ring", ring: 16, maxLag: time.Hour, packets: 5000, step: time.Millisecond, gop: 10},
		{name: "behind more than MaxLag", ring: 4096, maxLag: time.Second, packets: 100, step: 40 * time.Millisecond, gop: 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTestHub(t, Config{RingPackets: tt.ring, MaxLag: tt.maxLag})
			s := mustCreate(t, h, "s")
			v, err := s.Join(ViewerInfo{Protocol: "flv"})
			if err != nil {
				t.Fatal(err)
			}
			pub := mustPublish(t, s)
			pub.WritePacket(video(0, true))
			rd, err := s.NewReader(v)
			if err != nil {
				t.Fatal(err)
			}
			idle := mustReader(t, s) // never reads at all

			var sent []*Packet
			done := make(chan struct{})
			go func() {
				defer close(done)
				for i := 1; i < tt.packets; i++ {
					p := video(time.Duration(i)*tt.step, i%tt.gop == 0)
					sent = append(sent, p)
					pub.WritePacket(p)
				}
			}()
			select {
			case <-done:
			case <-time.After(waitTimeout):
				t.Fatal("the publisher blocked on readers that do not read")
			}

			newestKey := len(sent) - 1
			for !sent[newestKey].Keyframe {
				newestKey--
			}
			got := poll(t, rd)
			if len(got) == 0 || got[0] != sent[newestKey] {
				t.Fatalf("after falling behind the reader starts with %v, want the newest keyframe at %v", got[0].DTS, sent[newestKey].DTS)
			}
			if len(got) != len(sent)-newestKey {
				t.Errorf("got %d packets after the skip, want %d", len(got), len(sent)-newestKey)
			}
			for i, p := range got {
				if p != sent[newestKey+i] {
					t.Fatalf("packet %d after the skip is not the next one", i)
				}
			}
			if rd.Skips() != 1 {
				t.Errorf("Skips = %d, want 1", rd.Skips())
			}
			st := s.Stats(StatsOptions{Viewers: true})
			if st.Skips != 1 || len(st.ViewerList) != 1 || st.ViewerList[0].Skips != 1 {
				t.Errorf("stream skips %d, viewer list %+v; want the skip credited to the viewer", st.Skips, st.ViewerList)
			}
			v.Leave()
			if st := s.Stats(StatsOptions{}); st.Skips != 1 {
				t.Errorf("after Leave stream skips = %d, want 1 (kept)", st.Skips)
			}
			if got := poll(t, idle); len(got) == 0 || !got[0].Keyframe || idle.Skips() != 1 {
				t.Errorf("idle reader: %d packets, skips %d", len(got), idle.Skips())
			}
		})
	}
}

// TestLagWaitsForANewerKeyframe: a reader that has the newest keyframe and
// then falls behind goes on decoding (there is nothing better to jump to)
// and jumps as soon as a newer keyframe exists.
func TestLagWaitsForANewerKeyframe(t *testing.T) {
	h := newTestHub(t, Config{MaxLag: 200 * time.Millisecond})
	s := mustCreate(t, h, "s")
	pub := mustPublish(t, s)
	rd := mustReader(t, s)
	pub.WritePacket(spec("K0"))
	pub.WritePacket(spec("P40"))
	if got := labels(poll(t, rd)); fmt.Sprint(got) != "[K0 P40]" {
		t.Fatalf("got %v", got)
	}
	for ms := 80; ms <= 800; ms += 40 {
		pub.WritePacket(spec("P" + strconv.Itoa(ms)))
	}
	if got := labels(poll(t, rd)); len(got) != 19 || got[0] != "P80" || got[18] != "P800" {
		t.Fatalf("a lagging reader without a newer keyframe got %v, want it to go on from P80", got)
	}
	if rd.Skips() != 0 {
		t.Errorf("Skips = %d before a newer keyframe exists, want 0", rd.Skips())
	}
	// Caught up, it reads on; lagging again with a newer keyframe in
	// the ring, it jumps to that keyframe.
	pub.WritePacket(spec("A810"))
	pub.WritePacket(spec("P840"))
	if got := labels(poll(t, rd)); fmt.Sprint(got) != "[A810 P840]" {
		t.Errorf("caught-up reader got %v", got)
	}
	for ms := 880; ms <= 1200; ms += 40 {
		pub.WritePacket(spec("P" + strconv.Itoa(ms)))
	}
	pub.WritePacket(spec("K1240"))
	pub.WritePacket(spec("A1250"))
	if got := labels(poll(t, rd)); fmt.Sprint(got) != "[K1240 A1250]" {
		t.Errorf("after the skip got %v, want [K1240 A1250]", got)
	}
	if rd.Skips() != 1 {
		t.Errorf("Skips = %d, want 1", rd.Skips())
	}
}

func TestMaxBatch(t *testing.T) {
	h := newTestHub(t, Config{MaxBatch: 4})
	s := mustCreate(t, h, "s")
	pub := mustPublish(t, s)
	rd := mustReader(t, s)
	for i := range 10 {
		pub.WritePacket(video(time.Duration(i)*time.Millisecond, i == 0))
	}
	ctx := testCtx(t)
	var sizes []int
	for range 3 {
		got, err := rd.Next(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(got))
	}
	if fmt.Sprint(sizes) != "[4 4 2]" {
		t.Errorf("batch sizes %v, want [4 4 2]", sizes)
	}
	// Next appends to dst.
	pub.WritePacket(video(20*time.Millisecond, false))
	dst := []*Packet{nil}
	dst, err := rd.Next(ctx, dst)
	if err != nil || len(dst) != 2 || dst[0] != nil {
		t.Errorf("Next with a non-empty dst = %d packets, %v", len(dst), err)
	}
}

func TestNextHonoursContext(t *testing.T) {
	h := newTestHub(t, Config{})
	s := mustCreate(t, h, "s")
	mustPublish(t, s)
	rd := mustReader(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := rd.Next(ctx, nil)
		errc <- err
	}()
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Next = %v, want context.Canceled", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("Next did not return after its context was cancelled")
	}
}

// TestReaderWakesOnPacket: a waiting reader is woken by a video packet.
func TestReaderWakesOnPacket(t *testing.T) {
	h := newTestHub(t, Config{})
	s := mustCreate(t, h, "s")
	pub := mustPublish(t, s)
	rd := mustReader(t, s)
	type result struct {
		ps  []*Packet
		err error
	}
	res := make(chan result, 1)
	ctx := testCtx(t)
	go func() {
		ps, err := rd.Next(ctx, nil)
		res <- result{ps, err}
	}()
	pub.WritePacket(spec("K0"))
	r := <-res
	if r.err != nil || len(r.ps) != 1 || string(r.ps[0].Payload) != "K0" {
		t.Errorf("Next = %v, %v", labels(r.ps), r.err)
	}
}

// closed reports whether ch is closed (readers were woken).
func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// TestAudioHold checks the wake-up batching of audio on a stream with
// video, with synthetic times.
func TestAudioHold(t *testing.T) {
	const hold = 25 * time.Millisecond
	r := newRing(16, hold, -1)
	t0 := time.Unix(1000, 0)
	// Audio-only so far: every audio packet wakes.
	ch := r.notify
	r.append(audio(0), t0)
	if !closed(ch) {
		t.Fatal("audio on a stream without video did not wake readers")
	}
	ch = r.notify
	r.append(audio(1), t0.Add(time.Millisecond))
	if !closed(ch) {
		t.Fatal("second audio on a stream without video did not wake readers")
	}
	// Video always wakes.
	ch = r.notify
	r.append(video(2, true), t0.Add(2*time.Millisecond))
	if !closed(ch) {
		t.Fatal("video did not wake readers")
	}
	// Audio within the hold waits for the next video frame...
	ch = r.notify
	r.append(audio(3), t0.Add(2*time.Millisecond+hold-time.Nanosecond))
	if closed(ch) {
		t.Fatal("audio within the hold woke readers")
	}
	// ...or for the hold to pass.
	r.append(audio(4), t0.Add(2*time.Millisecond+hold))
	if !closed(ch) {
		t.Fatal("audio after the hold did not wake readers")
	}
	ch = r.notify
	r.append(audio(5), t0.Add(3*time.Millisecond+hold))
	if closed(ch) {
		t.Fatal("audio just after a wake woke readers again")
	}
	r.append(video(6, false), t0.Add(4*time.Millisecond+hold))
	if !closed(ch) {
		t.Fatal("video did not wake readers")
	}
	// After end nothing is appended.
	r.end()
	r.end() // twice is fine
	r.append(video(7, true), t0.Add(time.Second))
	if r.head != 7 {
		t.Errorf("head = %d after appending to an ended ring, want 7", r.head)
	}
}

// TestRingEndDrains: readers get what is left, then io.EOF, forever.
func TestRingEndDrains(t *testing.T) {
	r := newRing(8, time.Millisecond, -1)
	rd := r.newReader(time.Hour, 100)
	now := time.Now()
	r.append(spec("K0"), now)
	r.append(spec("P40"), now)
	r.end()
	ctx := testCtx(t)
	got, err := rd.Next(ctx, nil)
	if err != nil || fmt.Sprint(labels(got)) != "[K0 P40]" {
		t.Fatalf("Next after end = %v, %v; want the rest first", labels(got), err)
	}
	for range 2 {
		if got, err := rd.Next(ctx, nil); err != io.EOF || len(got) != 0 {
			t.Fatalf("Next at the end = %v, %v; want io.EOF", labels(got), err)
		}
	}
	// A reader that joins an ended ring still drains the GOP cache first.
	late := r.newReader(time.Hour, 100)
	if got, err := late.Next(ctx, nil); err != nil || fmt.Sprint(labels(got)) != "[K0 P40]" {
		t.Errorf("new reader on an ended ring: %v, %v; want the GOP first", labels(got), err)
	}
	if _, err := late.Next(ctx, nil); err != io.EOF {
		t.Errorf("new reader on an ended ring: %v, want io.EOF", err)
	}
}

func TestReaderClose(t *testing.T) {
	n := 0
	rd := &Reader{onClose: func() { n++ }}
	rd.Close()
	rd.Close()
	if n != 1 {
		t.Errorf("onClose ran %d times, want 1", n)
	}
	(&Reader{}).Close() // without onClose
}

func TestRingSizeRoundsUp(t *testing.T) {
	for _, tt := range []struct{ in, want int }{{0, 1}, {1, 1}, {3, 4}, {16, 16}, {17, 32}, {4096, 4096}} {
		r := newRing(tt.in, 0, -1)
		if len(r.buf) != tt.want || r.mask != uint64(tt.want-1) {
			t.Errorf("newRing(%d): %d slots, mask %#x; want %d", tt.in, len(r.buf), r.mask, tt.want)
		}
	}
}

func TestMonotonic(t *testing.T) {
	type pk struct {
		track    Track
		dts, pts time.Duration
	}
	tests := []struct {
		name string
		in   []pk
		want []pk
	}{
		{
			name: "in order is unchanged",
			in:   []pk{{TrackVideo, 0, 0}, {TrackVideo, 40, 120}, {TrackVideo, 80, 80}},
			want: []pk{{TrackVideo, 0, 0}, {TrackVideo, 40, 120}, {TrackVideo, 80, 80}},
		},
		{
			name: "equal DTS is allowed",
			in:   []pk{{TrackVideo, 40, 40}, {TrackVideo, 40, 80}},
			want: []pk{{TrackVideo, 40, 40}, {TrackVideo, 40, 80}},
		},
		{
			name: "backwards DTS is clamped and PTS keeps its offset",
			in:   []pk{{TrackVideo, 100, 100}, {TrackVideo, 50, 60}, {TrackVideo, 70, 70}, {TrackVideo, 140, 140}},
			want: []pk{{TrackVideo, 100, 100}, {TrackVideo, 100, 110}, {TrackVideo, 100, 100}, {TrackVideo, 140, 140}},
		},
		{
			name: "negative DTS becomes zero",
			in:   []pk{{TrackVideo, -20, -10}, {TrackAudio, -5, -5}},
			want: []pk{{TrackVideo, 0, 10}, {TrackAudio, 0, 0}},
		},
		{
			name: "PTS before DTS is raised",
			in:   []pk{{TrackVideo, 0, 0}, {TrackVideo, 40, 30}, {TrackVideo, 50, 60}, {TrackVideo, 10, 0}},
			want: []pk{{TrackVideo, 0, 0}, {TrackVideo, 40, 40}, {TrackVideo, 50, 60}, {TrackVideo, 50, 50}},
		},
		{
			name: "tracks are independent",
			in:   []pk{{TrackVideo, 100, 100}, {TrackAudio, 50, 50}, {TrackAudio, 40, 40}, {TrackVideo, 90, 90}, {TrackAudio, 60, 60}},
			want: []pk{{TrackVideo, 100, 100}, {TrackAudio, 50, 50}, {TrackAudio, 50, 50}, {TrackVideo, 100, 100}, {TrackAudio, 60, 60}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRing(8, 0, -1)
			for i, in := range tt.in {
				p := &Packet{Track: in.track, DTS: in.dts, PTS: in.pts}
				r.monotonic(p)
				got := pk{p.Track, p.DTS, p.PTS}
				if got != tt.want[i] {
					t.Errorf("packet %d: %+v became %+v, want %+v", i, in, got, tt.want[i])
				}
				if p.PTS < p.DTS {
					t.Errorf("packet %d: PTS %v < DTS %v", i, p.PTS, p.DTS)
				}
			}
		})
	}
}

// TestPublisherTimestamps: the first packet of a session is the zero point,
// DTS never goes backwards per track, and PTS >= DTS.
func TestPublisherTimestamps(t *testing.T) {
	h := newTestHub(t, Config{MaxLag: time.Hour})
	s := mustCreate(t, h, "s")
	pub := mustPublish(t, s)
	rd := mustReader(t, s)
	ms := time.Millisecond
	in := []*Packet{
		{Track: TrackVideo, Codec: CodecH264, DTS: 5000 * ms, PTS: 5080 * ms, Keyframe: true},
		{Track: TrackAudio, Codec: CodecAAC, DTS: 4990 * ms, PTS: 4990 * ms},
		{Track: TrackVideo, Codec: CodecH264, DTS: 5040 * ms, PTS: 5040 * ms},
		{Track: TrackVideo, Codec: CodecH264, DTS: 4000 * ms, PTS: 4000 * ms}, // jump back
		{Track: TrackAudio, Codec: CodecAAC, DTS: 5013 * ms, PTS: 5013 * ms},
		{Track: TrackVideo, Codec: CodecH264, DTS: 5120 * ms, PTS: 5100 * ms}, // PTS < DTS
	}
	// The audio packet before the base is clamped to zero.
	wantDTS := []time.Duration{0, 0, 40 * ms, 40 * ms, 13 * ms, 120 * ms}
	wantPTS := []time.Duration{80 * ms, 0, 40 * ms, 40 * ms, 13 * ms, 120 * ms}
	for _, p := range in {
		pub.WritePacket(p)
	}
	got := readN(t, rd, len(in))
	for i, p := range got {
		if p.DTS != wantDTS[i] || p.PTS != wantPTS[i] {
			t.Errorf("packet %d: DTS/PTS %v/%v, want %v/%v", i, p.DTS, p.PTS, wantDTS[i], wantPTS[i])
		}
		if p.Published.IsZero() {
			t.Errorf("packet %d: Published not set", i)
		}
	}
}

// TestReconnectWithinGrace: a publisher that returns within the grace
// period continues the same ring; viewers keep reading and timestamps
// continue after the last ones even though the new session restarts at 0.
func TestReconnectWithinGrace(t *testing.T) {
	const grace = 100 * time.Millisecond
	h := newTestHub(t, Config{GracePeriod: grace, MaxLag: time.Hour})
	s := mustCreate(t, h, "class")
	sub := h.Subscribe(256)
	ms := time.Millisecond

	pub1 := mustPublish(t, s)
	ring1 := s.ring
	rd := mustReader(t, s)
	for _, d := range []time.Duration{1000, 1040, 1080} {
		pub1.WritePacket(video(d*ms, d == 1000))
	}
	first := readN(t, rd, 3)
	pub1.Close(nil)
	if st := s.State(); st != StateReconnecting {
		t.Fatalf("state after the publisher left = %s, want reconnecting", st)
	}
	if pub1.Closed() != true {
		t.Errorf("Closed() = false after Close")
	}
	pub1.WritePacket(video(2000*ms, true)) // ignored: closed
	// A viewer may still join during the grace period (from the GOP cache).
	late := mustReader(t, s)

	pub2 := mustPublish(t, s)
	if s.ring != ring1 {
		t.Fatal("a publisher returning within the grace period got a new ring")
	}
	if st := s.State(); st != StateLive {
		t.Fatalf("state after republish = %s, want live", st)
	}
	// The new session's clock restarts at zero.
	pub2.WritePacket(video(0, true))
	pub2.WritePacket(audio(0))
	pub2.WritePacket(video(40*ms, false))
	second := readN(t, rd, 3)
	all := append(first, second...)
	wantDTS := []time.Duration{0, 40 * ms, 80 * ms, 120 * ms, 120 * ms, 160 * ms}
	for i, p := range all {
		if p.DTS != wantDTS[i] {
			t.Errorf("packet %d DTS = %v, want %v", i, p.DTS, wantDTS[i])
		}
	}
	if got := readN(t, late, 6); got[0] != first[0] || got[3] != second[0] {
		t.Errorf("the viewer who joined during the grace period did not see both sessions")
	}
	if rd.Skips() != 0 {
		t.Errorf("Skips = %d", rd.Skips())
	}

	// The grace timer of the first session was stopped: nothing ends the
	// ring while the second publisher is live.
	expectNothing(t, rd, 3*grace)
	if st := s.State(); st != StateLive {
		t.Fatalf("state = %s after the old grace period, want live", st)
	}

	seen, _ := waitEvent(t, sub, EventStreamLive, "class")
	seen2, _ := waitEvent(t, sub, EventStreamLive, "class")
	if fmt.Sprint(append(seen, seen2...)) != "[stream_live stream_reconnecting stream_live]" {
		t.Errorf("events %v %v", seen, seen2)
	}
}

// TestGraceExpiry: after the grace period readers drain and get io.EOF, the
// stream is idle and the events say so.
func TestGraceExpiry(t *testing.T) {
	const grace = 100 * time.Millisecond
	h := newTestHub(t, Config{GracePeriod: grace})
	s := mustCreate(t, h, "class")
	sub := h.Subscribe(256)
	pub := mustPublish(t, s)
	rd := mustReader(t, s)
	pub.WritePacket(video(0, true))
	pub.WritePacket(video(40*time.Millisecond, false))
	left := time.Now()
	pub.Close(errors.New("connection reset by peer"))

	ctx := testCtx(t)
	var got []*Packet
	var err error
	for err == nil {
		var ps []*Packet
		ps, err = rd.Next(ctx, nil)
		got = append(got, ps...)
	}
	if err != io.EOF {
		t.Fatalf("Next = %v, want io.EOF after the grace period", err)
	}
	if len(got) != 2 {
		t.Errorf("drained %d packets before EOF, want 2", len(got))
	}
	if d := time.Since(left); d < grace {
		t.Errorf("readers ended after %v, before the grace period of %v", d, grace)
	}
	if st := s.State(); st != StateError { // the publisher left with an error
		t.Errorf("state = %s, want error", st)
	}
	if _, err := s.NewReader(nil); !errors.Is(err, ErrNotLive) {
		t.Errorf("NewReader on an ended stream: %v, want ErrNotLive", err)
	}
	seen, e := waitEvent(t, sub, EventStreamEnded, "class")
	if fmt.Sprint(seen) != "[stream_live source_error stream_reconnecting stream_ended]" {
		t.Errorf("events = %v", seen)
	}
	if e.Error == "" || e.Time.IsZero() {
		t.Errorf("stream_ended event %+v has no reason or time", e)
	}
	st := s.Stats(StatsOptions{})
	if st.LastError != "connection reset by peer" || st.LiveSince != nil || st.BitrateKbps != 0 || st.Video != nil {
		t.Errorf("stats after the end: %+v", st)
	}

	// Publishing again starts a fresh ring with a fresh clock.
	pub2 := mustPublish(t, s)
	rd2 := mustReader(t, s)
	pub2.WritePacket(video(7*time.Second, true))
	if p := readN(t, rd2, 1)[0]; p.DTS != 0 {
		t.Errorf("first DTS of a fresh session = %v, want 0", p.DTS)
	}
	if _, err := rd.Next(ctx, nil); err != io.EOF {
		t.Errorf("old reader: %v, want io.EOF", err)
	}
}

func TestPublishErrors(t *testing.T) {
	h := newTestHub(t, Config{})
	s := mustCreate(t, h, "s")
	pub := mustPublish(t, s)
	if _, err := s.Publish(SourceInfo{}); !errors.Is(err, ErrBusy) {
		t.Errorf("second Publish: %v, want ErrBusy", err)
	}
	if _, err := s.NewReader(nil); err != nil {
		t.Errorf("NewReader on a live stream: %v", err)
	}
	if err := h.Delete("s"); err != nil {
		t.Fatal(err)
	}
	if !pub.Closed() {
		t.Errorf("publisher of a deleted stream is not closed")
	}
	pub.Close(nil) // harmless
	if _, err := s.Publish(SourceInfo{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Publish on a deleted stream: %v, want ErrNotFound", err)
	}
	s2 := mustCreate(t, h, "idle")
	if _, err := s2.NewReader(nil); !errors.Is(err, ErrNotLive) {
		t.Errorf("NewReader on an idle stream: %v, want ErrNotLive", err)
	}
}

// TestDeleteEndsReaders: deleting a live stream ends its readers at once.
func TestDeleteEndsReaders(t *testing.T) {
	h := newTestHub(t, Config{GracePeriod: time.Hour})
	s := mustCreate(t, h, "s")
	pub := mustPublish(t, s)
	rd := mustReader(t, s)
	pub.WritePacket(video(0, true))
	readN(t, rd, 1)
	errc := make(chan error, 1)
	ctx := testCtx(t)
	go func() {
		_, err := rd.Next(ctx, nil)
		errc <- err
	}()
	if err := h.Delete("s"); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != io.EOF {
		t.Errorf("reader of a deleted stream: %v, want io.EOF", err)
	}
	pub.WritePacket(video(40*time.Millisecond, false)) // ignored
}

// TestWakeEvery checks the pacing of wake-ups on a stream with video and
// audio: a frame within wakeEvery of the last wake-up is held, and leaves
// with the first packet after it, or with the release timer.
func TestWakeEvery(t *testing.T) {
	const every = 40 * time.Millisecond
	r := newRing(16, 100*time.Millisecond, every)
	t0 := time.Now()
	r.append(audio(0), t0)
	ch := r.notify
	r.append(video(1, true), t0.Add(time.Millisecond))
	if closed(ch) {
		t.Fatal("a frame 1 ms after a wake-up woke readers")
	}
	r.append(audio(2), t0.Add(20*time.Millisecond))
	if closed(ch) {
		t.Fatal("audio within the pace released the frame")
	}
	r.append(audio(3), t0.Add(every))
	if !closed(ch) {
		t.Fatal("the first packet after the pace did not release the frame")
	}
	ch = r.notify
	r.append(video(4, false), t0.Add(every+time.Millisecond)) // held; no packet follows
	select {
	case <-ch:
	case <-time.After(time.Second):
		t.Fatal("the release timer did not wake readers")
	}
	ch = r.notify
	r.append(video(5, false), time.Now()) // just after the timer's wake-up: held again
	r.end()
	if !closed(ch) {
		t.Fatal("the end did not wake readers")
	}
}

// TestEagerReader: an eager reader is woken for every packet, paced
// readers are not; once it closes, packets stop making wake-ups for it.
func TestEagerReader(t *testing.T) {
	const every = 40 * time.Millisecond
	r := newRing(16, 100*time.Millisecond, every)
	t0 := time.Now()
	r.append(audio(0), t0)
	r.append(video(1, true), t0)
	rd := r.newReader(0, 64)
	rd.Eager()
	if got, _, _ := rd.TryNext(nil); len(got) != 1 {
		t.Fatalf("%d packets from the keyframe on, want 1", len(got))
	}
	_, wait, _ := rd.TryNext(nil)
	paced := r.notify
	r.append(video(2, false), t0.Add(time.Millisecond))
	if !closed(wait) || closed(paced) {
		t.Fatalf("a frame 1 ms later: eager woken %v, paced woken %v; want true, false", closed(wait), closed(paced))
	}
	if got, _, _ := rd.TryNext(nil); len(got) != 1 || got[0].DTS != video(2, false).DTS {
		t.Fatalf("the eager reader got %v", got)
	}
	rd.Close()
	ch := r.eager
	r.append(video(3, false), t0.Add(2*time.Millisecond))
	if closed(ch) || r.eager != ch {
		t.Error("packets still make eager wake-ups with no eager reader")
	}
	r.end()
	if !closed(ch) {
		t.Error("the end did not wake eager readers")
	}
}
