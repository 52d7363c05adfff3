package codec

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"chalkcast/engine"
	"chalkcast/internal/testkit"
)

// Parameter sets of real streams, produced with
//
//	ffmpeg -f lavfi -i testsrc2=size=WxH:rate=R -frames:v 1 -c:v libx264 -profile:v P -f h264 x.h264
//	ffmpeg -f lavfi -i testsrc2=size=WxH:rate=R -frames:v 1 [-pix_fmt yuv420p10le] -c:v libx265 -f hevc x.hevc
//
// and cut out of the Annex B byte stream (NAL types 7/8 for H.264, 32/33/34
// for H.265). They include emulation-prevention bytes, as in the records.
var (
	// 1280x720, High profile (x264 default), level 3.1.
	sps720High = mustHex("6764001facd9405005bb0110000003001000000303c0f1831960")
	pps720High = mustHex("68ebe3cb22c0")
	// 854x480 (needs cropping), Constrained Baseline.
	sps480Base = mustHex("6742c01ed900d83de6f011000003000100000300320f162e48")
	pps480Base = mustHex("68cb83cb20")
	// 640x360, Main.
	sps360Main = mustHex("674d401eeca05017fcb808800000030080000019078b16cb")
	pps360Main = mustHex("68ebe3cb20")

	// H.265 1280x720 Main (x265).
	vps720 = mustHex("40010c01ffff01600000030090000003000003005d959809")
	sps720 = mustHex("42010101600000030090000003000003005da00280802d165959a4932bc05a020000030002000003003c10")
	pps720 = mustHex("4401c172b46240")
	// H.265 1920x1080 Main 10 (x265, yuv420p10le).
	vps1080m10 = mustHex("40010c01ffff022000000300900000030000030078959809")
	sps1080m10 = mustHex("420101022000000300900000030000030078a003c08010e4d96566924caf016808000003000800000300c840")
	pps1080m10 = mustHex("4401c172b46240")
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// hevcRecord builds an HEVCDecoderConfigurationRecord (ISO/IEC 14496-15
// 8.3.3.1) with one array per non-empty parameter-set list, in the order
// VPS, SPS, PPS, plus extra arrays as given.
func hevcRecord(vps, sps, pps [][]byte, extra ...hevcArray) []byte {
	b := []byte{
		1,             // configurationVersion
		0x01,          // profile_space 0, tier 0, profile_idc 1 (Main)
		0x60, 0, 0, 0, // general_profile_compatibility_flags
		0x90, 0, 0, 0, 0, 0, // general_constraint_indicator_flags
		0x5d,       // general_level_idc 93 (3.1)
		0xf0, 0x00, // reserved + min_spatial_segmentation_idc
		0xfc, // reserved + parallelismType
		0xfd, // reserved + chromaFormat 1
		0xf8, // reserved + bitDepthLumaMinus8
		0xf8, // reserved + bitDepthChromaMinus8
		0, 0, // avgFrameRate
		0x0f, // constantFrameRate 0, numTemporalLayers 1, temporalIdNested 1, lengthSizeMinusOne 3
	}
	var arrays []hevcArray
	if len(vps) > 0 {
		arrays = append(arrays, hevcArray{32, vps})
	}
	if len(sps) > 0 {
		arrays = append(arrays, hevcArray{33, sps})
	}
	if len(pps) > 0 {
		arrays = append(arrays, hevcArray{34, pps})
	}
	arrays = append(arrays, extra...)
	b = append(b, byte(len(arrays)))
	for _, a := range arrays {
		b = append(b, 0x80|a.typ) // array_completeness 1
		b = binary.BigEndian.AppendUint16(b, uint16(len(a.nalus)))
		for _, n := range a.nalus {
			b = binary.BigEndian.AppendUint16(b, uint16(len(n)))
			b = append(b, n...)
		}
	}
	return b
}

type hevcArray struct {
	typ   byte
	nalus [][]byte
}

func equalNALs(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func TestAVCRecordRoundTrip(t *testing.T) {
	tests := []struct {
		name     string
		sps, pps [][]byte
	}{
		{"high 720p", [][]byte{sps720High}, [][]byte{pps720High}},
		{"baseline 480p", [][]byte{sps480Base}, [][]byte{pps480Base}},
		{"main 360p", [][]byte{sps360Main}, [][]byte{pps360Main}},
		{"two sps two pps", [][]byte{sps720High, sps360Main}, [][]byte{pps720High, pps360Main}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := BuildAVCRecord(tt.sps, tt.pps)
			if err != nil {
				t.Fatalf("BuildAVCRecord: %v", err)
			}
			if rec[0] != 1 {
				t.Errorf("version = %d, want 1", rec[0])
			}
			if rec[4] != 0xff {
				t.Errorf("lengthSizeMinusOne byte = %#x, want 0xff (4-byte lengths)", rec[4])
			}
			if got, want := rec[5], 0xe0|byte(len(tt.sps)); got != want {
				t.Errorf("numOfSequenceParameterSets byte = %#x, want %#x", got, want)
			}
			r, err := ParseAVCRecord(rec)
			if err != nil {
				t.Fatalf("ParseAVCRecord: %v", err)
			}
			if r.Profile != tt.sps[0][1] || r.Compat != tt.sps[0][2] || r.Level != tt.sps[0][3] {
				t.Errorf("profile/compat/level = %d/%d/%d, want %d/%d/%d",
					r.Profile, r.Compat, r.Level, tt.sps[0][1], tt.sps[0][2], tt.sps[0][3])
			}
			if !equalNALs(r.SPS, tt.sps) {
				t.Errorf("SPS = %x, want %x", r.SPS, tt.sps)
			}
			if !equalNALs(r.PPS, tt.pps) {
				t.Errorf("PPS = %x, want %x", r.PPS, tt.pps)
			}
			// A High-profile record may carry chroma/bit-depth extension
			// bytes after the PPS; they are ignored.
			ext := append(append([]byte(nil), rec...), 0xfd, 0xf8, 0xf8, 0)
			r2, err := ParseAVCRecord(ext)
			if err != nil {
				t.Fatalf("ParseAVCRecord with extension bytes: %v", err)
			}
			if !equalNALs(r2.SPS, tt.sps) || !equalNALs(r2.PPS, tt.pps) {
				t.Errorf("with extension bytes: SPS/PPS differ")
			}
		})
	}
}

func TestBuildAVCRecordErrors(t *testing.T) {
	tests := []struct {
		name     string
		sps, pps [][]byte
	}{
		{"no sps", nil, [][]byte{pps720High}},
		{"empty sps list", [][]byte{}, [][]byte{pps720High}},
		{"sps too short", [][]byte{{0x67, 0x64, 0x00}}, [][]byte{pps720High}},
		{"no pps", [][]byte{sps720High}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if b, err := BuildAVCRecord(tt.sps, tt.pps); err == nil {
				t.Fatalf("BuildAVCRecord = %x, nil; want an error", b)
			}
		})
	}
}

