package encode

import (
	"fmt"
	"strconv"
	"time"

	"chalkcast/engine"
)

// Preset is a choice of picture size, frame rate and bitrate a teacher
// picks by name.
type Preset struct {
	Name        string `json:"name"`
	Width       int    `json:"width"`
	Height      int    `json:"height"`
	FPS         int    `json:"fps"`
	BitrateKbps int    `json:"bitrate_kbps"`
	Description string `json:"description"`
}

// Presets are the video presets, smallest first.
func Presets() []Preset {
	return []Preset{
		{"480p", 854, 480, 30, 1000, "Lighter, for weak Wi-Fi (480p, 1 Mbit/s)"},
		{"720p", 1280, 720, 30, 2000, "Clear, recommended (720p, 2 Mbit/s)"},
		{"1080p", 1920, 1080, 30, 4000, "Sharpest, for a wired network (1080p, 4 Mbit/s)"},
	}
}

// DefaultPreset is used when a source names no preset.
const DefaultPreset = "720p"

// VideoSettings are what the H.264 encoder is asked for.
type VideoSettings struct {
	Width, Height int
	FPS           int
	Bitrate       int           // bits/s
	KeyInterval   time.Duration // time between keyframes
	Screen        bool          // screen content (slides) rather than camera
}

// AudioSettings are what the AAC encoder is asked for.
type AudioSettings struct {
	SampleRate int // Hz: 44100 or 48000
	Channels   int // 1 or 2
	Bitrate    int // bits/s
}

// Settings are the encoding settings of one source.
type Settings struct {
	Preset string
	Video  VideoSettings
	Audio  AudioSettings
}

// KeyInterval is the time between keyframes: short, so that a student who
// opens the link sees the picture at once.
const KeyInterval = 2 * time.Second

// ParseSettings reads the encoding options of a source:
//
//	preset         480p, 720p (default) or 1080p
//	fps            frames per second, 1-60 (default: the preset's)
//	bitrate        video kbit/s, 100-20000 (default: the preset's)
//	audio_rate     44100 or 48000 (default 48000)
//	audio_channels 1 or 2 (default 1)
//
// Errors wrap engine.ErrInvalid.
func ParseSettings(opts map[string]string) (Settings, error) {
	name := opts["preset"]
	if name == "" {
		name = DefaultPreset
	}
	var pr *Preset
	for _, p := range Presets() {
		if p.Name == name {
			pr = &p
		}
	}
	if pr == nil {
		return Settings{}, fmt.Errorf("%w: preset %q: choose 480p, 720p or 1080p", engine.ErrInvalid, name)
	}
	s := Settings{
		Preset: pr.Name,
		Video: VideoSettings{
			Width: pr.Width, Height: pr.Height, FPS: pr.FPS,
			Bitrate: pr.BitrateKbps * 1000, KeyInterval: KeyInterval,
		},
		Audio: AudioSettings{SampleRate: 48000, Channels: 1},
	}
	num := func(key string, lo, hi int, dst *int, scale int) error {
		v, ok := opts[key]
		if !ok || v == "" {
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("%w: %s %q: use a whole number from %d to %d", engine.ErrInvalid, key, v, lo, hi)
		}
		*dst = n * scale
		return nil
	}
	for _, err := range []error{
		num("fps", 1, 60, &s.Video.FPS, 1),
		num("bitrate", 100, 20000, &s.Video.Bitrate, 1000),
		num("audio_rate", 8000, 48000, &s.Audio.SampleRate, 1),
		num("audio_channels", 1, 2, &s.Audio.Channels, 1),
	} {
		if err != nil {
			return Settings{}, err
		}
	}
	if s.Audio.SampleRate != 44100 && s.Audio.SampleRate != 48000 {
		return Settings{}, fmt.Errorf("%w: audio_rate %d: use 44100 or 48000", engine.ErrInvalid, s.Audio.SampleRate)
	}
	s.Audio.Bitrate = 64000 * s.Audio.Channels
	return s, nil
}
