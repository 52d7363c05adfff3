package encode

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"chalkcast/internal/testkit"
)

// frames encodes n frames of a moving gradient with a keyframe every
// `every` frames and returns the Annex-B stream a decoder would get: the
// configuration's parameter sets before each keyframe.
func frames(t *testing.T, n, every int) (stream []byte, keys int) {
	t.Helper()
	enc, err := NewH264(VideoSettings{Width: 320, Height: 240, FPS: 30, Bitrate: 500_000, KeyInterval: time.Duration(every) * time.Second / 30})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	img := image.NewYCbCr(image.Rect(0, 0, 320, 240), image.YCbCrSubsampleRatio420)
	var first []byte
	for f := range n {
		for i := range img.Y {
			img.Y[i] = byte(i%320 + f*4)
		}
		payload, key, cfg, err := enc.Encode(img)
		if err != nil {
			t.Fatal(err)
		}
		if f == 0 && !key {
			t.Fatal("first frame is not a keyframe")
		}
		if first == nil {
			first = cfg.Record
		} else if !bytes.Equal(first, cfg.Record) {
			t.Fatalf("frame %d: configuration changed: %x -> %x", f, first, cfg.Record)
		}
		if key {
			keys++
			rec := cfg.Record // AVCDecoderConfigurationRecord with one SPS and one PPS
			spsLen := int(binary.BigEndian.Uint16(rec[6:]))
			sps := rec[8 : 8+spsLen]
			pps := rec[8+spsLen+3:]
			stream = append(append(append(stream, 0, 0, 0, 1), sps...), 0, 0, 0, 1)
			stream = append(stream, pps...)
		}
		for len(payload) > 0 {
			l := binary.BigEndian.Uint32(payload)
			nal := payload[4 : 4+l]
			if typ := nal[0] & 0x1f; typ == nalSlice || typ == nalSliceIDR {
				r := bitReader{b: unescapeRBSP(nal), pos: 8}
				_, _ = r.ue()
				_, _ = r.ue()
				if id, _ := r.ue(); id != 0 {
					t.Fatalf("frame %d: slice refers to PPS %d", f, id)
				}
			}
			stream = append(append(stream, 0, 0, 0, 1), nal...)
			payload = payload[4+l:]
		}
	}
	return stream, keys
}

// TestParameterSetsStayTheSame: OpenH264 numbers its parameter sets anew
// at each keyframe; after normalising, one configuration serves the whole
// stream and ffmpeg decodes every frame with it.
func TestParameterSetsStayTheSame(t *testing.T) {
	stream, keys := frames(t, 40, 10)
	if keys != 4 {
		t.Errorf("%d keyframes in 40 frames, want 4", keys)
	}
	file := filepath.Join(t.TempDir(), "out.h264")
	if err := os.WriteFile(file, stream, 0o644); err != nil {
		t.Fatal(err)
	}
	needFFmpeg(t)
	out, err := exec.Command("ffmpeg", "-v", "error", "-i", file, "-f", "framemd5", "-").CombinedOutput()
	if err != nil || strings.Contains(string(out), "rror") {
		t.Fatalf("ffmpeg decode: %v %s", err, out)
	}
	if n := strings.Count(string(out), "\n0,"); n != 40 {
		t.Errorf("ffmpeg decoded %d frames, want 40", n)
	}
}

// pps is a PPS with the given ids, 13 bits of payload and the stop bit.
func pps(ppsID, spsID uint32) []byte {
	var w bitWriter
	w.bits(0x68, 8)
	w.ue(ppsID)
	w.ue(spsID)
	w.bits(0x1abc, 13)
	w.bits(1, 1)
	for w.n%8 != 0 {
		w.bits(0, 1)
	}
	return w.b
}

