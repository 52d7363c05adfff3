package encode

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
)

func needFFmpeg(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatal("ffmpeg is needed (packaging/setup.sh installs it)")
	}
}

// sine makes n samples per channel of a tone at freq Hz, interleaved.
func sine(n, rate, channels int, freq float64, from int) []int16 {
	out := make([]int16, 0, n*channels)
	for i := range n {
		v := int16(12000 * math.Sin(2*math.Pi*freq*float64(from+i)/float64(rate)))
		for range channels {
			out = append(out, v)
		}
	}
	return out
}

// TestAACEncodersRunConcurrently runs three encoders with different
// settings at the same time, as a camera stream, a screen stream and an IP
// camera's re-encoded audio do; each output must decode to its own tone.
func TestAACEncodersRunConcurrently(t *testing.T) {
	needFFmpeg(t)
	cases := []struct {
		rate, channels int
		freq           float64
	}{{48000, 1, 440}, {44100, 2, 1000}, {48000, 2, 2500}}
	dir := t.TempDir()
	var wg sync.WaitGroup
	errs := make([]error, len(cases))
	for i, c := range cases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = encodeFile(filepath.Join(dir, fmt.Sprintf("%d.aac", i)), c.rate, c.channels, c.freq, 3)
		}()
	}
	wg.Wait()
	for i, c := range cases {
		if errs[i] != nil {
			t.Fatalf("encoder %d: %v", i, errs[i])
		}
		file := filepath.Join(dir, fmt.Sprintf("%d.aac", i))
		// decodes without a single error...
		if out, err := exec.Command("ffmpeg", "-v", "error", "-i", file, "-f", "null", "-").CombinedOutput(); err != nil || len(out) > 0 {
			t.Fatalf("encoder %d: ffmpeg decode: %v %s", i, err, out)
		}
		// ...to 3 s of its own tone: the strongest frequency is the one fed in
		got := dominantFrequency(t, file, c.rate, c.channels)
		if math.Abs(got-c.freq) > 20 {
			t.Errorf("encoder %d: decoded tone %.0f Hz, want %.0f Hz", i, got, c.freq)
		}
	}
}

func encodeFile(path string, rate, channels int, freq float64, seconds int) error {
	enc, err := NewAAC(rate, channels, 64000*channels)
	if err != nil {
		return err
	}
	defer enc.Close()
	var adts mpeg4audio.ADTSPackets
	for i := 0; i < seconds*rate/AACFrameSamples; i++ {
		au, err := enc.Encode(sine(AACFrameSamples, rate, channels, freq, i*AACFrameSamples))
		if err != nil {
			return err
		}
		adts = append(adts, &mpeg4audio.ADTSPacket{Type: mpeg4audio.ObjectTypeAACLC, SampleRate: rate, ChannelCount: channels, AU: au})
	}
	b, err := adts.Marshal()
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// dominantFrequency decodes one channel and counts zero crossings.
func dominantFrequency(t *testing.T, file string, rate, channels int) float64 {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-v", "error", "-i", file, "-ss", "0.5", "-t", "2", "-ac", "1", "-f", "s16le", "-").Output()
	if err != nil {
		t.Fatalf("decode %s: %v", file, err)
	}
	crossings := 0
	prev := int16(0)
	for i := 0; i+1 < len(out); i += 2 {
		v := int16(uint16(out[i]) | uint16(out[i+1])<<8)
		if (prev < 0) != (v < 0) {
			crossings++
		}
		prev = v
	}
	secs := float64(len(out)/2) / float64(rate)
	return float64(crossings) / 2 / secs
}

func TestAACRefusesBadInput(t *testing.T) {
	if _, err := NewAAC(48000, 3, 64000); err == nil {
		t.Error("3 channels accepted")
	}
	if _, err := NewAAC(12345, 1, 64000); err == nil {
		t.Error("12345 Hz accepted")
	}
	enc, err := NewAAC(48000, 1, 64000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := enc.Encode(make([]int16, 100)); err == nil || !strings.Contains(err.Error(), "1024") {
		t.Errorf("short frame: %v", err)
	}
	enc.Close()
	enc.Close()
	if _, err := enc.Encode(make([]int16, AACFrameSamples)); err == nil {
		t.Error("encode after close worked")
	}
}