func TestParseAVCRecordErrors(t *testing.T) {
	good, err := BuildAVCRecord([][]byte{sps720High}, [][]byte{pps720High})
	if err != nil {
		t.Fatal(err)
	}
	mod := func(f func(b []byte) []byte) []byte {
		return f(append([]byte(nil), good...))
	}
	tests := []struct {
		name      string
		in        []byte
		wantShort bool
		wantText  string
	}{
		{name: "empty", in: nil, wantShort: true},
		{name: "five bytes", in: good[:5], wantShort: true},
		{name: "version 0", in: mod(func(b []byte) []byte { b[0] = 0; return b }), wantText: "version 0"},
		{name: "version 2", in: mod(func(b []byte) []byte { b[0] = 2; return b }), wantText: "version 2"},
		{name: "no sps", in: []byte{1, 0x64, 0, 0x1f, 0xff, 0xe0, 1, 0, 1, 0x68}, wantText: "no SPS"},
		{name: "zero-length sps", in: []byte{1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 0, 1, 0, 1, 0x68}, wantShort: true},
		{name: "sps length beyond end", in: mod(func(b []byte) []byte { b[7] = 0xff; return b }), wantShort: true},
		{name: "pps count missing", in: good[:6+2+len(sps720High)], wantShort: true},
		{name: "pps count too large", in: mod(func(b []byte) []byte { b[6+2+len(sps720High)] = 2; return b }), wantShort: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseAVCRecord(tt.in)
			if err == nil {
				t.Fatalf("ParseAVCRecord(%x) succeeded, want an error", tt.in)
			}
			checkErr(t, err, tt.wantShort, tt.wantText)
		})
	}
	// Every proper prefix of a valid record is truncated and must say so.
	for n := range len(good) {
		if _, err := ParseAVCRecord(good[:n]); !errors.Is(err, ErrShort) {
			t.Errorf("prefix of %d/%d bytes: err = %v, want ErrShort", n, len(good), err)
		}
	}
}

