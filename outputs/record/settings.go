package record

import (
	"encoding/json"
	"fmt"

	"chalkcast/engine"
)

// Section is the recorder's section of a stream's configuration
// (engine.StreamConfig.Outputs); files written before sections existed
// had the same settings at the top level under the same name.
const Section = "recording"

// Settings are how a stream is recorded.
type Settings struct {
	// Auto records the stream whenever it is live.
	Auto bool `json:"auto"`
	// Format is "mp4" (fragmented MP4, the default) or "flv".
	Format string `json:"format,omitempty"`
	// SplitMinutes starts a new file every so many minutes, at a
	// keyframe; 0 never splits.
	SplitMinutes float64 `json:"split_minutes,omitempty"`
	// Unshared: new recordings are not shared with students (replay)
	// until the teacher shares them; by default they are.
	Unshared bool `json:"unshared,omitempty"`
}

// Validate checks a recording setting.
func (o Settings) Validate() error {
	if o.Format != "" && o.Format != "mp4" && o.Format != "flv" {
		return fmt.Errorf("%w: recording format %q: use mp4 or flv", engine.ErrInvalid, o.Format)
	}
	if o.SplitMinutes < 0 || o.SplitMinutes > 24*60 {
		return fmt.Errorf("%w: split every %g minutes: use 0 (never) to 1440", engine.ErrInvalid, o.SplitMinutes)
	}
	return nil
}

// SettingsOf reads the recording settings of a stream's configuration;
// none, or a section that does not read, are the defaults.
func SettingsOf(c engine.StreamConfig) Settings {
	var o Settings
	if b := c.Output(Section); b != nil && json.Unmarshal(b, &o) != nil {
		return Settings{}
	}
	return o
}

// Encode is o as the section of a new stream's configuration, once it is
// valid.
func (o Settings) Encode() (json.RawMessage, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	return json.Marshal(o)
}

// SetSettings saves stream name's recording settings; a stream set to
// record when live starts recording if it is live.
func (r *Recorder) SetSettings(name string, o Settings) error {
	b, err := o.Encode()
	if err != nil {
		return err
	}
	return r.hub.SetOutput(name, Section, func(json.RawMessage) (json.RawMessage, error) { return b, nil })
}