func TestZeroParamSetIDs(t *testing.T) {
	got, err := zeroParamSetIDs(pps(5, 3))
	if err != nil {
		t.Fatal(err)
	}
	if want := pps(0, 0); !bytes.Equal(got, want) {
		t.Errorf("got %x, want %x", got, want)
	}
	// already zero: returned as is
	if again, _ := zeroParamSetIDs(got); &again[0] != &got[0] {
		t.Error("a NAL with ids 0 was copied")
	}
	// emulation prevention survives: payload of zeros
	nal := []byte{0x68, 0x4c, 0, 0, 3, 1, 0x80}
	if out, err := zeroParamSetIDs(nal); err != nil || bytes.Contains(out, []byte{0, 0, 1}) {
		t.Errorf("escaped payload: %x %v", out, err)
	}
	for _, bad := range [][]byte{{0x68, 0}, {0x65, 0x00, 0x00}, {0x67, 1, 2, 3}} {
		if _, err := zeroParamSetIDs(bad); err == nil {
			t.Errorf("%x: no error", bad)
		}
	}
}

func FuzzZeroParamSetIDs(f *testing.F) {
	f.Add([]byte{0x68, 0x48, 0xe3, 0xc8, 0x00})
	f.Add([]byte{0x67, 0x42, 0xc0, 0x14, 0x43, 0x80})
	f.Add([]byte{0x65, 0xb4, 0x00, 0x01, 0x80})
	f.Add([]byte{0x41, 0xd0, 0x00, 0x00, 0x03, 0x01})
	f.Fuzz(func(t *testing.T, nal []byte) {
		testkit.MaxAlloc(t, testkit.InputBound(len(nal)), func() {
			out, err := zeroParamSetIDs(nal)
			if err != nil {
				return
			}
			// rewriting is idempotent, and the result never contains a start code
			again, err := zeroParamSetIDs(out)
			if err != nil || !bytes.Equal(again, out) {
				t.Fatalf("second rewrite of %x: %x, %v", out, again, err)
			}
			if !bytes.Equal(out, nal) && (bytes.Contains(out, []byte{0, 0, 1}) || bytes.Contains(out, []byte{0, 0, 0})) {
				t.Fatalf("rewrite of %x made a start code: %x", nal, out)
			}
		})
	})
}

// BenchmarkH264 encodes frames of ffmpeg's testsrc2 (moving, detailed:
// it needs the presets' bitrates, unlike the flat test pattern) at each
// preset's size and bitrate. ns/op is the CPU time of one frame on one
// core; "core%" is what 30 fps of it costs.
func BenchmarkH264(b *testing.B) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		b.Fatal("ffmpeg is needed")
	}
	for _, p := range Presets() {
		b.Run(p.Name, func(b *testing.B) {
			const n = 60
			raw, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i",
				fmt.Sprintf("testsrc2=size=%dx%d:rate=30", p.Width, p.Height),
				"-frames:v", fmt.Sprint(n), "-pix_fmt", "yuv420p", "-f", "rawvideo", "-").Output()
			if err != nil {
				b.Fatal(err)
			}
			size := p.Width * p.Height * 3 / 2
			imgs := make([]*image.YCbCr, n)
			for i := range imgs {
				img := image.NewYCbCr(image.Rect(0, 0, p.Width, p.Height), image.YCbCrSubsampleRatio420)
				f := raw[i*size : (i+1)*size]
				copy(img.Y, f)
				copy(img.Cb, f[len(img.Y):])
				copy(img.Cr, f[len(img.Y)+len(img.Cb):])
				imgs[i] = img
			}
			enc, err := NewH264(VideoSettings{Width: p.Width, Height: p.Height, FPS: p.FPS, Bitrate: p.BitrateKbps * 1000, KeyInterval: KeyInterval})
			if err != nil {
				b.Fatal(err)
			}
			defer enc.Close()
			total := 0
			i := 0
			for b.Loop() {
				payload, _, _, err := enc.Encode(imgs[i%n])
				if err != nil {
					b.Fatal(err)
				}
				total += len(payload)
				i++
			}
			perFrame := b.Elapsed().Seconds() / float64(i)
			b.ReportMetric(perFrame*float64(p.FPS)*100, "core%")
			b.ReportMetric(float64(total)*8/float64(i)*float64(p.FPS)/1000, "kbit/s")
		})
	}
}
