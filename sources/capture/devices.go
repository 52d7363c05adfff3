// Package capture turns the teacher's own devices into streams: a camera
// (a webcam or a USB document camera) or the screen (for slides), each with
// a microphone, encoded to H.264 and AAC through media/encode. Devices
// come from github.com/pion/mediadevices' drivers: V4L2 cameras on Linux,
// the X11 screen, and the system's microphones.
// Like every source it only publishes into the engine: it must not import an
// output or the GUI.
package capture

import (
	"encoding/hex"
	"fmt"
	"image"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/pion/mediadevices/pkg/driver"
	"github.com/pion/mediadevices/pkg/driver/camera"
	"github.com/pion/mediadevices/pkg/driver/screen"
	"github.com/pion/mediadevices/pkg/prop"

	"chalkcast/media/encode"
)

// Device is one camera, screen or microphone as the API and the GUI show
// it. ID is what a stream's source options name (stable across restarts).
type Device struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Default bool     `json:"default,omitempty"`
	Formats []Format `json:"formats,omitempty"`
	// InUse is set while one of Chalkcast's streams has the device open.
	InUse bool `json:"in_use,omitempty"`
}

// Format is one picture size and frame rate a camera or screen offers, or
// one sample rate and channel count of a microphone.
type Format struct {
	Width      int     `json:"width,omitempty"`
	Height     int     `json:"height,omitempty"`
	FPS        float32 `json:"fps,omitempty"`
	Pixel      string  `json:"pixel_format,omitempty"`
	SampleRate int     `json:"sample_rate,omitempty"`
	Channels   int     `json:"channels,omitempty"`
}

// Devices is the answer of /api/v1/devices.
type Devices struct {
	Cameras     []Device        `json:"cameras"`
	Screens     []Device        `json:"screens"`
	Microphones []Device        `json:"microphones"`
	Presets     []encode.Preset `json:"presets"`
}

// Manager knows which devices exist and which of them Chalkcast's streams
// hold, and remembers the formats of devices it cannot open while in use.
type Manager struct {
	mu      sync.Mutex
	inUse   map[string]bool
	formats map[string][]Format
	nodes   string                 // the /dev/video* nodes at the last camera scan
	thumbs  map[string]image.Image // each screen's latest thumbnail
}

// NewManager returns a device manager.
func NewManager() *Manager {
	return &Manager{inUse: map[string]bool{}, formats: map[string][]Format{}, nodes: videoNodes(), thumbs: map[string]image.Image{}}
}

// key identifies a device across rescans (driver IDs are random per scan).
func key(t driver.DeviceType, label string) string { return string(t) + "/" + label }

// List returns the devices, each kind's default first. With rescan,
// cameras and screens connected since the last scan are found first (the
// camera driver forgets every video device when it rescans, so screens
// are scanned again too); a device a stream holds keeps working.
func (m *Manager) List(rescan bool) Devices {
	if rescan {
		m.mu.Lock()
		m.rescanLocked()
		m.mu.Unlock()
	} else {
		m.rescanIfChanged()
	}
	return Devices{
		Cameras:     m.list(driver.Camera),
		Screens:     m.list(driver.Screen),
		Microphones: m.list(driver.Microphone),
		Presets:     encode.Presets(),
	}
}

func (m *Manager) rescanLocked() {
	camera.Initialize()
	screen.Initialize()
	m.formats = map[string][]Format{}
	m.nodes = videoNodes()
}

// rescanIfChanged rescans when a camera was plugged in or out since the
// last scan (the set of /dev/video* nodes changed), so a stream whose
// camera was not there finds it when it arrives.
func (m *Manager) rescanIfChanged() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n := videoNodes(); n != m.nodes {
		m.rescanLocked()
	}
}

func videoNodes() string {
	nodes, _ := filepath.Glob("/dev/video*")
	return strings.Join(nodes, ",")
}