func TestH264Config(t *testing.T) {
	tests := []struct {
		name          string
		sps, pps      []byte
		width, height int
		profile       string
	}{
		{"x264 high 1280x720", sps720High, pps720High, 1280, 720, "High"},
		{"x264 constrained baseline 854x480", sps480Base, pps480Base, 854, 480, "Constrained Baseline"},
		{"x264 main 640x360", sps360Main, pps360Main, 640, 360, "Main"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := BuildAVCRecord([][]byte{tt.sps}, [][]byte{tt.pps})
			if err != nil {
				t.Fatal(err)
			}
			c, err := H264Config(rec)
			if err != nil {
				t.Fatalf("H264Config: %v", err)
			}
			if c.Codec != engine.CodecH264 {
				t.Errorf("codec = %v, want h264", c.Codec)
			}
			if c.Width != tt.width || c.Height != tt.height {
				t.Errorf("size = %dx%d, want %dx%d", c.Width, c.Height, tt.width, tt.height)
			}
			if c.Profile != tt.profile {
				t.Errorf("profile = %q, want %q", c.Profile, tt.profile)
			}
			if !bytes.Equal(c.Record, rec) {
				t.Errorf("record not kept")
			}
			if c.SampleRate != 0 || c.Channels != 0 {
				t.Errorf("video config has audio fields %d/%d", c.SampleRate, c.Channels)
			}
		})
	}
}

func TestH264ConfigErrors(t *testing.T) {
	if _, err := H264Config(nil); !errors.Is(err, ErrShort) {
		t.Errorf("H264Config(nil) err = %v, want ErrShort", err)
	}
	// A structurally valid record whose SPS is garbage.
	rec, err := BuildAVCRecord([][]byte{{0x67, 0x64, 0x00, 0x1f}}, [][]byte{pps720High})
	if err != nil {
		t.Fatal(err)
	}
	if c, err := H264Config(rec); err == nil {
		t.Errorf("H264Config with a truncated SPS = %+v, want an error", c)
	} else if !strings.Contains(err.Error(), "SPS") {
		t.Errorf("error %q does not mention the SPS", err)
	}
}

func TestH264Profile(t *testing.T) {
	tests := []struct {
		idc         uint8
		constrained bool
		want        string
	}{
		{66, false, "Baseline"},
		{66, true, "Constrained Baseline"},
		{77, false, "Main"},
		{77, true, "Main"},
		{88, false, "Extended"},
		{100, false, "High"},
		{110, false, "High 10"},
		{122, false, "High 4:2:2"},
		{244, false, "High 4:4:4"},
		{42, false, "profile 42"},
	}
	for _, tt := range tests {
		if got := h264Profile(tt.idc, tt.constrained); got != tt.want {
			t.Errorf("h264Profile(%d, %v) = %q, want %q", tt.idc, tt.constrained, got, tt.want)
		}
	}
}

