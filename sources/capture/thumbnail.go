package capture

import (
	"fmt"
	"image"

	"github.com/pion/mediadevices/pkg/driver"

	"chalkcast/media/encode"
)

// Thumbnail is a small picture of what screen id shows now, width pixels
// wide (even), for telling screens apart. A screen that a stream is
// capturing cannot be opened twice: its latest thumbnail is returned
// instead, or an error if there is none.
func (m *Manager) Thumbnail(id string, width int) (image.Image, error) {
	d, err := find(driver.Screen, id)
	if err != nil {
		return nil, err
	}
	info := d.Info()
	if err := m.hold(driver.Screen, info.Label); err != nil {
		m.mu.Lock()
		last := m.thumbs[info.Label]
		m.mu.Unlock()
		if last != nil {
			return last, nil
		}
		return nil, err
	}
	defer m.release(driver.Screen, info.Label)
	if err := d.Open(); err != nil {
		return nil, fmt.Errorf("screen %q cannot be opened: %w", displayName(info), err)
	}
	defer d.Close()
	props := d.Properties()
	if len(props) == 0 {
		return nil, fmt.Errorf("screen %q says nothing of its size", displayName(info))
	}
	r, err := d.(driver.VideoRecorder).VideoRecord(props[0])
	if err != nil {
		return nil, fmt.Errorf("screen %q: start capturing: %w", displayName(info), err)
	}
	img, release, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("screen %q: capture: %w", displayName(info), err)
	}
	defer release()
	b := img.Bounds()
	w := max(2, width&^1)
	thumb := image.NewYCbCr(image.Rect(0, 0, w, max(2, w*b.Dy()/max(1, b.Dx())&^1)), image.YCbCrSubsampleRatio420)
	if err := encode.Fit(thumb, img); err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.thumbs[info.Label] = thumb
	m.mu.Unlock()
	return thumb, nil
}