func (m *Manager) list(t driver.DeviceType) []Device {
	ds := query(t, "")
	out := make([]Device, 0, len(ds))
	for i, d := range ds {
		info := d.Info()
		dev := Device{ID: info.Label, Name: displayName(info), Default: i == 0}
		k := key(t, info.Label)
		m.mu.Lock()
		dev.InUse = m.inUse[k]
		cached, ok := m.formats[k]
		m.mu.Unlock()
		if !ok && d.Status() == driver.StateClosed && m.hold(t, info.Label) == nil {
			// held while probing, so that a stream cannot start on it meanwhile
			if d.Open() == nil {
				cached = formats(d.Properties())
				_ = d.Close()
				if len(cached) > 0 { // a device that answered nothing is asked again next time
					m.mu.Lock()
					m.formats[k] = cached
					m.mu.Unlock()
				}
			}
			m.release(t, info.Label)
		}
		dev.Formats = cached
		if t == driver.Screen {
			dev.Name = screenName(i, cached)
		}
		out = append(out, dev)
	}
	return out
}

// isNullDevice: on a machine without a sound system the audio library
// offers its "null" backend as a microphone, which makes silence as fast as
// it can rather than in real time. It is not a microphone.
func isNullDevice(info driver.Info) bool {
	return info.DeviceType == driver.Microphone && info.Label == hex.EncodeToString([]byte("null"))
}

// screenName tells screens apart for people by number and size ("Screen
// 1 · 1920×1080"), not by the driver's label ("X11Screen0").
func screenName(i int, formats []Format) string {
	name := fmt.Sprintf("Screen %d", i+1)
	if len(formats) > 0 && formats[0].Width > 0 {
		name += fmt.Sprintf(" · %d×%d", formats[0].Width, formats[0].Height)
	}
	return name
}

// displayName is a device's name for people: the driver's name without
// the bus information it appends, or its label.
func displayName(info driver.Info) string {
	name, _, _ := strings.Cut(info.Name, camera.LabelSeparator)
	if name == "" {
		name, _, _ = strings.Cut(info.Label, camera.LabelSeparator)
	}
	return name
}

func formats(ps []prop.Media) []Format {
	seen := map[Format]bool{}
	var out []Format
	for _, p := range ps {
		f := Format{Width: p.Width, Height: p.Height, FPS: p.FrameRate, Pixel: string(p.FrameFormat),
			SampleRate: p.SampleRate, Channels: p.ChannelCount}
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}

// query returns the drivers of type t (with the given label, if any),
// highest priority first, then by label.
func query(t driver.DeviceType, label string) []driver.Driver {
	ds := driver.GetManager().Query(func(d driver.Driver) bool {
		info := d.Info()
		return info.DeviceType == t && (label == "" || info.Label == label) && !isNullDevice(info)
	})
	sort.Slice(ds, func(i, j int) bool {
		a, b := ds[i].Info(), ds[j].Info()
		if a.Priority != b.Priority {
			return a.Priority > b.Priority
		}
		return a.Label < b.Label
	})
	// a rescan while a device was open may have registered it twice
	out := ds[:0]
	seen := map[string]bool{}
	for _, d := range ds {
		if l := d.Info().Label; !seen[l] {
			seen[l] = true
			out = append(out, d)
		}
	}
	return out
}

// noDeviceError says that a device is not connected.
type noDeviceError struct{ msg string }

func (e *noDeviceError) Error() string { return e.msg }

// find returns the device of type t named label, or the default one when
// label is empty.
func find(t driver.DeviceType, label string) (driver.Driver, error) {
	ds := query(t, label)
	if len(ds) == 0 {
		if label == "" {
			return nil, &noDeviceError{fmt.Sprintf("no %s is connected", noun(t))}
		}
		return nil, &noDeviceError{fmt.Sprintf("%s %q is not connected", noun(t), label)}
	}
	return ds[0], nil
}

func noun(t driver.DeviceType) string {
	switch t {
	case driver.Camera:
		return "camera"
	case driver.Screen:
		return "screen"
	case driver.Microphone:
		return "microphone"
	}
	return string(t)
}

// hold marks a device as used by a stream; release undoes it.
func (m *Manager) hold(t driver.DeviceType, label string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := key(t, label)
	if m.inUse[k] {
		return fmt.Errorf("%s %q is already used by another stream", noun(t), label)
	}
	m.inUse[k] = true
	return nil
}

// held reports whether a stream holds the device.
func (m *Manager) held(info driver.Info) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.inUse[key(info.DeviceType, info.Label)]
}

func (m *Manager) release(t driver.DeviceType, label string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.inUse, key(t, label))
}