func TestHEVCParams(t *testing.T) {
	seiPrefix := []byte{0x4e, 0x01, 0x05, 0x01, 0x80}
	tests := []struct {
		name          string
		rec           []byte
		vps, sps, pps [][]byte
	}{
		{
			name: "vps sps pps",
			rec:  hevcRecord([][]byte{vps720}, [][]byte{sps720}, [][]byte{pps720}),
			vps:  [][]byte{vps720}, sps: [][]byte{sps720}, pps: [][]byte{pps720},
		},
		{
			name: "sps only",
			rec:  hevcRecord(nil, [][]byte{sps720}, nil),
			sps:  [][]byte{sps720},
		},
		{
			name: "two sps in one array and an sei array ignored",
			rec:  hevcRecord([][]byte{vps720}, [][]byte{sps720, sps1080m10}, [][]byte{pps720}, hevcArray{39, [][]byte{seiPrefix}}),
			vps:  [][]byte{vps720}, sps: [][]byte{sps720, sps1080m10}, pps: [][]byte{pps720},
		},
		{
			name: "same type in two arrays",
			rec:  hevcRecord(nil, [][]byte{sps720}, nil, hevcArray{33, [][]byte{sps1080m10}}),
			sps:  [][]byte{sps720, sps1080m10},
		},
		{
			name: "empty array",
			rec:  hevcRecord([][]byte{vps720}, [][]byte{sps720}, nil, hevcArray{34, nil}),
			vps:  [][]byte{vps720}, sps: [][]byte{sps720},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vps, sps, pps, err := HEVCParams(tt.rec)
			if err != nil {
				t.Fatalf("HEVCParams: %v", err)
			}
			if !equalNALs(vps, tt.vps) || !equalNALs(sps, tt.sps) || !equalNALs(pps, tt.pps) {
				t.Errorf("got vps=%x sps=%x pps=%x\nwant vps=%x sps=%x pps=%x", vps, sps, pps, tt.vps, tt.sps, tt.pps)
			}
		})
	}
}

func TestHEVCParamsErrors(t *testing.T) {
	good := hevcRecord([][]byte{vps720}, [][]byte{sps720}, [][]byte{pps720})
	mod := func(f func(b []byte) []byte) []byte {
		return f(append([]byte(nil), good...))
	}
	tests := []struct {
		name      string
		in        []byte
		wantShort bool
		wantText  string
	}{
		{name: "empty", in: nil, wantShort: true},
		{name: "22 bytes", in: good[:22], wantShort: true},
		{name: "version 0", in: mod(func(b []byte) []byte { b[0] = 0; return b }), wantText: "version 0"},
		{name: "no arrays", in: mod(func(b []byte) []byte { b[22] = 0; return b[:23] }), wantText: "no SPS"},
		{name: "vps and pps only", in: hevcRecord([][]byte{vps720}, nil, [][]byte{pps720}), wantText: "no SPS"},
		{name: "more arrays than present", in: mod(func(b []byte) []byte { b[22] = 4; return b }), wantShort: true},
		{name: "nal count too large", in: mod(func(b []byte) []byte { b[25] = 2; return b }), wantShort: true},
		{name: "zero-length nal", in: hevcRecord(nil, [][]byte{{}}, nil), wantShort: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := HEVCParams(tt.in)
			if err == nil {
				t.Fatalf("HEVCParams(%x) succeeded, want an error", tt.in)
			}
			checkErr(t, err, tt.wantShort, tt.wantText)
		})
	}
	for n := range len(good) {
		if _, _, _, err := HEVCParams(good[:n]); !errors.Is(err, ErrShort) {
			t.Errorf("prefix of %d/%d bytes: err = %v, want ErrShort", n, len(good), err)
		}
	}
}

func TestH265Config(t *testing.T) {
	tests := []struct {
		name          string
		rec           []byte
		width, height int
		profile       string
	}{
		{"x265 main 1280x720", hevcRecord([][]byte{vps720}, [][]byte{sps720}, [][]byte{pps720}), 1280, 720, "Main"},
		{"x265 main10 1920x1080", hevcRecord([][]byte{vps1080m10}, [][]byte{sps1080m10}, [][]byte{pps1080m10}), 1920, 1080, "Main 10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := H265Config(tt.rec)
			if err != nil {
				t.Fatalf("H265Config: %v", err)
			}
			if c.Codec != engine.CodecH265 {
				t.Errorf("codec = %v, want h265", c.Codec)
			}
			if c.Width != tt.width || c.Height != tt.height {
				t.Errorf("size = %dx%d, want %dx%d", c.Width, c.Height, tt.width, tt.height)
			}
			if c.Profile != tt.profile {
				t.Errorf("profile = %q, want %q", c.Profile, tt.profile)
			}
			if !bytes.Equal(c.Record, tt.rec) {
				t.Errorf("record not kept")
			}
		})
	}
	if _, err := H265Config(hevcRecord(nil, [][]byte{{0x42, 0x01, 0x01}}, nil)); err == nil {
		t.Errorf("H265Config with a garbage SPS succeeded")
	}
	if _, err := H265Config(nil); !errors.Is(err, ErrShort) {
		t.Errorf("H265Config(nil) err = %v, want ErrShort", err)
	}
}

