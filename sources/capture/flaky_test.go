package capture

import (
	"errors"
	"image"
	"sync"
	"time"

	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
)

// flakyCamera is a camera driver whose cable can be pulled: reads fail
// and it cannot be opened until it is plugged in again.
type flakyCamera struct {
	mu      sync.Mutex
	gone    bool
	stopped chan struct{}
}

func (c *flakyCamera) unplug() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gone = true
}

func (c *flakyCamera) plugIn() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gone = false
}

func (c *flakyCamera) Open() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gone {
		return errors.New("no such device")
	}
	c.stopped = make(chan struct{})
	return nil
}

func (c *flakyCamera) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	close(c.stopped)
	return nil
}

func (c *flakyCamera) Properties() []prop.Media {
	return []prop.Media{{Video: prop.Video{Width: 640, Height: 360, FrameRate: 30, FrameFormat: "I420"}}}
}

func (c *flakyCamera) VideoRecord(p prop.Media) (video.Reader, error) {
	img := image.NewYCbCr(image.Rect(0, 0, 640, 360), image.YCbCrSubsampleRatio420)
	tick := time.NewTicker(time.Second / 30)
	c.mu.Lock()
	stopped := c.stopped
	c.mu.Unlock()
	return video.ReaderFunc(func() (image.Image, func(), error) {
		select {
		case <-stopped:
			tick.Stop()
			return nil, func() {}, errors.New("device closed")
		case <-tick.C:
		}
		c.mu.Lock()
		gone := c.gone
		c.mu.Unlock()
		if gone {
			return nil, func() {}, errors.New("read /dev/video0: no such device")
		}
		return img, func() {}, nil
	}), nil
}