func TestAACConfig(t *testing.T) {
	tests := []struct {
		name     string
		asc      []byte
		rate, ch int
		profile  string
	}{
		{"LC 44.1kHz stereo", []byte{0x12, 0x10}, 44100, 2, "LC"},
		{"LC 48kHz stereo", []byte{0x11, 0x90}, 48000, 2, "LC"},
		{"LC 44.1kHz mono", []byte{0x12, 0x08}, 44100, 1, "LC"},
		{"LC 48kHz mono", []byte{0x11, 0x88}, 48000, 1, "LC"},
		{"LC 22.05kHz stereo", []byte{0x13, 0x90}, 22050, 2, "LC"},
		{"LC 48kHz 5.1", []byte{0x11, 0xb0}, 48000, 6, "LC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := AACConfig(tt.asc)
			if err != nil {
				t.Fatalf("AACConfig(%x): %v", tt.asc, err)
			}
			if c.Codec != engine.CodecAAC {
				t.Errorf("codec = %v, want aac", c.Codec)
			}
			if c.SampleRate != tt.rate || c.Channels != tt.ch {
				t.Errorf("rate/channels = %d/%d, want %d/%d", c.SampleRate, c.Channels, tt.rate, tt.ch)
			}
			if c.Profile != tt.profile {
				t.Errorf("profile = %q, want %q", c.Profile, tt.profile)
			}
			if !bytes.Equal(c.Record, tt.asc) {
				t.Errorf("record = %x, want %x", c.Record, tt.asc)
			}
		})
	}
}

// TestAACConfigHE checks the profile of HE-AAC (SBR) and HE-AAC v2 (PS)
// AudioSpecificConfigs with explicit hierarchical signalling (object type 5
// or 29, then the extension sampling frequency and the core type 2).
//
// BUG: it fails today. mediacommon's AudioSpecificConfig.Unmarshal replaces
// Type with the core object type (AAC-LC) and keeps SBR/PS in ExtensionType,
// so AACConfig's aacProfile(c.Type) never sees ObjectTypeSBR/ObjectTypePS
// and reports "LC" for HE-AAC.
func TestAACConfigHE(t *testing.T) {
	tests := []struct {
		name    string
		asc     []byte
		profile string
	}{
		// 00101 0110 0010 0011 00010 000: SBR, core 24 kHz stereo, 48 kHz out, core LC.
		{"HE-AAC", []byte{0x2b, 0x11, 0x88, 0x00}, "HE"},
		// 11101 0110 0001 0011 00010 000: PS, core 24 kHz mono, 48 kHz out, core LC.
		{"HE-AACv2", []byte{0xeb, 0x09, 0x88, 0x00}, "HEv2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := AACConfig(tt.asc)
			if err != nil {
				t.Fatalf("AACConfig(%x): %v", tt.asc, err)
			}
			if c.Profile != tt.profile {
				t.Errorf("profile = %q, want %q (aacProfile is given the core object type, not ExtensionType)", c.Profile, tt.profile)
			}
		})
	}
}

func TestAACConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		asc  []byte
	}{
		{"empty", nil},
		{"one byte", []byte{0x12}},
		{"object type 1 (main)", []byte{0x0a, 0x10}},
		{"sample rate index 13", []byte{0x16, 0x90}},
		{"channel config 0", []byte{0x12, 0x00}},
		{"explicit rate truncated", []byte{0x17, 0x80, 0x00}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if c, err := AACConfig(tt.asc); err == nil {
				t.Errorf("AACConfig(%x) = %+v, want an error", tt.asc, c)
			} else if !strings.Contains(err.Error(), "AudioSpecificConfig") {
				t.Errorf("error %q does not say what failed", err)
			}
		})
	}
}

func TestAACProfile(t *testing.T) {
	tests := []struct {
		typ  uint8
		want string
	}{
		{2, "LC"},
		{5, "HE"},
		{29, "HEv2"},
		{1, "object type 1"},
	}
	for _, tt := range tests {
		if got := aacProfile(mpeg4audio.ObjectType(tt.typ)); got != tt.want {
			t.Errorf("aacProfile(%d) = %q, want %q", tt.typ, got, tt.want)
		}
	}
}

func FuzzParseAVCRecord(f *testing.F) {
	for _, sp := range [][2][]byte{{sps720High, pps720High}, {sps480Base, pps480Base}, {sps360Main, pps360Main}} {
		rec, err := BuildAVCRecord([][]byte{sp[0]}, [][]byte{sp[1]})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(rec)
		f.Add(rec[:len(rec)-3])
	}
	f.Add([]byte{})
	f.Add([]byte{1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 0, 1, 0, 1, 0x68})
	f.Add([]byte{1, 0x64, 0, 0x1f, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		testkit.MaxAlloc(t, testkit.InputBound(len(b)), func() {
			r, err := ParseAVCRecord(b)
			if err != nil {
				return
			}
			if len(r.SPS) == 0 {
				t.Fatalf("parsed a record without an SPS")
			}
			for _, n := range append(append([][]byte(nil), r.SPS...), r.PPS...) {
				if len(n) == 0 || len(n) > len(b) {
					t.Fatalf("NAL unit of %d bytes from %d input bytes", len(n), len(b))
				}
			}
			// Whatever parses must survive a rebuild unchanged.
			if len(r.SPS[0]) >= 4 && len(r.PPS) > 0 {
				rec, err := BuildAVCRecord(r.SPS, r.PPS)
				if err != nil {
					t.Fatalf("BuildAVCRecord of parsed sets: %v", err)
				}
				r2, err := ParseAVCRecord(rec)
				if err != nil {
					t.Fatalf("reparse of rebuilt record: %v", err)
				}
				if !equalNALs(r.SPS, r2.SPS) || !equalNALs(r.PPS, r2.PPS) {
					t.Fatalf("rebuilt record differs")
				}
			}
			// The SPS decoder must not panic on anything either.
			_, _ = H264Config(b)
		})
	})
}

func FuzzHEVCParams(f *testing.F) {
	f.Add(hevcRecord([][]byte{vps720}, [][]byte{sps720}, [][]byte{pps720}))
	f.Add(hevcRecord([][]byte{vps1080m10}, [][]byte{sps1080m10}, [][]byte{pps1080m10}))
	f.Add(hevcRecord(nil, [][]byte{sps720}, nil, hevcArray{39, [][]byte{{0x4e, 1}}}))
	f.Add(hevcRecord(nil, [][]byte{{0x42, 0x01, 0x01}}, nil))
	f.Add(make([]byte, 23))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		testkit.MaxAlloc(t, testkit.InputBound(len(b)), func() {
			vps, sps, pps, err := HEVCParams(b)
			if err != nil {
				if vps != nil || sps != nil || pps != nil {
					t.Fatalf("error %v with non-nil results", err)
				}
				return
			}
			if len(sps) == 0 {
				t.Fatalf("parsed a record without an SPS")
			}
			rec := hevcRecord(vps, sps, pps)
			v2, s2, p2, err := HEVCParams(rec)
			if err != nil {
				t.Fatalf("reparse of rebuilt record: %v", err)
			}
			if !equalNALs(vps, v2) || !equalNALs(sps, s2) || !equalNALs(pps, p2) {
				t.Fatalf("rebuilt record differs")
			}
			_, _ = H265Config(b)
		})
	})
}

func FuzzAACConfig(f *testing.F) {
	for _, s := range [][]byte{
		{0x12, 0x10}, {0x11, 0x90}, {0x12, 0x08}, {0x2b, 0x11, 0x88, 0x00},
		{0xeb, 0x09, 0x88, 0x00}, {0x17, 0x80, 0xbb, 0x80, 0x10}, {}, {0xff, 0xff, 0xff},
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		testkit.MaxAlloc(t, testkit.InputBound(len(b)), func() {
			c, err := AACConfig(b)
			if err != nil {
				if c != nil {
					t.Fatalf("error %v with a config", err)
				}
				return
			}
			if c.Codec != engine.CodecAAC {
				t.Fatalf("codec = %v", c.Codec)
			}
			if c.Channels < 1 || c.Channels > 8 {
				t.Fatalf("channels = %d", c.Channels)
			}
			if c.SampleRate < 0 {
				t.Fatalf("sample rate = %d", c.SampleRate)
			}
			if c.Profile == "" {
				t.Fatalf("no profile")
			}
		})
	})
}

// checkErr checks that err wraps ErrShort when wantShort and mentions
// wantText when it is set.
func checkErr(t *testing.T, err error, wantShort bool, wantText string) {
	t.Helper()
	if wantShort && !errors.Is(err, ErrShort) {
		t.Errorf("error %v does not wrap ErrShort", err)
	}
	if wantText != "" && !strings.Contains(err.Error(), wantText) {
		t.Errorf("error %q does not mention %q", err, wantText)
	}
}

func TestBuildHEVCRecord(t *testing.T) {
	for _, c := range []struct {
		vps, sps, pps []byte
		profile, lvl  byte
		bitDepth      byte
	}{
		{vps720, sps720, pps720, 1, 0, 0},
		{vps1080m10, sps1080m10, pps1080m10, 2, 0, 2},
	} {
		rec, err := BuildHEVCRecord([][]byte{c.vps}, [][]byte{c.sps}, [][]byte{c.pps})
		if err != nil {
			t.Fatal(err)
		}
		var sps h265.SPS
		if err := sps.Unmarshal(c.sps); err != nil {
			t.Fatal(err)
		}
		if rec[1]&0x1f != c.profile || rec[12] != sps.ProfileTierLevel.GeneralLevelIdc {
			t.Errorf("profile %d level %d, want %d %d", rec[1]&0x1f, rec[12], c.profile, sps.ProfileTierLevel.GeneralLevelIdc)
		}
		if rec[16]&3 != 1 || rec[17]&7 != c.bitDepth || rec[21]&3 != 3 || rec[22] != 3 {
			t.Errorf("chroma %d, bit depth %d, length size %d, arrays %d", rec[16]&3, rec[17]&7, rec[21]&3+1, rec[22])
		}
		if layers := int(rec[21]>>3) & 7; layers != int(sps.MaxSubLayersMinus1)+1 {
			t.Errorf("numTemporalLayers %d, want %d", layers, sps.MaxSubLayersMinus1+1)
		}
		vps, spss, pps, err := HEVCParams(rec)
		if err != nil || !bytes.Equal(vps[0], c.vps) || !bytes.Equal(spss[0], c.sps) || !bytes.Equal(pps[0], c.pps) {
			t.Errorf("parameter sets do not round-trip: %v", err)
		}
		cfg, err := H265Config(rec)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Width != sps.Width() || cfg.Height != sps.Height() {
			t.Errorf("config %dx%d", cfg.Width, cfg.Height)
		}
	}
	if _, err := BuildHEVCRecord([][]byte{nil}, [][]byte{sps720}, [][]byte{pps720}); err == nil {
		t.Error("a record with an empty VPS was built")
	}
	if _, err := BuildHEVCRecord(nil, [][]byte{sps720}, [][]byte{pps720}); err == nil {
		t.Error("a record without a VPS was built")
	}
	if _, err := BuildHEVCRecord([][]byte{vps720}, [][]byte{{0x42, 0x01, 0x01}}, [][]byte{pps720}); err == nil {
		t.Error("a record with a broken SPS was built")
	}
}
